"""Presence from sampled tracks: an individual's interpolated on-screen intervals (see the package
docstring for the rules), set operations on interval lists, and the samples of one graph node."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.types import Actor, Track

CONTINUOUS_GAP_S = 1.0
"""Gaps between an actor's detections up to this (or two sampling periods, if longer) are continuous presence."""
CONFIRMATION_SAMPLES = 1
"""Detections ByteTrack keeps to itself before a new track is reported: a new track started this many
sampling periods before its first sample."""


Span = tuple[float, float]


def sample_period(tracks: Sequence[Track], fallback: float = 0.2) -> float:
    """The detector's sampling period: the smallest step between distinct sample times of any track."""
    steps = [float(s) for t in tracks for s in np.diff(np.unique(t.times)) if s > 1e-6]
    return min(steps) if steps else fallback


def continuous_gap(period: float) -> float:
    """Largest gap between detections still counted as continuous presence."""
    return max(CONTINUOUS_GAP_S, 2.0 * period)


def merge_spans(spans: Iterable[Span], bridge: float = 0.0) -> list[Span]:
    """Union of spans, also joining spans less than `bridge` seconds apart."""
    merged: list[list[float]] = []
    for t0, t1 in sorted(spans):
        if merged and t0 - merged[-1][1] <= bridge + 1e-9:
            merged[-1][1] = max(merged[-1][1], t1)
        else:
            merged.append([t0, t1])
    return [(a, b) for a, b in merged]


def presence_intervals(
    tracks: Sequence[Track], period: float, duration: float | None = None, cuts: Sequence[float] = ()
) -> list[Span]:
    """Interpolated on-screen intervals of the tracks of one individual, in time order.

    Each run of samples (gaps up to `continuous_gap(period)`) covers half a period either side; a track's
    first run also covers CONFIRMATION_SAMPLES periods earlier unless it starts on the video's first frame
    (t = 0), where the tracker reports tracks at once; a run seen on the last sample (within a period of
    `duration`) lasts to the end. No run reaches across a shot cut (`cuts`; a sample at a cut's time
    belongs to the new shot), so people on either side of a cut are never on screen together.
    Clipped to [0, duration].
    """
    limit = continuous_gap(period)
    half = period / 2.0
    bounds = np.sort(np.asarray(cuts, dtype=np.float64))
    spans: list[Span] = []
    for track in tracks:
        times = np.unique(np.asarray(track.times, dtype=np.float64))
        if times.size == 0:
            continue
        breaks = np.flatnonzero(np.diff(times) > limit + 1e-9)
        starts, ends = np.concatenate([[0], breaks + 1]), np.concatenate([breaks, [times.size - 1]])
        for run, (a, b) in enumerate(zip(starts, ends)):
            lead = half + (CONFIRMATION_SAMPLES * period if run == 0 and times[0] > 1e-6 else 0.0)
            tail = math.inf if duration is not None and times[b] + period >= duration - 1e-6 else half
            start, end = float(times[a]) - lead, float(times[b]) + tail
            before = bounds[bounds <= times[a] + 1e-9]
            after = bounds[bounds > times[b] + 1e-9]
            start = max(start, float(before[-1])) if before.size else start
            end = min(end, float(after[0])) if after.size else end
            spans.append((start, end))
    end = math.inf if duration is None else duration
    clipped = [(max(0.0, a), min(end, b)) for a, b in spans]
    return [(round(a, 3), round(b, 3)) for a, b in merge_spans(clipped, bridge=max(0.0, limit - period)) if b > a]


def intersect(first: Sequence[Span], second: Sequence[Span]) -> list[Span]:
    """Intervals where both interval lists are present (both sorted and non-overlapping)."""
    result: list[Span] = []
    i = j = 0
    while i < len(first) and j < len(second):
        t0, t1 = max(first[i][0], second[j][0]), min(first[i][1], second[j][1])
        if t1 > t0:
            result.append((t0, t1))
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return result


def overlap_seconds(spans: Sequence[Span], t0: float, t1: float) -> float:
    return sum(max(0.0, min(b, t1) - max(a, t0)) for a, b in spans)


@dataclass
class Samples:
    """All detections of one node, by time: boxes (x1, y1, x2, y2), confidences, keypoints."""

    times: np.ndarray
    boxes: np.ndarray
    confidences: np.ndarray
    keypoints: list[tuple[tuple[float, float, float], ...]]

    @classmethod
    def of(cls, tracks: Sequence[Track]) -> Samples:
        rows: dict[float, tuple[Any, float, Any]] = {}
        for track in tracks:
            points = track.keypoints or ((),) * len(track.times)
            for time, box, confidence, kp in zip(track.times, track.boxes, track.confidences, points):
                if time not in rows or confidence > rows[time][1]:
                    rows[time] = (box, confidence, kp)
        times = sorted(rows)
        return cls(
            times=np.asarray(times, dtype=np.float64),
            boxes=np.asarray([rows[t][0] for t in times], dtype=np.float64).reshape(-1, 4),
            confidences=np.asarray([rows[t][1] for t in times], dtype=np.float64),
            keypoints=[rows[t][2] for t in times],
        )

    def boxes_at(self, times: np.ndarray) -> np.ndarray:
        """(n, 4) boxes linearly interpolated at `times` (held constant past the first/last sample)."""
        return np.stack([np.interp(times, self.times, self.boxes[:, k]) for k in range(4)], axis=1)

    def within(self, t0: float, t1: float) -> np.ndarray:
        return np.flatnonzero((self.times >= t0) & (self.times <= t1))


@dataclass
class Node:
    """What the builder knows about one on-screen node before it becomes graph attributes."""

    node_id: str
    kind: str
    label: str
    actor_id: int | None
    tracks: list[Track]
    samples: Samples
    presence: list[Span]
    actor: Actor | None
