"""`look_at_frames`: the VLM answers a question about a few chosen frames (visual question answering).

Frames are decoded with models.adapters.video.iter_frames, at most MAX_FRAMES (and never more than one VLM
request may carry), and sent in one request. Without a VLM the tool says so instead of guessing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import numpy as np
from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field, StringConstraints

import prompts
from core.types import Evidence, format_timestamp
from memory.video_memory import VideoMemory
from models.adapters.video import frame_indices, iter_frames
from tools.binding import VIDEO_FIELD_HELP, ToolInfo, ToolResult, VideoSet, check_within, make_tool
from tools.render import render_evidence
from tools.timecodes import Seconds

MAX_FRAMES = 8
"""Frames per call: VideoAgent answers with about 8 frames looked at per question."""
ANSWER_TOKENS = 192


def decode_frames(memory: VideoMemory, times: Sequence[float]) -> tuple[list[float], list[np.ndarray]]:
    """The frames nearest to `times` (sorted, one per distinct frame): (their times, RGB uint8 arrays)."""
    ordered = sorted(float(t) for t in times)
    indices = frame_indices(memory.ref, ordered)
    kept = [t for i, t in enumerate(ordered) if i == 0 or indices[i] != indices[i - 1]]
    frames = [frame for _, batch in iter_frames(memory.ref, kept) for frame in batch]
    return kept, frames


class FramesArgs(BaseModel):
    """Arguments of a visual question about chosen frames."""

    times: list[Seconds] = Field(
        min_length=1, max_length=MAX_FRAMES,
        description=f"Moments to look at (seconds or 'mm:ss'), 1 to {MAX_FRAMES}.",
    )  # fmt: skip
    question: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] = Field(
        description="What to find out from the frames."
    )
    video: str | None = Field(default=None, description=VIDEO_FIELD_HELP)


def look_at_frames_tool(videos: VideoSet) -> BaseTool:
    def run(times: list[float], question: str, video: str | None = None) -> ToolResult:
        memory = videos.resolve(video)
        check_within(memory, *times)
        limit = min(MAX_FRAMES, memory.settings.vlm_images_per_prompt)
        last = max(memory.ref.duration - 1.0 / max(memory.ref.fps, 1.0), 0.0)
        times = sorted(min(t, last) for t in times)[:limit]
        moments = ", ".join(format_timestamp(t) for t in times)
        if videos.models.plan.spec("vlm") is None:
            text = f"no vision-language model is available, so the frames at {moments} cannot be looked at"
            note = Evidence("note", memory.video_id, times[0], times[-1], text, 0.0, "look_at_frames", times[0])
            return render_evidence([note]), [note]
        vlm = videos.models.vlm()
        kept, frames = decode_frames(memory, times)
        prompt = prompts.render(
            "look_at_frames",
            count=len(frames), times=", ".join(format_timestamp(t) for t in kept), question=question
        )
        answer = vlm.complete(prompt, frames, max_tokens=ANSWER_TOKENS, temperature=0.0).strip()
        text = answer or "(the model gave no answer)"
        found = [Evidence("dense_caption", memory.video_id, kept[0], kept[-1], text, 1.0, "look_at_frames", kept[0])]
        seen = ", ".join(format_timestamp(t) for t in kept)
        shown = f"looked at {len(frames)} frame{'s' if len(frames) != 1 else ''} ({seen}): "
        return shown + render_evidence(found, videos.render_names()), found

    return make_tool(
        run,
        "look_at_frames",
        f"Look at up to {MAX_FRAMES} frames at chosen moments and answer a visual question about them "
        "(a vision-language model; costs one model call).",
        FramesArgs,
        ToolInfo("looking at frames", "the frames", uses_vlm=True),
    )
