"""Fixed-length segments: the unit of visual memory, each with a TempMe segment vector and a keyframe."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from core.types import TranscriptSpan


@dataclass(frozen=True)
class SegmentRecord:
    """One segment on disk: its span and its keyframe time."""

    index: int
    t0: float
    t1: float
    keyframe: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def segment_bounds(duration: float, segment_seconds: float) -> list[tuple[float, float]]:
    """Consecutive [t0, t1) spans covering the video; a short tail joins the previous segment."""
    bounds: list[tuple[float, float]] = []
    start = 0.0
    while start < duration - 1e-6:
        end = min(duration, start + segment_seconds)
        if duration - end < 0.25 * segment_seconds:
            end = duration
        bounds.append((round(start, 3), round(end, 3)))
        start = end
    return bounds or [(0.0, round(duration, 3))]


def speech_within(spans: list[TranscriptSpan], t0: float, t1: float) -> str:
    """The words spoken inside [t0, t1), by word timestamps when present."""
    words: list[str] = []
    for span in spans:
        if span.t1 < t0 or span.t0 >= t1:
            continue
        if span.words:
            words.extend(w.text for w in span.words if t0 <= (w.t0 + w.t1) / 2 < t1)
        else:
            words.append(span.text)
    return " ".join(words).strip()


def segment_keyframes(
    bounds: list[tuple[float, float]],
    frame_times: np.ndarray,
    frame_vectors: np.ndarray | None,
    segment_vectors: np.ndarray | None,
) -> list[float]:
    """Each segment's keyframe: the frame most like the segment's vector, or the middle frame without vectors."""
    keyframes: list[float] = []
    for index, (t0, t1) in enumerate(bounds):
        inside = np.flatnonzero((frame_times >= t0) & (frame_times < t1))
        if inside.size == 0:
            inside = np.array([int(np.argmin(np.abs(frame_times - (t0 + t1) / 2)))])
        if frame_vectors is None or segment_vectors is None:
            keyframes.append(float(frame_times[inside[len(inside) // 2]]))
            continue
        scores = frame_vectors[inside] @ segment_vectors[index]
        keyframes.append(float(frame_times[inside[int(np.argmax(scores))]]))
    return keyframes
