"""The ingest progress view: a status line, then per video a heading and one progress bar per stage with
its note when finished, and the notices the ingest gave."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Label, ProgressBar, Static

from ui.chat.reporter import IngestNotice, StageAdvanced, StageFinished, StageStarted, VideoStarted
from ui.terminal_text import terminal_line, terminal_safe


class StageRow(Horizontal):
    """One stage: its name, a bar, and "12/28 s" while it runs or "✓ note" once finished."""

    def __init__(self, stage: str, total: float | None, unit: str, started: float, show_timings: bool) -> None:
        super().__init__(classes="stage")
        self.stage, self.total, self.unit, self.started = stage, total, unit, started
        self.show_timings = show_timings
        self.completed = 0.0
        self.finished = False
        self.note = ""

    def compose(self) -> ComposeResult:
        yield Label(self.stage, classes="stage-name")
        yield ProgressBar(total=self.total, show_percentage=False, show_eta=False, classes="stage-bar")
        yield Static("", classes="stage-note")

    def advance(self, completed: float) -> None:
        """Show progress to `completed` (absolute, in the stage's unit)."""
        self.completed = completed
        self.query_one(ProgressBar).update(progress=completed)
        done = f"{completed:.0f}/{self.total:.0f} {self.unit}" if self.total else f"{completed:.0f} {self.unit}"
        self.query_one(".stage-note", Static).update(done)

    def finish(self, note: str, at: float) -> None:
        """Fill the bar and show the stage's note (and how long it took, unless timings are hidden)."""
        self.finished, self.note = True, note
        full = self.total or 1.0
        self.query_one(ProgressBar).update(total=full, progress=full)
        took = f" ({at - self.started:.1f} s)" if self.show_timings else ""
        self.query_one(".stage-note", Static).update(Text(terminal_line(f"✓ {note or 'done'}{took}")))
        self.add_class("finished")


class IngestView(VerticalScroll):
    """Draws what the IngestReporter's messages say (the app hands them over in the order they came)."""

    def __init__(self, *, show_timings: bool = True, id: str | None = None) -> None:
        super().__init__(id=id)
        self.show_timings = show_timings
        self._rows: dict[str, StageRow] = {}
        self.notices: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static("", id="ingest-status")

    def set_status(self, text: str, *, error: bool = False) -> None:
        """The line at the top: what is happening, or why it stopped."""
        status = self.query_one("#ingest-status", Static)
        status.update(Text(terminal_line(text)))
        status.set_class(error, "error")

    @property
    def rows(self) -> list[StageRow]:
        """Every stage row shown so far, in order."""
        return list(self.query(StageRow))

    async def video_started(self, message: VideoStarted) -> None:
        """A heading for the video now being ingested (its stages get rows of their own)."""
        self._rows = {}
        count = f" ({message.index + 1}/{message.count})" if message.count > 1 else ""
        self.set_status(f"opening {message.name}{count}: ingesting what is not in memory yet")
        await self.mount(Static(Text(terminal_line(f"{message.name}{count}")), classes="video-heading"))

    async def stage_started(self, message: StageStarted) -> None:
        """A new row with a bar for the stage."""
        row = StageRow(message.stage, message.total, message.unit, message.at, self.show_timings)
        self._rows[message.stage] = row
        await self.mount(row)
        self.scroll_end(animate=False)

    def stage_advanced(self, message: StageAdvanced) -> None:
        row = self._rows.get(message.stage)
        if row is not None:
            row.advance(message.completed)

    def stage_finished(self, message: StageFinished) -> None:
        row = self._rows.get(message.stage)
        if row is not None:
            row.finish(message.note, message.at)

    async def notice(self, message: IngestNotice) -> None:
        """A notice line (each text once)."""
        if message.text in self.notices:
            return
        self.notices.append(message.text)
        await self.mount(Static(Text(terminal_safe(message.text)), classes="notice"))
        self.scroll_end(animate=False)
