"""Progress and notices on stderr with rich, so `--json` output on stdout stays clean."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ui.terminal_text import terminal_line, terminal_safe


class ConsoleProgress:
    """A ProgressReporter drawing one rich bar per ingest stage on stderr."""

    def __init__(self, console: Console | None = None, quiet: bool = False) -> None:
        self.console = console or Console(stderr=True)
        self.quiet = quiet
        self._progress = Progress(
            TextColumn("[bold]{task.description:<11}"),
            BarColumn(),
            TextColumn("{task.fields[done]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
            disable=quiet,
        )
        self._tasks: dict[str, TaskID] = {}
        self._units: dict[str, str] = {}
        self._seen_notices: set[str] = set()

    def __enter__(self) -> "ConsoleProgress":
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def start(self, stage: str, total: float | None, unit: str = "s") -> None:
        self._units[stage] = unit
        self._tasks[stage] = self._progress.add_task(stage, total=total, done="")

    def update(self, stage: str, completed: float) -> None:
        task = self._tasks.get(stage)
        if task is not None:
            unit = self._units.get(stage, "")
            total = self._progress.tasks[task].total
            done = f"{completed:.0f}/{total:.0f} {unit}" if total else f"{completed:.0f} {unit}"
            self._progress.update(task, completed=completed, done=done)

    def finish(self, stage: str, note: str = "") -> None:
        task = self._tasks.get(stage)
        if task is not None:
            total = self._progress.tasks[task].total
            self._progress.update(task, completed=total or 1, total=total or 1, done=escape(terminal_line(note)))

    def notice(self, message: str) -> None:
        if message in self._seen_notices or self.quiet:
            return
        self._seen_notices.add(message)
        self._progress.console.print(Text(terminal_safe(message), style="dim"), highlight=False)


def _mmss(seconds: float) -> str:
    from core.types import format_timestamp

    return format_timestamp(seconds)


def _plain(text: object) -> Text:
    """A table cell or caption from data: shown as written (no rich markup), control characters escaped."""
    return Text(terminal_safe(str(text)))


def _row(table: Table, *cells: object) -> None:
    """Add a row of data cells (transcripts, captions, file names) to `table`."""
    table.add_row(*(_plain(cell) for cell in cells))


def print_view(what: str, view: dict[str, Any]) -> None:
    """Render an `inspect` view as a table on stdout."""
    console = Console()
    table = Table(title=_plain(f"{what} of {view.get('video_path', '')}"), title_justify="left")
    if what == "transcript":
        table.add_column("time")
        table.add_column("text")
        for span in view["transcript"]:
            _row(table, f"{_mmss(span['t0'])}-{_mmss(span['t1'])}", span["text"])
        if not view["transcript"]:
            table.caption = "no audio track" if not view.get("has_audio") else "no speech recognised"
    elif what == "triggers":
        for column in ("time", "confidence", "reasons", "analysis"):
            table.add_column(column)
        for trigger in view["triggers"]:
            _row(table, _mmss(trigger["timestamp"]), f"{trigger['trigger_confidence']:.2f}",
                          ", ".join(trigger["reasons"]), trigger["analysis"])
        table.caption = f"{view['num_triggers_detected']} triggers over {view['num_frames_analyzed']} frames"
        if view.get("video_summary"):
            table.caption += f"\nsummary: {view['video_summary']}"
    elif what == "captions":
        for column in ("time", "caption", "dense (VLM, triggered only)"):
            table.add_column(column)
        for segment in view["segments"]:
            _row(table, f"{_mmss(segment['t0'])}-{_mmss(segment['t1'])}", segment["caption"], segment["dense"])
        models = f"captioner: {view.get('captioner') or 'none'}; VLM: {view.get('vlm') or 'none'}"
        table.caption = models + (f"\nsummary: {view['video_summary']}" if view.get("video_summary") else "")
    elif what == "scenes":
        for column in ("scene", "appears", "segments", "label"):
            table.add_column(column)
        for scene in view["scenes"]:
            spans = ", ".join(f"{_mmss(a)}-{_mmss(b)}" for a, b in scene["spans"])
            _row(table, str(scene["cluster_id"]), spans, str(len(scene["segments"])), scene["label"])
        table.caption = f"{len(view['scenes'])} scenes ({view['descriptor']}, {view['chosen_by']})"
    elif what == "graph":
        for column in ("relationship", "between", "seconds", "confidence"):
            table.add_column(column)
        for rel in view.get("relationships", []):
            _row(table, rel["relationship_type"], f"{rel['entity1_id']} & {rel['entity2_id']}",
                          f"{rel.get('duration', 0):.1f}", f"{rel['confidence']:.2f}")  # fmt: skip
        table.caption = (f"{len(view.get('entities', []))} entities, {len(view.get('relationships', []))} "
                         f"relationships, {len(view.get('events', []))} events")  # fmt: skip
    else:
        for column in ("actor", "on screen", "tracks", "behaviours"):
            table.add_column(column)
        for actor in view["actors"]:
            spans = ", ".join(f"{_mmss(a)}-{_mmss(b)}" for a, b in actor["intervals"])
            moves = ", ".join(sorted({b["label"] for b in actor["behaviours"]}))
            _row(table, str(actor["id"]), spans, str(len(actor["tracks"])), moves)
        table.caption = f"{len(view['actors'])} actors from {view.get('num_tracks', 0)} tracks"
    table.caption = _plain(table.caption) if table.caption else None
    console.print(table)


def print_library(rows: list[dict[str, Any]]) -> None:
    """The `library ls` table."""
    table = Table(title="videos in memory", title_justify="left")
    for column in ("video id", "state", "file", "length", "segments", "speech", "actors", "scenes"):
        table.add_column(column, overflow="fold" if column == "file" else "ellipsis")
    for row in rows:
        _row(table, row["video_id"], row.get("state", ""), Path(row["path"]).name, _mmss(row["duration"]), str(row["segments"]),
                      str(row["speech_spans"]), str(row["actors"]), str(row["scenes"]))  # fmt: skip
    console = Console()
    if not console.is_terminal:  # piped or captured: no screen to fit, so never cut a file name at 80 columns
        wide = console.measure(table, options=console.options.update_width(1000)).maximum
        console = Console(width=max(console.width, wide))
    console.print(table)
