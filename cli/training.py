"""`train-triggers`: train the optional trigger head on annotated trigger times."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cli.common import console_progress, settings_for
from ui.terminal_text import terminal_safe


def cmd_train_triggers(args: argparse.Namespace) -> int:
    """Train the optional trigger head on annotated trigger times and save a checkpoint."""
    from perception.trigger_training import train_trigger_head

    settings = settings_for(args)
    annotations = Path(args.annotations).expanduser()
    out = Path(args.out).expanduser() if args.out else settings.data_dir / "trigger-heads" / f"{annotations.stem}.pt"
    with console_progress(args) as progress:
        report = train_trigger_head(
            annotations, settings, out_path=out, epochs=args.epochs, lr=args.lr, progress=progress.notice
        )
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(
            f"trained on {report.videos} videos, {report.frames} frames ({report.positives} positive) "
            f"in {report.seconds:.1f} s on {report.device}"
        )
        print(
            f"training-frame precision {report.precision:.2f}, recall {report.recall:.2f}, "
            f"annotated events found {report.event_recall:.0%}"
        )
        print(terminal_safe(f"checkpoint: {report.path}\nuse it with: export VIDSAGE_TRIGGER_HEAD={report.path}"))
    return 0
