"""A conversation over one or more videos: models, memories and tools loaded once, questions answered
in threads that a SQLite checkpointer keeps in the data dir, answers streamed as they are written.

    with Session.open(["talk.mp4"], progress=reporter) as session:   # ingests what memory lacks first
        first = session.ask("What does the speaker say about the budget?")
        later = session.ask("And what happens after that?")   # same thread: resolves "that"
        for event in session.stream("Who is on screen at 0:30?"): ...
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver

from agent.context import AgentContext
from agent.events import AgentEvent, AnswerReady, event_from
from agent.graph import build_graph
from agent.state import CHECKPOINT_TYPES, Turn
from agent.thread_lock import thread_turn
from core.errors import InvalidRequest, MemoryCorrupt
from core.process_env import prepare_process
from core.progress import ProgressReporter, SilentProgress
from core.settings import Settings
from core.types import Answer
from memory.ingest.pipeline import ingest_video
from memory.layout import DataLayout, private_data_dir
from memory.manifest import Manifest
from memory.video_memory import VideoMemory
from models.cache import ModelCache
from models.vlm.chat_model import load_chat_model

if TYPE_CHECKING:
    import numpy as np
    from langchain_core.language_models import BaseChatModel

    from memory.ingest.report import IngestReport

RECURSION_LIMIT = 64
"""Graph steps one question may take (the budgets end it long before)."""
STEP_NAMES = ("plan", "act", "assess", "answer")


def _paths(videos: Path | str | Sequence[Path | str]) -> list[Path | str]:
    items = [videos] if isinstance(videos, (str, Path)) else list(videos)
    if not items:
        raise InvalidRequest("no video given: name at least one video file")
    return items


class CheckedQuestion(NamedTuple):
    """A question and its options that passed `check_question`; `Session.ask` takes it without checking again."""

    text: str
    options: list[str] | None


def check_question(question: str, options: Sequence[str] | None, *, max_chars: int = 2_000) -> CheckedQuestion:
    """The question and options, cleaned; InvalidRequest for an empty or too long question (over `max_chars`:
    a pasted document is no question, and would be searched for seconds) or unusable options."""
    if not question or not question.strip():
        raise InvalidRequest("the question is empty")
    if len(question.strip()) > max_chars:
        raise InvalidRequest(
            f"the question is {len(question.strip()):,} characters long; ask it in at most {max_chars:,} characters"
        )
    if options is None:
        return CheckedQuestion(question.strip(), None)
    cleaned = [" ".join(str(o).split()) for o in options]
    if len(cleaned) < 2:
        raise InvalidRequest("a multiple-choice question needs at least two options")
    if any(not o for o in cleaned):
        raise InvalidRequest("a multiple-choice option is empty")
    if len(cleaned) > 26:
        raise InvalidRequest("a multiple-choice question may have at most 26 options")
    return CheckedQuestion(question.strip(), cleaned)


def check_videos(videos: Path | str | Sequence[Path | str]) -> list[Path]:
    """The video paths, expanded; VideoUnreadable for one that is missing, a directory or empty, and InvalidRequest
    for none at all: what a caller checks before it starts anything slow."""
    from models.adapters.video import check_path

    paths = [Path(v).expanduser() for v in _paths(videos)]
    for path in paths:
        check_path(path)
    return paths


class Session:
    """Answers questions about a fixed set of videos, ingesting what is not yet in memory."""

    def __init__(
        self,
        videos: Path | str | Sequence[Path | str],
        *,
        settings: Settings | None = None,
        progress: ProgressReporter | None = None,
        models: ModelCache | None = None,
        top_k: int = 5,
        persist: bool = True,
        chat_model: BaseChatModel | None = None,
        on_video: Callable[[int, int, Path], None] | None = None,
        on_ingested: Callable[[int, IngestReport], None] | None = None,
    ) -> None:
        """Ingest `videos` as needed and get ready to answer (`Session.open` says the same by name). `chat_model`
        replaces the planner model the settings name (any LangChain chat model with tool calling);
        `persist=False` keeps threads in memory; `on_video(index, count, path)` is called before each video's
        ingest and `on_ingested(index, report)` after it."""
        self.settings = settings or Settings()
        prepare_process(self.settings.data_dir)  # before any model loads: no telemetry, no files outside the data dir
        self.progress = progress or SilentProgress()
        self.models = models or ModelCache.for_settings(self.settings, self.progress.notice)
        started = time.perf_counter()
        self.memories: list[VideoMemory] = []
        """The open videos' memories, in the order given (a video named twice once)."""
        self.ingest_reports: list[IngestReport] = []
        """What each video's ingest did (ran or reused stages, seconds), in the order given."""
        layout = DataLayout(self.settings.data_dir)
        items = _paths(videos)
        for index, video in enumerate(items):
            if on_video is not None:
                on_video(index, len(items), Path(video).expanduser())
            report = ingest_video(video, self.settings, models=self.models, progress=self.progress)
            self.ingest_reports.append(report)
            if on_ingested is not None:
                on_ingested(index, report)
            manifest = Manifest.load(layout, report.video.video_id)
            if manifest is None:
                raise MemoryCorrupt(f"{video}: memory vanished right after ingest (was the data dir removed?)")
            if all(m.video_id != manifest.video.video_id for m in self.memories):
                self.memories.append(VideoMemory(self.settings, manifest))
        self.ingest_seconds = round(time.perf_counter() - started, 3)
        from tools.video_tools import build_tools

        tools = build_tools(self.memories, self.models)
        self._context = AgentContext(
            memories=self.memories,
            models=self.models,
            tools={tool.name: tool for tool in tools},
            settings=self.settings,
            chat_model=chat_model if chat_model is not None else load_chat_model(self.settings),
            top_k=top_k,
        )
        self._connection: sqlite3.Connection | None = None
        checkpointer = None
        if persist:
            private_data_dir(layout.root)
            self._connection = sqlite3.connect(layout.threads_db, check_same_thread=False)
            serde = JsonPlusSerializer(allowed_msgpack_modules=list(CHECKPOINT_TYPES))
            checkpointer = SqliteSaver(self._connection, serde=serde)
        else:
            from langgraph.checkpoint.memory import InMemorySaver

            checkpointer = InMemorySaver(serde=JsonPlusSerializer(allowed_msgpack_modules=list(CHECKPOINT_TYPES)))
        self.graph = build_graph(checkpointer)
        self.thread_id = new_thread_id()
        self._asked = 0

    @classmethod
    def open(
        cls,
        videos: Path | str | Sequence[Path | str],
        *,
        settings: Settings | None = None,
        progress: ProgressReporter | None = None,
        **options: Any,
    ) -> Session:
        """Ingest each of `videos` that memory lacks, reporting its stages and notices to `progress` (a file that is
        no video raises its VidsageError before anything is written), then open a Session over them.

        `options` are the Session's own keywords: `models` reuses a ModelCache (by default one is built on the
        settings' model plan, its notices going to `progress`), `on_video(index, count, path)` is called before
        each video's ingest and `on_ingested(index, report)` after it; each IngestReport is kept in
        `session.ingest_reports`."""
        return cls(videos, settings=settings, progress=progress, **options)

    # --- what is open ----------------------------------------------------------------------------

    def memory(self, video_id: str) -> VideoMemory | None:
        """The memory of one open video (by its id), or None when no open video has that id."""
        return next((m for m in self.memories if m.video_id == video_id), None)

    def keyframe(self, video_id: str, time: float) -> np.ndarray | None:
        """The frame of an open video nearest to `time` (RGB uint8), or None when the video is not open or the
        decoder returns nothing; a moved or damaged file raises its VidsageError."""
        from tools.frames import decode_frames

        memory = self.memory(video_id)
        if memory is None:
            return None
        _, frames = decode_frames(memory, [time])
        return frames[0] if frames else None

    # --- conversation ----------------------------------------------------------------------------

    def new_thread(self) -> str:
        """Start a fresh conversation (follow-ups no longer see earlier questions)."""
        self.thread_id = new_thread_id()
        return self.thread_id

    def turns(self, thread_id: str | None = None) -> list[Turn]:
        """The finished questions of a thread, oldest first."""
        snapshot = self.graph.get_state(self._config(thread_id or self.thread_id))
        values: dict[str, Any] = dict(snapshot.values or {})
        return list(values.get("turns", []))

    def ask(
        self,
        question: str | CheckedQuestion,
        *,
        options: Sequence[str] | None = None,
        thread_id: str | None = None,
        force_choice: bool = False,
    ) -> Answer:
        """Answer one question in a thread (the session's current one by default). `force_choice` picks an
        option even when no evidence tells them apart (marked `forced`), as benchmarks that score every row need."""
        final: Answer | None = None
        for event in self.stream(question, options=options, thread_id=thread_id, force_choice=force_choice):
            if isinstance(event, AnswerReady):
                final = event.answer
        assert final is not None
        return final

    def stream(
        self,
        question: str | CheckedQuestion,
        *,
        options: Sequence[str] | None = None,
        thread_id: str | None = None,
        force_choice: bool = False,
    ) -> Iterator[AgentEvent]:
        """Answer a question, yielding tool activity and answer text as they happen, then AnswerReady.

        Questions of one thread take turns (agent.thread_lock): one asked while another of its thread runs, in
        this process or another sharing the data dir, waits for it, so every turn is kept."""
        question, cleaned = question if isinstance(question, CheckedQuestion) else check_question(question, options)
        thread = thread_id or self.thread_id
        context = self._context.for_question()
        started = time.perf_counter()
        final: dict[str, Any] = {}
        inputs = {"question": question, "options": cleaned, "videos": [m.video_id for m in self.memories],
                  "force_choice": force_choice}  # fmt: skip
        kept_on_disk = self.settings.data_dir if self._connection is not None else None
        with thread_turn(thread, kept_on_disk, self.progress.notice):
            for mode, payload in self.graph.stream(
                inputs, self._config(thread), context=context, stream_mode=["custom", "values"]
            ):
                if mode == "custom":
                    event = event_from(payload)
                    if event is not None:
                        yield event
                elif isinstance(payload, dict):
                    final = payload
        total = time.perf_counter() - started
        yield AnswerReady(self._answer(final, thread, total))

    # --- plumbing --------------------------------------------------------------------------------

    def _config(self, thread_id: str) -> dict[str, Any]:
        return {"configurable": {"thread_id": thread_id}, "recursion_limit": RECURSION_LIMIT}

    def _answer(self, state: dict[str, Any], thread_id: str, total: float) -> Answer:
        steps = list(state.get("steps", []))
        timings = {name: round(sum(s["seconds"] for s in steps if s["step"] == name), 4) for name in STEP_NAMES}
        if self._asked == 0:
            timings = {"ingest": self.ingest_seconds} | timings
        self._asked += 1
        timings["total"] = round(total, 4)
        records = list(state.get("tool_calls", []))
        usage = {"tool_calls": sum(1 for r in records if r.status != "skipped")} | dict(state.get("usage", {}))
        return Answer(
            question=state.get("question", ""),
            text=state.get("answer", ""),
            evidence=list(state.get("cited", [])),
            timings=timings,
            models=self.models.plan.summary(),
            video=str(self.memories[0].ref.path),
            choice=state.get("choice"),
            options=state.get("options"),
            tool_calls=[r.to_dict() for r in records],
            usage=usage,
            thread_id=thread_id,
            steps=steps,
            notes=list(state.get("notes", [])),
            videos=[str(m.ref.path) for m in self.memories],
            errors=list(state.get("errors", [])),
            abstained=bool(state.get("abstained", False)),
            limitations=list(state.get("limitations", [])),
            confidence=state.get("confidence"),
            forced=bool(state.get("forced", False)),
            video_files={m.video_id: str(m.ref.path) for m in self.memories},
        )

    def close(self) -> None:
        """Close the thread store."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def new_thread_id() -> str:
    return uuid.uuid4().hex[:16]
