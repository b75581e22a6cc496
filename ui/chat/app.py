"""The terminal chat: opens the videos (ingesting what memory lacks, with progress, cancellable), then
answers questions as they stream in, lists each answer's citations, and shows the selected citation's
keyframe and its place on the video's timeline.

Slow work runs in thread workers: the ingest reports through an IngestReporter's messages, answers and
keyframes come back through `call_from_thread`. Errors are shown, never raised out of the app.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import ContentSwitcher, Footer, Header, Input, OptionList
from textual.worker import get_current_worker

from agent.events import AgentEvent, AnswerReady, AnswerToken, StepStarted, ToolFinished, ToolStarted
from agent.session import Session
from core.errors import VidsageError
from core.settings import Settings
from core.types import Evidence, format_timestamp
from ui.chat.conversation import ChatLog, ChatTurn
from ui.chat.evidence import EvidenceList, kind_tag
from ui.chat.ingest_view import IngestView
from ui.chat.keyframe import KeyframeView
from ui.chat.question_input import QuestionInput
from ui.chat.reporter import (
    IngestCancelled,
    IngestNotice,
    IngestReporter,
    StageAdvanced,
    StageFinished,
    StageStarted,
    VideoStarted,
)
from ui.chat.timeline import TimelineStrip
from ui.terminal_text import terminal_line, terminal_safe
from ui.timeline_lanes import TimelineLanes, timeline_lanes

CHAT_ACTIONS = ("new_thread", "copy_answer", "next_video")


def _describe(error: Exception) -> str:
    """The one-line message of an error: a VidsageError's own, anything else named as internal."""
    if isinstance(error, VidsageError):
        return terminal_line(str(error))
    return terminal_line(f"internal error: {type(error).__name__}: {error}")


