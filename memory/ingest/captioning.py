"""The captions stage: a SpaceTimeGPT caption for every segment, VLM dense captions for triggered segments only.

Triggers decide where the expensive VLM goes: a segment holding a trigger gets one request with
its trigger frames (topped up with evenly spaced frames of the segment), every other segment gets
only the cheap clip caption. All frames either model needs are decoded in one pass, in time order;
clip captions run in batches as their frames arrive, and the dense captions go to the VLM as one
batch (the server, or the in-process engine, batches them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import prompts
from core.progress import ProgressReporter
from core.types import Trigger, VideoRef, format_timestamp
from memory.records import SegmentCaption, triggered_segments
from models.adapters.video import frame_indices, iter_frames
from models.vlm.client import fit_image

DECODE_BATCH = 32
SUMMARY_TOKENS = 256


@dataclass
class CaptionResult:
    """The stage's output: per-segment captions, the video summary, and what the VLM was sent."""

    segments: list[SegmentCaption]
    video_summary: str = ""
    vlm_requests: int = 0
    vlm_images: int = 0
    notes: list[str] = field(default_factory=list)


def vlm_frame_times(t0: float, t1: float, trigger_times: Sequence[float], count: int) -> list[float]:
    """Keyframes for one dense caption: the trigger moments first, then evenly spaced fill, in time order."""
    chosen: list[float] = []
    for moment in trigger_times:
        if len(chosen) < count and all(abs(moment - c) > 1e-3 for c in chosen):
            chosen.append(float(moment))
    fill = t0 + (np.arange(count) + 0.5) * max(t1 - t0, 0.0) / count
    for moment in sorted(fill, key=lambda t: min((abs(t - c) for c in chosen), default=np.inf), reverse=True):
        if len(chosen) >= count:
            break
        if all(abs(moment - c) > 1e-3 for c in chosen):
            chosen.append(round(float(moment), 3))
    return sorted(chosen)


class _FramePlan:
    """Who needs which decoded frame: (segment, slot) of clip captions and of VLM requests."""

    def __init__(self, ref: VideoRef) -> None:
        self.ref = ref
        self.clip: dict[int, list[int]] = {}
        self.vlm: dict[int, list[int]] = {}

    def wanted(self) -> np.ndarray:
        every = [i for lists in (self.clip, self.vlm) for indices in lists.values() for i in indices]
        return np.unique(np.asarray(every, dtype=np.int64))


def caption_video(
    ref: VideoRef,
    bounds: Sequence[tuple[float, float]],
    triggers: Sequence[Trigger],
    captioner: Any,
    vlm: Any,
    *,
    frames_per_caption: int = 4,
    caption_tokens: int = 128,
    image_side: int = 384,
    batch_size: int = 16,
    progress: ProgressReporter,
) -> CaptionResult:
    """Caption a video's segments: clip captions for all (captioner), dense captions for triggered ones (VLM)."""
    triggered = triggered_segments(bounds, triggers) if vlm is not None else {}
    plan = _FramePlan(ref)
    clip_frames = getattr(captioner, "num_frames", 8)
    if captioner is not None:
        from models.adapters.captioner import clip_times

        plan.clip = {i: frame_indices(ref, clip_times(t0, t1, clip_frames)).tolist() for i, (t0, t1) in enumerate(bounds)}
    vlm_times = {i: vlm_frame_times(*bounds[i], moments, frames_per_caption) for i, moments in triggered.items()}
    plan.vlm = {i: frame_indices(ref, times).tolist() for i, times in vlm_times.items()}
    captions: dict[int, str] = {}
    dense_images: dict[int, list[np.ndarray]] = {}
    wanted = plan.wanted()
    if wanted.size:
        captions, dense_images = _decode_and_caption(plan, wanted, captioner, image_side, batch_size, progress)
    dense: dict[int, str] = {}
    result = CaptionResult([])
    if vlm is not None and dense_images:
        order = sorted(dense_images)
        progress.start("dense captions", len(order), unit="segments")
        requests = [(_caption_prompt(bounds[i], vlm_times[i]), dense_images[i]) for i in order]
        answers = vlm.caption_batch(requests, max_tokens=caption_tokens, temperature=0.0)
        dense = dict(zip(order, answers))
        result.vlm_requests, result.vlm_images = len(order), sum(len(dense_images[i]) for i in order)
        progress.finish("dense captions", f"{len(order)} of {len(bounds)} segments (triggered)")
    result.segments = [
        SegmentCaption(i, t0, t1, captions.get(i, ""), dense.get(i, ""), tuple(vlm_times.get(i, ()) if i in dense else ()))
        for i, (t0, t1) in enumerate(bounds)
    ]
    lines = timeline_lines(result.segments)
    if vlm is not None and lines:
        progress.start("summary", None)
        prompt = prompts.render("video_summary", descriptions="\n".join(lines))
        result.video_summary = vlm.complete(prompt, max_tokens=SUMMARY_TOKENS, temperature=0.0).strip()
        result.vlm_requests += 1
        progress.finish("summary")
    else:
        result.video_summary = " ".join(lines)
    return result


