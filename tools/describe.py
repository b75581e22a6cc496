"""`describe_segment`: what a stretch of video shows, from the stored captions or, failing those, a model.

Stored captions come first (the VLM's dense caption of a segment, else its clip caption). A span
without any is described on demand: by the VLM from a few frames of the span, else by the clip
captioner from its 8 frames. Answers are cached per process by video, span and model, so asking
again costs nothing. With neither stored captions nor a model the tool says so; it never invents.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field, model_validator

import prompts
from core.types import Evidence, format_timestamp
from memory.ingest.captioning import vlm_frame_times
from memory.video_memory import VideoMemory
from models.adapters.video import iter_frames
from tools.binding import VIDEO_FIELD_HELP, ToolError, ToolInfo, ToolResult, VideoSet, check_within, make_tool
from tools.frames import decode_frames
from tools.render import render_evidence
from tools.timecodes import Seconds

MAX_STORED = 16
"""Most stored segment captions returned for one span."""
SOURCE = "describe_segment"


class SpanCache:
    """Descriptions made on demand, per process: (video id, t0, t1, model) -> Evidence. Thread-safe."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, float, float, str], Evidence] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(video_id: str, t0: float, t1: float, model: str) -> tuple[str, float, float, str]:
        return video_id, round(t0, 2), round(t1, 2), model

    def get(self, key: tuple[str, float, float, str]) -> Evidence | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
            else:
                self.hits += 1
            return found

    def put(self, key: tuple[str, float, float, str], evidence: Evidence) -> None:
        with self._lock:
            self._items[key] = evidence

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0


DESCRIPTIONS = SpanCache()
"""The process-wide cache of on-demand descriptions (independent of any one memory object)."""


class DescribeArgs(BaseModel):
    """Arguments of a segment description."""

    t0: Seconds = Field(description="Start of the span (seconds or 'mm:ss').")
    t1: Seconds = Field(description="End of the span (seconds or 'mm:ss').")
    video: str | None = Field(default=None, description=VIDEO_FIELD_HELP)

    @model_validator(mode="after")
    def _ordered(self) -> DescribeArgs:
        if self.t1 <= self.t0:
            raise ValueError(f"the span must end after it starts (t0 {self.t0:g} s, t1 {self.t1:g} s)")
        return self


def stored_descriptions(memory: VideoMemory, t0: float, t1: float) -> list[Evidence]:
    """The stored captions of the segments overlapping [t0, t1): dense where there is one, else the clip caption."""
    found = []
    for caption in memory.captions():
        if caption.t0 < t1 and caption.t1 > t0 and (caption.dense or caption.caption):
            kind = "dense_caption" if caption.dense else "caption"
            keyframe = (
                caption.frames[0] if caption.dense and caption.frames else round((caption.t0 + caption.t1) / 2, 3)
            )
            found.append(Evidence(kind, memory.video_id, caption.t0, caption.t1, caption.dense or caption.caption,
                                  1.0, SOURCE, keyframe))  # fmt: skip
    return found[:MAX_STORED]


def _describe_with_vlm(videos: VideoSet, memory: VideoMemory, t0: float, t1: float) -> Evidence:
    settings = memory.settings
    count = min(settings.vlm_frames_per_caption, settings.vlm_images_per_prompt)
    kept, frames = decode_frames(memory, vlm_frame_times(t0, t1, [], count))
    prompt = prompts.render("vlm_caption", count=len(frames), t0=format_timestamp(t0), t1=format_timestamp(t1),
                            times=", ".join(format_timestamp(t) for t in kept))  # fmt: skip
    text = videos.models.vlm().complete(prompt, frames, max_tokens=settings.vlm_caption_tokens, temperature=0.0)  # type: ignore[union-attr]
    return Evidence("dense_caption", memory.video_id, t0, t1, text.strip(), 1.0, SOURCE, kept[len(kept) // 2])


def _describe_with_captioner(videos: VideoSet, memory: VideoMemory, t0: float, t1: float) -> Evidence:
    from models.adapters.captioner import clip_times

    captioner: Any = videos.models.captioner()
    times = clip_times(t0, t1, captioner.num_frames)
    frames = [frame for _, batch in iter_frames(memory.ref, sorted(float(t) for t in times)) for frame in batch]
    text = captioner.caption_clips(np.stack(frames)[None])[0]
    return Evidence("caption", memory.video_id, t0, t1, text.strip(), 1.0, SOURCE, round((t0 + t1) / 2, 3))


def describe_segment_tool(videos: VideoSet) -> BaseTool:
    def run(t0: float, t1: float, video: str | None = None) -> ToolResult:
        memory = videos.resolve(video)
        check_within(memory, t0)
        t1 = min(t1, memory.ref.duration)
        if t1 <= t0:
            raise ToolError(f"the span {t0:g}-{t1:g} s is empty within the video")
        stored = stored_descriptions(memory, t0, t1)
        if stored:
            return render_evidence(stored, videos.render_names()), stored
        plan = videos.models.plan
        role = "vlm" if plan.spec("vlm") is not None else "captioner" if plan.spec("captioner") is not None else None
        if role is None:
            text = (f"no stored caption covers {format_timestamp(t0)}-{format_timestamp(t1)} and no captioner or "
                    "vision-language model is available to describe it")  # fmt: skip
            note = Evidence("note", memory.video_id, t0, t1, text, 0.0, SOURCE)
            return render_evidence([note]), [note]
        key = SpanCache.key(memory.video_id, t0, t1, plan.spec(role).description)  # type: ignore[union-attr]
        described = DESCRIPTIONS.get(key)
        if described is None:
            make = _describe_with_vlm if role == "vlm" else _describe_with_captioner
            described = make(videos, memory, t0, t1)
            DESCRIPTIONS.put(key, described)
        return render_evidence([described], videos.render_names()), [described]

    return make_tool(
        run,
        "describe_segment",
        "Describe what a stretch of the video shows (people, objects, setting, on-screen text), from the stored "
        "captions or, when there are none, by running the captioning model on that span.",
        DescribeArgs,
        ToolInfo("describing a segment", "the segment descriptions", uses_vlm=True),
    )