class ChatApp(App[None]):
    """Chat about one or more videos; `session` is set once they are all in memory."""

    CSS_PATH = Path(__file__).with_name("chat.tcss")
    """Absolute, so that subclasses defined elsewhere find it too."""
    TITLE = "vidsage"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "quit", priority=True),
        Binding("escape", "cancel_ingest", "cancel ingest"),
        Binding("ctrl+n", "new_thread", "new thread"),
        Binding("ctrl+o", "next_video", "next video"),
        Binding("ctrl+y", "copy_answer", "copy answer"),
    ]

    class SessionOpened(Message):
        """Every video is in memory and the session is ready."""

        def __init__(self, session: Session) -> None:
            super().__init__()
            self.session = session

    class IngestStopped(Message):
        """The ingest ended without a session: cancelled by the user, or failed with `error`."""

        def __init__(self, error: Exception | None) -> None:
            super().__init__()
            self.error = error

    def __init__(
        self,
        videos: Sequence[Path | str],
        settings: Settings,
        *,
        models: Any = None,
        thread_id: str | None = None,
        show_timings: bool = True,
    ) -> None:
        """`models` reuses loaded models (a ModelCache, handed to Session.open); `thread_id` resumes a conversation;
        `show_timings=False` leaves seconds out of the screen (for pictures that must not change from run to run)."""
        super().__init__()
        self.videos = [Path(v).expanduser() for v in videos]
        self.settings = settings
        self.models = models
        self.thread_id = thread_id
        self.show_timings = show_timings
        self.session: Session | None = None
        self.reporter: IngestReporter | None = None
        self.ingest_error: Exception | None = None
        """Why the ingest failed, once it has (a VidsageError for anything a person can fix)."""
        self.ingest_cancelled = False
        self.asking = False
        self.selected = 0
        """Index in `session.memories` of the video the timeline and keyframes show."""
        self.answer_text = ""
        """The last answer, for copying."""
        self._lanes: dict[str, TimelineLanes] = {}
        self._shown: Evidence | None = None

    # --- layout ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with ContentSwitcher(initial="ingest", id="left"):
                yield IngestView(id="ingest", show_timings=self.show_timings)
                yield ChatLog(id="chat", show_timings=self.show_timings)
            with Vertical(id="side"):
                yield EvidenceList(id="evidence")
                yield KeyframeView(id="keyframe")
        yield TimelineStrip(id="timeline")
        yield QuestionInput(id="question")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#left", ContentSwitcher).border_title = "opening"
        self.query_one(EvidenceList).border_title = "citations"
        self.query_one(KeyframeView).border_title = "keyframe"
        self.sub_title = terminal_line(", ".join(v.name for v in self.videos))
        self.query_one(IngestView).set_status(f"opening {self.sub_title}…")
        self.reporter = IngestReporter(self)
        self._open(self.reporter)

    # --- opening the videos ----------------------------------------------------------------------

    def open_session(self, progress: IngestReporter) -> Session:
        """Ingest each video that memory lacks (reporting per video and stage), then open the Session.
        Runs in a worker thread; raises IngestCancelled once the user cancels."""

        def ingested(index: int, report: Any) -> None:
            if report.cached:
                progress.notice(f"{self.videos[index].name}: already in memory")

        session = Session.open(self.videos, settings=self.settings, progress=progress, models=self.models,
                               on_video=lambda index, count, path: progress.video(path.name, index, count),
                               on_ingested=ingested)  # fmt: skip
        if progress.cancelled:
            session.close()
            raise IngestCancelled("ingest cancelled")
        return session

    @work(thread=True, exclusive=True, group="ingest", exit_on_error=False)
    def _open(self, progress: IngestReporter) -> None:
        try:
            session = self.open_session(progress)
        except IngestCancelled:
            self.post_message(self.IngestStopped(None))
        except Exception as error:  # shown in the app, never raised out of it
            self.post_message(self.IngestStopped(error))
        else:
            if not self.post_message(self.SessionOpened(session)):
                session.close()  # the app quit meanwhile

    # The reporter's messages come to the app, so they are handled in the order the ingest sent them,
    # before the SessionOpened or IngestStopped that follows them.

    @on(VideoStarted)
    async def _video_started(self, message: VideoStarted) -> None:
        await self.query_one(IngestView).video_started(message)

    @on(StageStarted)
    async def _stage_started(self, message: StageStarted) -> None:
        await self.query_one(IngestView).stage_started(message)

    @on(StageAdvanced)
    def _stage_advanced(self, message: StageAdvanced) -> None:
        self.query_one(IngestView).stage_advanced(message)

    @on(StageFinished)
    def _stage_finished(self, message: StageFinished) -> None:
        self.query_one(IngestView).stage_finished(message)

    @on(IngestNotice)
    async def _notice(self, message: IngestNotice) -> None:
        if self.session is None:
            await self.query_one(IngestView).notice(message)
        else:  # a model chosen while answering, say
            self.notify(terminal_safe(message.text), title="note", markup=False)

    @on(SessionOpened)
    async def _session_opened(self, message: SessionOpened) -> None:
        await self.session_ready(message.session)

    async def session_ready(self, session: Session) -> None:
        """Switch from the ingest view to the chat (a resumed thread shows its earlier turns)."""
        self.session = session
        self._select_video(0)
        if self.thread_id:
            session.thread_id = self.thread_id
            await self._replay(session)
        self.query_one(IngestView).set_status("all videos are in memory")
        switcher = self.query_one("#left", ContentSwitcher)
        switcher.current = "chat"
        switcher.border_title = "chat"
        question = self.query_one(QuestionInput)
        question.disabled = False
        question.placeholder = "ask about the video (enter sends, ↑ recalls)"
        question.focus()
        self._title()
        self.refresh_bindings()

    async def _replay(self, session: Session) -> None:
        turns = session.turns()
        if not turns:
            return
        chat = self.query_one(ChatLog)
        await chat.add_note(f"resumed thread {session.thread_id}")
        for earlier in turns:
            turn = await chat.add_turn(earlier.question)
            await turn.replay(earlier.answer)
        self.answer_text = turns[-1].answer
        self._show_citations(list(turns[-1].cited))

    @on(IngestStopped)
    def _ingest_stopped(self, message: IngestStopped) -> None:
        view = self.query_one(IngestView)
        if message.error is None:
            self.ingest_cancelled = True
            view.set_status("ingest cancelled: the stages that finished stay in memory; ctrl+q quits", error=True)
            self.notify("ingest cancelled", severity="warning")
        else:
            self.ingest_error = message.error
            text = _describe(message.error)
            view.set_status(f"error: {text}; ctrl+q quits", error=True)
            self.notify(text, title="cannot open the videos", severity="error", markup=False)
        self.query_one(QuestionInput).placeholder = "no session: ctrl+q quits"
        self.refresh_bindings()

    def action_cancel_ingest(self) -> None:
        """Stop the ingest at its next step (what finished is kept)."""
        if self.reporter is not None and not self.reporter.cancelled:
            self.reporter.cancel()
            self.query_one(IngestView).set_status("cancelling: stopping after the current step…")
            self.refresh_bindings()

    # --- asking ----------------------------------------------------------------------------------

    @on(Input.Submitted, "#question")
    async def _submitted(self, event: Input.Submitted) -> None:
        question = event.value.strip()
        if not question:
            self.notify("type a question first", severity="warning")
            return
        if self.session is None:
            self.notify("the videos are not open yet", severity="warning")
            return
        if self.asking:
            self.notify("still answering the last question", severity="warning")
            return
        box = self.query_one(QuestionInput)
        box.history.add(question)
        box.value = ""
        turn = await self.query_one(ChatLog).add_turn(question)
        self.asking = True
        self._ask(self.session, question, turn)

    @work(thread=True, exclusive=True, group="ask", exit_on_error=False)
    def _ask(self, session: Session, question: str, turn: ChatTurn) -> None:
        worker = get_current_worker()
        try:
            for event in session.stream(question):
                if worker.is_cancelled:
                    return
                self.call_from_thread(self._on_event, turn, event)
        except Exception as error:  # an error is an answer line, never a crash
            if not worker.is_cancelled:
                self.call_from_thread(self._ask_failed, turn, _describe(error))

    async def _on_event(self, turn: ChatTurn, event: AgentEvent) -> None:
        if isinstance(event, StepStarted):
            turn.step(event)
        elif isinstance(event, ToolStarted):
            turn.tool_started(event)
        elif isinstance(event, ToolFinished):
            turn.tool_finished(event)
        elif isinstance(event, AnswerToken):
            await turn.append(event.text)
        elif isinstance(event, AnswerReady):
            await turn.finish(event.answer)
            self.asking = False
            self.answer_text = event.answer.text
            self._show_citations(event.answer.evidence)
        self.query_one(ChatLog).scroll_end(animate=False)

    def _ask_failed(self, turn: ChatTurn, message: str) -> None:
        turn.fail(message)
        self.asking = False
        self.notify(message, title="cannot answer", severity="error", markup=False)
        self.query_one(ChatLog).scroll_end(animate=False)

    # --- citations, keyframes, the timeline ------------------------------------------------------

    def _show_citations(self, evidence: Sequence[Evidence]) -> None:
        memories = self.session.memories if self.session is not None else []
        listing = self.query_one(EvidenceList)
        listing.show(evidence, {m.video_id: m.ref.path.name for m in memories})
        if listing.evidence:
            listing.highlighted = 0
            self.show_evidence(0)
        else:  # nothing cited: no picture of an earlier answer's moment
            self._shown = None
            self.query_one(KeyframeView).clear("the last answer cites nothing")
            self.query_one(TimelineStrip).move_cursor(None)

    @on(OptionList.OptionHighlighted, "#evidence")
    @on(OptionList.OptionSelected, "#evidence")
    def _evidence_chosen(self, event: OptionList.OptionHighlighted | OptionList.OptionSelected) -> None:
        self.show_evidence(event.option_index)

    def show_evidence(self, index: int) -> None:
        """Show citation `index` of the list: its video's timeline with the cursor there, and its keyframe."""
        listing = self.query_one(EvidenceList)
        if not 0 <= index < len(listing.evidence):
            return
        evidence = listing.evidence[index]
        memory = self.session.memory(evidence.video_id) if self.session is not None else None
        if memory is None:
            return
        if self.session is not None and self.session.memories[self.selected].video_id != memory.video_id:
            self._select_video(self.session.memories.index(memory))
        if evidence == self._shown:
            return
        self._shown = evidence
        time = evidence.keyframe if evidence.keyframe is not None else evidence.t0
        time = min(max(time, 0.0), max(memory.ref.duration - 1.0 / max(memory.ref.fps, 1.0), 0.0))
        self.query_one(TimelineStrip).move_cursor(time, (evidence.t0, evidence.t1))
        caption = f"{evidence.cite()} {kind_tag(evidence.kind)} · keyframe at {format_timestamp(time)}"
        self._load_keyframe(self.session, evidence, time, caption)

    @work(thread=True, exclusive=True, group="keyframe", exit_on_error=False)
    def _load_keyframe(self, session: Session | None, evidence: Evidence, time: float, caption: str) -> None:
        worker = get_current_worker()
        try:
            frame = session.keyframe(evidence.video_id, time) if session is not None else None
        except Exception as error:  # a moved or damaged file: say so, keep chatting
            if not worker.is_cancelled:
                self.call_from_thread(self.notify, _describe(error), title="no keyframe", severity="error")
            return
        if frame is not None and not worker.is_cancelled:
            self.call_from_thread(self._keyframe_ready, evidence, frame, time, caption)

    def _keyframe_ready(self, evidence: Evidence, frame: np.ndarray, time: float, caption: str) -> None:
        if evidence == self._shown:  # not a picture of a citation the user has moved away from
            self.query_one(KeyframeView).show(frame, time, caption)

    def _select_video(self, index: int) -> None:
        if self.session is None or not self.session.memories:
            return
        self.selected = index % len(self.session.memories)
        memory = self.session.memories[self.selected]
        lanes = self._lanes.get(memory.video_id)
        if lanes is None:
            lanes = self._lanes[memory.video_id] = timeline_lanes(memory)
        self.query_one(TimelineStrip).show(lanes)
        if self._shown is not None and self._shown.video_id != memory.video_id:
            self._shown = None
            name = terminal_line(memory.ref.path.name)
            self.query_one(KeyframeView).clear(f"select a citation of {name} to see its keyframe")
        self._title()

    def _title(self) -> None:
        if self.session is None:
            return
        memories = self.session.memories
        name = memories[self.selected].ref.path.name
        count = f" ({self.selected + 1}/{len(memories)})" if len(memories) > 1 else ""
        self.sub_title = terminal_line(f"{name}{count} · thread {self.session.thread_id}")

    # --- bindings --------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_ingest":
            return self.session is None and not self._ingest_over() and not self._cancelling()
        if action in CHAT_ACTIONS:
            if self.session is None:
                return False
            if action == "next_video":
                return len(self.session.memories) > 1
        return True

    def _ingest_over(self) -> bool:
        return self.ingest_cancelled or self.ingest_error is not None or self.session is not None

    def _cancelling(self) -> bool:
        return self.reporter is not None and self.reporter.cancelled

    def action_next_video(self) -> None:
        """Show the next open video's timeline (questions still go to every video)."""
        self._select_video(self.selected + 1)

    async def action_new_thread(self) -> None:
        """Start a fresh conversation: follow-ups no longer see the earlier questions."""
        if self.session is None:
            return
        if self.asking:
            self.notify("wait for the answer before starting a new thread", severity="warning")
            return
        thread = self.session.new_thread()
        chat = self.query_one(ChatLog)
        await chat.clear()
        await chat.add_note(f"new thread {thread}")
        self.answer_text = ""
        self._shown = None
        self.query_one(EvidenceList).show([], {})
        self.query_one(KeyframeView).clear()
        self.query_one(TimelineStrip).move_cursor(None)
        self._title()
        self.notify(f"new thread {thread}")

    def action_copy_answer(self) -> None:
        """Put the last answer on the clipboard."""
        if not self.answer_text:
            self.notify("no answer to copy yet", severity="warning")
            return
        self.copy_to_clipboard(self.answer_text)
        self.notify("answer copied to the clipboard")

    def action_focus_evidence(self) -> None:
        self.query_one(EvidenceList).focus()

    def action_focus_question(self) -> None:
        self.query_one(QuestionInput).focus()

    async def action_quit(self) -> None:
        """Quit; an ingest still running stops at its next step instead of holding the exit."""
        if self.reporter is not None:
            self.reporter.cancel()
        self.exit()

    def on_unmount(self) -> None:
        if self.session is not None:
            self.session.close()
