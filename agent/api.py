"""The public API: `ask(video, question) -> Answer`, ingesting the video first when needed."""

from __future__ import annotations

import time
from pathlib import Path

from agent.context import AgentContext
from agent.graph import build_graph
from agent.state import AgentState
from memory.ingest import ingest_video
from memory.manifest import Manifest
from memory.layout import DataLayout
from memory.progress import ProgressReporter, SilentProgress
from memory.video_memory import VideoMemory
from models.errors import InvalidRequest, MemoryCorrupt
from models.loader import ModelCache
from models.registry import ModelPlan
from models.settings import Settings
from models.types import Answer


def ask(
    video: Path | str,
    question: str,
    *,
    settings: Settings | None = None,
    progress: ProgressReporter | None = None,
    models: ModelCache | None = None,
    top_k: int = 5,
) -> Answer:
    """Answer a question about a video with timestamped evidence (ingests it first if needed)."""
    if not question or not question.strip():
        raise InvalidRequest("the question is empty")
    settings = settings or Settings()
    progress = progress or SilentProgress()
    models = models or ModelCache(ModelPlan(settings, progress.notice))
    started = time.perf_counter()
    report = ingest_video(video, settings, models=models, progress=progress)
    ingested = time.perf_counter()
    manifest = Manifest.load(DataLayout(settings.data_dir), report.video.video_id)
    if manifest is None:
        raise MemoryCorrupt(f"{video}: memory vanished right after ingest (was the data dir removed?)")
    memory = VideoMemory(settings, manifest)
    from tools.video_tools import build_tools

    context = AgentContext(
        memory=memory, models=models, tools={tool.name: tool for tool in build_tools(memory, models)}, top_k=top_k
    )
    result = build_graph().invoke(AgentState(question=question.strip()), context=context)
    finished = time.perf_counter()
    return Answer(
        question=question.strip(),
        text=result["answer"],
        evidence=list(result["cited"]),
        timings={"ingest": round(ingested - started, 3), "answer": round(finished - ingested, 3)},
        models=models.plan.summary(),
        video=str(report.video.path),
    )