def _decode_and_caption(
    plan: _FramePlan,
    wanted: np.ndarray,
    captioner: Any,
    image_side: int,
    batch_size: int,
    progress: ProgressReporter,
) -> tuple[dict[int, str], dict[int, list[np.ndarray]]]:
    """One decode pass over `wanted` frame indices; clip captions in batches as clips complete."""
    users: dict[int, list[tuple[str, int, int]]] = defaultdict(list)
    for kind, lists in (("clip", plan.clip), ("vlm", plan.vlm)):
        for segment, indices in lists.items():
            for slot, index in enumerate(indices):
                users[index].append((kind, segment, slot))
    clip_buffers: dict[int, list[np.ndarray | None]] = {s: [None] * len(v) for s, v in plan.clip.items()}
    vlm_buffers: dict[int, list[np.ndarray | None]] = {s: [None] * len(v) for s, v in plan.vlm.items()}
    captions: dict[int, str] = {}
    pending: list[tuple[int, np.ndarray]] = []

    def flush() -> None:
        texts = captioner.caption_clips(np.stack([clip for _, clip in pending]))
        captions.update({segment: text for (segment, _), text in zip(pending, texts)})
        pending.clear()

    total = len(plan.clip) or len(plan.vlm)
    progress.start("captions", total, unit="segments")
    position = 0
    for _, frames in iter_frames(plan.ref, wanted / plan.ref.fps, batch_size=DECODE_BATCH):
        for frame in frames:
            index = int(wanted[position])
            position += 1
            for kind, segment, slot in users[index]:
                buffers = clip_buffers if kind == "clip" else vlm_buffers
                buffers[segment][slot] = frame if kind == "clip" else np.asarray(fit_image(frame, image_side))
                if kind == "clip" and all(f is not None for f in buffers[segment]):
                    pending.append((segment, np.stack(buffers.pop(segment))))  # type: ignore[arg-type]
                    if len(pending) >= batch_size:
                        flush()
                        progress.update("captions", len(captions))
    if pending:
        flush()
    progress.finish("captions", f"{len(captions)} clip captions" if captioner is not None else "frames decoded")
    dense_images = {s: [f for f in frames if f is not None] for s, frames in vlm_buffers.items()}
    return captions, dense_images


def _caption_prompt(bounds: tuple[float, float], times: Sequence[float]) -> str:
    """The dense-caption request for one triggered segment."""
    return prompts.render(
        "vlm_caption",
        count=len(times),
        t0=format_timestamp(bounds[0]),
        t1=format_timestamp(bounds[1]),
        times=", ".join(format_timestamp(t) for t in times),
    )


def timeline_lines(segments: Sequence[SegmentCaption]) -> list[str]:
    """`[mm:ss] description` per segment (dense caption first, else clip caption), repeats dropped."""
    lines: list[str] = []
    previous = ""
    for segment in segments:
        text = segment.dense or segment.caption
        if text and text != previous:
            lines.append(f"[{format_timestamp(segment.t0)}] {text}")
        previous = text
    return lines
