"""The conversation pane: each question with the tools it used ("searching the transcript…", then
"✓ search_transcript: 3 results in 0.02 s") and its answer, written as it streams in."""

from __future__ import annotations

import json

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Markdown, Static

from agent.events import StepStarted, ToolFinished, ToolStarted
from core.types import Answer
from ui.terminal_text import terminal_line, terminal_safe

STEP_ACTIVITY = {
    "start": "reading the question",
    "plan": "planning",
    "act": "running tools",
    "assess": "checking the evidence",
    "answer": "writing the answer",
}


def _call_key(name: str, args: dict[str, object], round_: int) -> str:
    return f"{round_}:{name}:{json.dumps(args, sort_keys=True, default=str)}"


def finished_line(event: ToolFinished, show_timings: bool = True) -> Text:
    """'✓ search_transcript: 3 results in 0.02 s' (✗ and the status when the tool failed)."""
    took = f" in {event.seconds:.2f} s" if show_timings else ""
    if event.status == "ok":
        plural = "" if event.results == 1 else "s"
        return Text.assemble(("✓ ", "green"), f"{event.name}: {event.results} result{plural}{took}")
    return Text.assemble(("✗ ", "red"), terminal_line(f"{event.name}: {event.status}{took}"))


class ChatTurn(Vertical):
    """One question, the tool activity it caused, and its answer."""

    def __init__(self, question: str, *, show_timings: bool = True) -> None:
        super().__init__(classes="turn")
        self.question = question
        self.show_timings = show_timings
        self.activity: dict[str, Text] = {}
        self.answer_text = ""
        self.error: str | None = None
        self.done = False

    def compose(self) -> ComposeResult:
        yield Static(Text.assemble(("› ", "bold"), terminal_safe(self.question)), classes="question")
        yield Static("", classes="activity")
        yield Static(Text(STEP_ACTIVITY["start"] + "…", style="italic"), classes="step")
        yield Markdown("", classes="answer")
        yield Static("", classes="notes")

    def _show_activity(self) -> None:
        lines = Text("\n").join(self.activity.values())
        self.query_one(".activity", Static).update(lines)

    def step(self, event: StepStarted) -> None:
        """Say which step the agent is in while no answer text has come."""
        self.query_one(".step", Static).update(Text(STEP_ACTIVITY.get(event.step, event.step) + "…", style="italic"))

    def tool_started(self, event: ToolStarted) -> None:
        """Add a line 'searching the transcript… (why)'."""
        line = Text(terminal_line(f"{event.activity}…"), style="italic")
        if event.why:
            line.append(terminal_line(f" ({event.why})"), style="dim")
        self.activity[_call_key(event.name, event.args, event.round)] = line
        self._show_activity()

    def tool_finished(self, event: ToolFinished) -> None:
        """Replace the tool's line by its result."""
        self.activity[_call_key(event.name, event.args, event.round)] = finished_line(event, self.show_timings)
        self._show_activity()

    async def append(self, text: str) -> None:
        """Add answer text as it is written."""
        self.answer_text += text
        await self.query_one(".answer", Markdown).append(terminal_safe(text))

    async def finish(self, answer: Answer) -> None:
        """Show the final answer (it replaces the streamed text if they differ) and how it was found."""
        if answer.text != self.answer_text:
            self.answer_text = answer.text
            await self.query_one(".answer", Markdown).update(terminal_safe(answer.text))
        self.query_one(".step", Static).display = False
        calls = answer.usage.get("tool_calls", len(answer.tool_calls))
        facts = [f"{calls} tool call{'' if calls == 1 else 's'}",
                 f"{len(answer.evidence)} citation{'' if len(answer.evidence) == 1 else 's'}"]  # fmt: skip
        if self.show_timings and "total" in answer.timings:
            facts.append(f"{answer.timings['total']:.2f} s")
        notes = Text(" · ".join(facts), style="dim")
        for note in answer.notes:
            notes.append(f"\nnote: {terminal_line(note)}", style="dim")
        for error in answer.errors:  # a failed source: shown as an error, never as part of the answer
            notes.append(f"\nerror: {terminal_line(f'{error.source} failed: {error.message}')}", style="bold red")
        self.set_class(answer.failed, "failed")
        self.query_one(".notes", Static).update(notes)
        self.done = True

    async def replay(self, answer_text: str) -> None:
        """Show an answer given earlier in this thread (a resumed conversation)."""
        self.answer_text = answer_text
        await self.query_one(".answer", Markdown).update(terminal_safe(answer_text))
        self.query_one(".step", Static).display = False
        self.query_one(".notes", Static).update(Text("earlier in this thread", style="dim"))
        self.done = True

    def fail(self, message: str) -> None:
        """Show why the question could not be answered."""
        self.error = message
        self.query_one(".step", Static).display = False
        self.query_one(".notes", Static).update(Text(f"error: {terminal_line(message)}", style="bold red"))
        self.add_class("failed")
        self.done = True


class ChatLog(VerticalScroll):
    """The turns of the conversation, newest at the bottom."""

    def __init__(self, *, show_timings: bool = True, id: str | None = None) -> None:
        super().__init__(id=id)
        self.show_timings = show_timings

    @property
    def turns(self) -> list[ChatTurn]:
        return list(self.query(ChatTurn))

    async def add_turn(self, question: str) -> ChatTurn:
        """Start a turn for `question` and scroll to it."""
        turn = ChatTurn(question, show_timings=self.show_timings)
        await self.mount(turn)
        self.scroll_end(animate=False)
        return turn

    async def add_note(self, text: str) -> None:
        """A line between turns (a new thread, a resumed one)."""
        await self.mount(Static(Text(terminal_line(text), style="dim italic"), classes="chat-note"))
        self.scroll_end(animate=False)

    async def clear(self) -> None:
        """Remove every turn and note."""
        await self.remove_children()
