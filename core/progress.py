"""How long work reports progress: the CLI renders it with rich, the TUI with a widget, tests ignore it."""

from __future__ import annotations

from typing import Protocol


class ProgressReporter(Protocol):
    """Receives stage starts, absolute progress, completions and one-off notices."""

    def start(self, stage: str, total: float | None, unit: str = "s") -> None: ...

    def update(self, stage: str, completed: float) -> None: ...

    def finish(self, stage: str, note: str = "") -> None: ...

    def notice(self, message: str) -> None: ...


class SilentProgress:
    """A reporter that drops everything."""

    def start(self, stage: str, total: float | None, unit: str = "s") -> None:
        return None

    def update(self, stage: str, completed: float) -> None:
        return None

    def finish(self, stage: str, note: str = "") -> None:
        return None

    def notice(self, message: str) -> None:
        return None
