"""Progress and notices on stderr with rich, so `--json` output on stdout stays clean."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn


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
            self._progress.update(task, completed=total or 1, total=total or 1, done=note)

    def notice(self, message: str) -> None:
        if message in self._seen_notices or self.quiet:
            return
        self._seen_notices.add(message)
        self._progress.console.print(f"[dim]{message}[/dim]", highlight=False)
