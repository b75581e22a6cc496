"""The system under test for `eval`: vidsage's agent, one Session per video (models loaded once, memory
ingested once), each question asked in its own thread, multiple choice when the item has options."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import InvalidRequest
from core.progress import ProgressReporter, SilentProgress
from core.settings import Settings
from evaluation.datasets.item import QAItem
from evaluation.judge import make_judge
from evaluation.scoring import Judge
from models.cache import ModelCache

if TYPE_CHECKING:
    from agent.session import Session
    from core.types import Answer

JUDGE_TOKENS = 8


class AgentAnswerer:
    """`answer_fn` for `run_evaluation`: the agent's Answer to one dataset question (thread-safe)."""

    def __init__(self, settings: Settings, models: ModelCache | None = None,
                 progress: ProgressReporter | None = None, force_choice: bool = False) -> None:  # fmt: skip
        """`force_choice` picks an option even without evidence (marked forced), as published benchmarks do."""
        self.settings = settings
        self.force_choice = force_choice
        self.progress = progress or SilentProgress()
        self.models = models or ModelCache.for_settings(settings, self.progress.notice)
        self._sessions: dict[Path, Session] = {}
        self._locks: dict[Path, threading.Lock] = {}
        self._guard = threading.Lock()

    def session(self, video: Path) -> Session:
        """The session of one video, ingesting it on first use (once, even with several workers)."""
        from agent.session import Session

        key = video.resolve()
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._sessions:
                self._sessions[key] = Session.open(video, settings=self.settings, progress=self.progress,
                                                   models=self.models, persist=False)  # fmt: skip
            return self._sessions[key]

    def __call__(self, video: Path, item: QAItem) -> Answer:
        return self.session(video).ask(item.question, options=item.options or None, thread_id=f"eval-{item.qid}",
                                       force_choice=self.force_choice)  # fmt: skip

    def close(self) -> None:
        for session in self._sessions.values():
            session.close()
        self._sessions.clear()


def configured_judge(settings: Settings, models: ModelCache) -> Judge:
    """An LLM judge from the configured planner model, else the VLM; InvalidRequest when neither exists."""
    from models.vlm.chat_model import load_chat_model

    chat = load_chat_model(settings.model_copy(update={"planner": "llm"})) if (
        settings.planner_url or settings.vlm_url) else None  # fmt: skip
    if chat is not None:
        return make_judge(lambda prompt: str(chat.invoke(prompt).content))
    if models.plan.spec("vlm") is not None:
        vlm = models.vlm()
        assert vlm is not None
        return make_judge(lambda prompt: vlm.complete(prompt, max_tokens=JUDGE_TOKENS, temperature=0.0))
    raise InvalidRequest("--judge needs a model: set VIDSAGE_PLANNER_URL or VIDSAGE_VLM_URL (or a profile with a VLM)")
