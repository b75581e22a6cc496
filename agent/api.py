"""The public call: `ask(video_or_videos, question) -> Answer`, ingesting the videos first when needed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from agent.session import Session, check_question
from core.progress import ProgressReporter
from core.settings import Settings
from core.types import Answer
from models.cache import ModelCache


def ask(
    video: Path | str | Sequence[Path | str],
    question: str,
    *,
    options: Sequence[str] | None = None,
    thread_id: str | None = None,
    settings: Settings | None = None,
    progress: ProgressReporter | None = None,
    models: ModelCache | None = None,
    top_k: int = 5,
    force_choice: bool = False,
) -> Answer:
    """Answer a question about one or more videos with timestamped evidence.

    `options` turns it into multiple choice (`Answer.choice` is the 0-based pick, None when no evidence tells
    the options apart unless `force_choice` asks for a pick anyway, marked `Answer.forced`); `thread_id` continues
    a conversation kept in the data dir, so "and what happens after that?" resolves against it.
    For many questions keep a `Session`, which loads models and memory once."""
    checked = check_question(question, options)  # before any slow ingest
    with Session.open(video, settings=settings, progress=progress, models=models, top_k=top_k) as session:
        if thread_id is not None:
            session.thread_id = thread_id
        return session.ask(checked, force_choice=force_choice)
