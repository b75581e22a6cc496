"""What every command shares: quiet third-party libraries, Settings from the common flags, a progress display."""

from __future__ import annotations

import argparse
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.settings import Settings
    from ui.console import ConsoleProgress


def quiet_libraries(debug: bool) -> None:
    """Keep third-party chatter (progress bars, warnings) off the terminal unless debugging."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("YOLO_VERBOSE", "False")
    if debug:
        return
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    warnings.filterwarnings("ignore")
    import logging

    logging.basicConfig(level=logging.ERROR)
    for name in (
        "",
        "transformers",
        "sentence_transformers",
        "open_clip",
        "chromadb",
        "ultralytics",
        "faster_whisper",
        "bm25s",
    ):
        logging.getLogger(name).setLevel(logging.ERROR)


def settings_for(args: argparse.Namespace, **extra: Any) -> Settings:
    """Settings from the environment, with the common flags (and `extra`) on top."""
    from core.settings import Settings

    overrides: dict[str, Any] = dict(extra)
    if args.profile:
        overrides["profile"] = args.profile
    if args.data_dir:
        overrides["data_dir"] = Path(args.data_dir)
    if args.device:
        overrides["device"] = args.device
    if args.vlm_url:
        overrides["vlm_url"] = args.vlm_url
    if args.vlm_model:
        overrides["vlm_model"] = args.vlm_model
    return Settings(**overrides)


def agent_settings(args: argparse.Namespace) -> Settings:
    """Settings with the agent flags of `ask`/`chat`/`eval` applied."""
    changes = {
        "planner": getattr(args, "planner", None),
        "agent_max_tool_calls": getattr(args, "max_tool_calls", None),
        "agent_max_vlm_calls": getattr(args, "max_vlm_calls", None),
    }
    return settings_for(args, **{k: v for k, v in changes.items() if v is not None})


def console_progress(args: argparse.Namespace) -> ConsoleProgress:
    """Progress bars and notices on stderr (none with --quiet)."""
    from ui.console import ConsoleProgress

    return ConsoleProgress(quiet=args.quiet)
