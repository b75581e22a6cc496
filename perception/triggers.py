"""Trigger detection: the few moments of a video worth an expensive VLM call, and why.

Each cue proposes candidates (time, reason, strength in [0, 1]):

- `shot_cut`: a hard cut, a colour or texture change far above the motion around it (perception/shot_cuts.py);
- `dissolve`: a gradual transition, endpoints as different as a cut's but reached in small steps
  along a straight line between two pictures (a dissolve blends two shots linearly);
- `novelty`: a picture unlike anything in the last `NOVELTY_MEMORY_S` seconds (CLIP vectors when
  given, else colour histograms);
- `actor_enter` / `actor_exit`: an actor's first appearance and final disappearance;
- `speech_onset`: speech starting after at least `SPEECH_SILENCE_S` of silence (or the first speech);
- `trained_head`: a peak of the optional trained head (perception/trigger_head.py).

`detect_triggers` merges candidates within `MERGE_S` into one trigger that keeps every reason,
scores it by a noisy-OR of its reasons' weighted strengths, drops those under the threshold, then
applies the budget: at most `budget` of the segments (but at least one, so a short video keeps its
best moment) may hold a trigger, the segments whose best trigger is weakest going first. The budget
limits expensive work, not structure: `shot_boundaries` gives every cut and dissolve, unbudgeted, for
the scene list.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import InvalidRequest
from core.types import Actor, Track, TranscriptSpan, Trigger
from models.adapters.frame_features import FrameFeatures, hist_distance
from perception.shot_cuts import find_cuts

if TYPE_CHECKING:
    from perception.trigger_head import TriggerHead

REASONS: tuple[str, ...] = (
    "shot_cut",
    "dissolve",
    "actor_enter",
    "actor_exit",
    "speech_onset",
    "novelty",
    "trained_head",
)
REASON_WEIGHTS: dict[str, float] = {
    "shot_cut": 0.9,
    "dissolve": 0.85,
    "trained_head": 0.9,
    "actor_enter": 0.8,
    "speech_onset": 0.75,
    "novelty": 0.7,
    "actor_exit": 0.6,
}
"""How much one full-strength cue alone is worth. With the default threshold every structural cue
(cut, dissolve, actor, speech) passes alone at full strength; novelty needs strength >= 0.72."""

DEFAULT_THRESHOLD = 0.5
DEFAULT_BUDGET = 0.25
MERGE_S = 0.5
"""Candidates closer than this (chained) become one trigger."""

DISSOLVE_HALF_WINDOWS_S = (0.6, 1.0, 1.4, 2.0)
"""Half-widths of the windows searched for a transition: dissolves of about 0.6-4 s."""
DISSOLVE_MIN_HIST = 0.4
"""Endpoint histogram distance a dissolve must reach (a cut-sized change)."""
DISSOLVE_MIN_THUMB = 0.06
"""Endpoint thumbnail RMS distance a dissolve must reach."""
DISSOLVE_STRAIGHTNESS = 0.7
"""Endpoint distance / path length of the thumbnails: 1 for a linear blend, lower for motion."""
DISSOLVE_MAX_STEP_SHARE = 0.4
"""No single step may carry more than this share of the path (else it is a cut)."""
DISSOLVE_FULL = 0.6

NOVELTY_MEMORY_S = 10.0
"""The memory: frames of the last this many seconds..."""
NOVELTY_GAP_S = 1.0
"""...except the most recent ones, so gradual change (a person walking in) still counts as new."""
NOVELTY_SCALE = {"histogram": 0.5, "clip": 0.25}
"""Raw novelty above the running baseline that counts as fully novel, per descriptor."""
NOVELTY_MIN = 0.3
"""Least normalised novelty proposed as a candidate."""

SPEECH_SILENCE_S = 1.5
ACTOR_EDGE_S = 1.0
"""An actor seen within this of the video's start (end) was already there (still there)."""
ACTOR_AT_START_STRENGTH = 0.5
"""An actor on screen from the first frame still `enters`, with less confidence (it is not an event
in the video, but the first look at that actor is still worth a caption); alone it stays under the
default threshold."""
HEAD_MIN = 0.5
HEAD_PEAK_RADIUS_S = 1.0
"""One head candidate per second: the head is trained on +-0.5 s plateaus around each annotated time."""


@dataclass(frozen=True)
class Candidate:
    """One cue's proposal: at `time`, for `reason`, with `strength` in [0, 1]."""

    time: float
    reason: str
    strength: float


# --- shot boundaries --------------------------------------------------------------------------


def _rms(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Root-mean-square difference between flattened thumbnails (last axis)."""
    return np.sqrt(np.mean((a - b) ** 2, axis=-1))


def detect_cuts(features: FrameFeatures) -> list[Candidate]:
    """Hard cuts at the first frame of each new shot (perception/shot_cuts.py: the colour and texture rules)."""
    return [Candidate(cut.time, "shot_cut", cut.strength) for cut in find_cuts(features)]


@dataclass(frozen=True)
class _Window:
    """A frame window [start, end] that changes like a dissolve, and how much so."""

    score: float
    start: int
    end: int


def _thumb_path(features: FrameFeatures) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flattened thumbnails, their RMS steps, and the cumulative path length at each frame."""
    flat = features.thumbs.reshape(len(features), -1).astype(np.float64)
    steps = _rms(flat[1:], flat[:-1])
    return flat, steps, np.r_[0.0, np.cumsum(steps)]


def _dissolve_windows(features: FrameFeatures) -> list[_Window]:
    """Every (start, end) window over which the picture changes like a dissolve, with its score."""
    count, fps = len(features), features.fps
    flat, steps, path = _thumb_path(features)
    windows: list[_Window] = []
    for half_s in DISSOLVE_HALF_WINDOWS_S:
        half = max(2, round(half_s * fps))
        if 2 * half >= count:
            continue
        start = np.arange(count - 2 * half)
        end = start + 2 * half
        hist_gap = hist_distance(features.hists[start], features.hists[end])
        thumb_gap = _rms(flat[end], flat[start])
        length = np.maximum(path[end] - path[start], 1e-9)
        largest = np.lib.stride_tricks.sliding_window_view(steps, 2 * half).max(axis=1)
        ok = (
            (hist_gap >= DISSOLVE_MIN_HIST)
            & (thumb_gap >= DISSOLVE_MIN_THUMB)
            & (thumb_gap >= DISSOLVE_STRAIGHTNESS * length)
            & (largest <= DISSOLVE_MAX_STEP_SHARE * length)
        )
        score = hist_gap * thumb_gap / length
        windows += [_Window(float(score[i]), int(start[i]), int(end[i])) for i in np.flatnonzero(ok)]
    return windows


def detect_dissolves(features: FrameFeatures) -> list[Candidate]:
    """Gradual transitions, each at the midpoint of its change (half its thumbnail path travelled)."""
    if len(features) < 5:
        return []
    path = _thumb_path(features)[2]
    accepted: list[_Window] = []
    for window in sorted(_dissolve_windows(features), key=lambda w: (-w.score, w.start)):
        if all(window.end <= other.start or window.start >= other.end for other in accepted):
            accepted.append(window)
    candidates = []
    for window in accepted:
        span = slice(window.start, window.end + 1)
        halfway = 0.5 * (path[window.start] + path[window.end])
        time = float(np.interp(halfway, path[span], features.times[span]))
        candidates.append(Candidate(time, "dissolve", float(min(1.0, window.score / DISSOLVE_FULL))))
    return sorted(candidates, key=lambda c: c.time)


def shot_boundaries(features: FrameFeatures) -> list[float]:
    """Every hard cut and dissolve by time, fused as triggers fuse them: the video's shots, never budgeted."""
    candidates = detect_cuts(features) + detect_dissolves(features)
    return [trigger.timestamp for trigger in merge_candidates(candidates, features.fps)]


# --- novelty ----------------------------------------------------------------------------------


def _unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _memory_similarity(times: np.ndarray, similarity_at_lag: Callable[[int], np.ndarray], fps: float) -> np.ndarray:
    """Per frame, the best similarity to any frame between NOVELTY_MEMORY_S and NOVELTY_GAP_S ago (NaN: none)."""
    best = np.full(len(times), np.nan)
    shortest = max(1, math.floor(0.5 * NOVELTY_GAP_S * fps))  # half: sampling may be uneven, ages decide
    longest = min(len(times) - 1, math.ceil(NOVELTY_MEMORY_S * fps) + 1)
    for lag in range(shortest, longest + 1):
        age = times[lag:] - times[:-lag]
        valid = (age >= NOVELTY_GAP_S - 1e-6) & (age <= NOVELTY_MEMORY_S + 1e-6)
        if not valid.any():
            continue
        similarity = np.where(valid, similarity_at_lag(lag), np.nan)
        best[lag:] = np.fmax(best[lag:], similarity)
    return best


def _running_baseline(raw: np.ndarray, fps: float) -> np.ndarray:
    """Median raw novelty over the preceding memory window (causal; 0 where there is none)."""
    radius = max(1, math.ceil(NOVELTY_MEMORY_S * fps))
    padded = np.r_[np.full(radius, np.nan), raw]
    windows = np.lib.stride_tricks.sliding_window_view(padded, radius)[: len(raw)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows: no memory yet
        baseline = np.nanmedian(windows, axis=1)
    return np.nan_to_num(baseline, nan=0.0)


def visual_novelty(
    features: FrameFeatures,
    clip_times: np.ndarray | None = None,
    clip_vectors: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(times, novelty in [0, 1]): 1 - best similarity to the memory, above its running baseline, scaled.

    CLIP vectors (cosine similarity) when given, else the colour histograms (1 - total variation).
    Frames with nothing in memory yet (the first `NOVELTY_GAP_S`) have novelty 0.
    """
    if clip_vectors is not None and clip_times is not None and len(clip_vectors):
        times, kind = np.asarray(clip_times, dtype=np.float64), "clip"
        unit = _unit(np.asarray(clip_vectors, dtype=np.float64))

        def similarity(lag: int) -> np.ndarray:
            return np.sum(unit[lag:] * unit[:-lag], axis=1)

    else:
        times, kind, hists = features.times, "histogram", features.hists

        def similarity(lag: int) -> np.ndarray:
            return 1.0 - hist_distance(hists[lag:], hists[:-lag])

    if len(times) < 2:
        return times, np.zeros(len(times))
    fps = float(1.0 / max(np.median(np.diff(times)), 1e-6))
    raw = 1.0 - _memory_similarity(times, similarity, fps)
    baseline = _running_baseline(raw, fps)
    novelty = np.clip((raw - baseline) / NOVELTY_SCALE[kind], 0.0, 1.0)
    return times, np.nan_to_num(novelty, nan=0.0)


def peaks(times: np.ndarray, values: np.ndarray, minimum: float, radius_s: float) -> list[int]:
    """Indices of the highest values >= minimum, none within `radius_s` of a higher (or earlier equal) one."""
    order = sorted(np.flatnonzero(values >= minimum), key=lambda i: (-values[i], times[i]))
    chosen: list[int] = []
    for index in order:
        if all(abs(times[index] - times[other]) > radius_s for other in chosen):
            chosen.append(int(index))
    return sorted(chosen)


def novelty_candidates(
    features: FrameFeatures, clip_times: np.ndarray | None = None, clip_vectors: np.ndarray | None = None
) -> list[Candidate]:
    """Peaks of visual novelty (one per `NOVELTY_GAP_S`, the plateau after a change gives its start)."""
    times, novelty = visual_novelty(features, clip_times, clip_vectors)
    chosen = peaks(times, novelty, NOVELTY_MIN, NOVELTY_GAP_S)
    return [Candidate(float(times[i]), "novelty", float(novelty[i])) for i in chosen]


# --- actors and speech ------------------------------------------------------------------------


def actor_intervals_of(items: Iterable[Actor | Track]) -> list[tuple[tuple[float, float], ...]]:
    """On-screen intervals per actor (Actor.intervals) or per track (first to last sighting)."""
    return [item.intervals if isinstance(item, Actor) else ((item.t0, item.t1),) for item in items]


def actor_events(
    intervals: Iterable[Sequence[tuple[float, float]]], *, video_start: float, video_end: float
) -> list[Candidate]:
    """`actor_enter` at each actor's first appearance, `actor_exit` at the end of its final interval.

    Gaps between one actor's intervals are occlusions or missed detections, not events. An actor
    within `ACTOR_EDGE_S` of the start enters with `ACTOR_AT_START_STRENGTH`; one still on screen
    within `ACTOR_EDGE_S` of the end does not exit.
    """
    candidates = []
    for spans in intervals:
        ordered = sorted((float(a), float(b)) for a, b in spans if b >= a)
        if not ordered:
            continue
        first, last = ordered[0][0], max(b for _, b in ordered)
        at_start = first <= video_start + ACTOR_EDGE_S
        candidates.append(Candidate(first, "actor_enter", ACTOR_AT_START_STRENGTH if at_start else 1.0))
        if last < video_end - ACTOR_EDGE_S:
            candidates.append(Candidate(last, "actor_exit", 1.0))
    return candidates


def speech_onsets(spans: Iterable[TranscriptSpan], min_silence_s: float = SPEECH_SILENCE_S) -> list[Candidate]:
    """The first speech, and every span that starts after at least `min_silence_s` of silence."""
    candidates, previous_end = [], -math.inf
    for span in sorted(spans, key=lambda s: (s.t0, s.t1)):
        if span.t0 - previous_end >= min_silence_s:
            candidates.append(Candidate(float(span.t0), "speech_onset", 1.0))
        previous_end = max(previous_end, float(span.t1))
    return candidates


def head_candidates(head: "TriggerHead", features: FrameFeatures, **clip: Any) -> list[Candidate]:
    """Peaks of the trained head's per-frame probability (one per `HEAD_PEAK_RADIUS_S`)."""
    scores = head.scores(features, **clip)
    chosen = peaks(features.times, scores, HEAD_MIN, HEAD_PEAK_RADIUS_S)
    return [Candidate(float(features.times[i]), "trained_head", float(scores[i])) for i in chosen]


# --- fusion -----------------------------------------------------------------------------------


def _weighted(candidate: Candidate) -> float:
    """A candidate's worth on its own: its reason's weight times its clipped strength."""
    return REASON_WEIGHTS[candidate.reason] * min(1.0, max(0.0, candidate.strength))


def fuse(group: Sequence[Candidate], fps: float) -> Trigger:
    """One trigger from nearby candidates: the strongest one's time, noisy-OR confidence, every reason."""
    best: dict[str, float] = {}
    for candidate in group:
        best[candidate.reason] = max(best.get(candidate.reason, 0.0), _weighted(candidate))
    confidence = 1.0 - math.prod(1.0 - value for value in best.values())
    lead = max(group, key=lambda c: (_weighted(c), -c.time))
    reasons = tuple(sorted(best, key=lambda r: (-best[r], REASONS.index(r))))
    timestamp = round(lead.time, 3)
    return Trigger(timestamp, int(round(timestamp * fps)), round(confidence, 4), reasons)


def merge_candidates(candidates: Iterable[Candidate], fps: float, window_s: float = MERGE_S) -> list[Trigger]:
    """Chain candidates closer than `window_s` into groups and fuse each into one trigger."""
    groups: list[list[Candidate]] = []
    for candidate in sorted(candidates, key=lambda c: (c.time, REASONS.index(c.reason))):
        if groups and candidate.time - groups[-1][-1].time <= window_s:
            groups[-1].append(candidate)
        else:
            groups.append([candidate])
    return [fuse(group, fps) for group in groups]


def allowed_segments(segment_count: int, budget: float) -> int:
    """How many segments may hold a trigger: floor(budget x count), but at least one when budget > 0."""
    if segment_count <= 0 or budget <= 0:
        return 0
    return max(1, math.floor(budget * segment_count + 1e-9))


def segment_index(bounds: Sequence[tuple[float, float]], time: float) -> int:
    """Index of the segment holding `time` (sorted segments; outside them, the nearest one)."""
    starts = np.array([t0 for t0, _ in bounds], dtype=np.float64)
    return int(np.clip(np.searchsorted(starts, time, side="right") - 1, 0, len(bounds) - 1))


def enforce_budget(
    triggers: Sequence[Trigger], segment_bounds: Sequence[tuple[float, float]], budget: float
) -> list[Trigger]:
    """Keep the triggers of at most `allowed_segments` segments: those whose best trigger is most confident."""
    bounds = sorted((float(a), float(b)) for a, b in segment_bounds)
    if not bounds:
        return sorted(triggers, key=lambda t: t.timestamp)
    by_segment: dict[int, list[Trigger]] = {}
    for trigger in triggers:
        by_segment.setdefault(segment_index(bounds, trigger.timestamp), []).append(trigger)
    ranked = sorted(by_segment, key=lambda s: (-max(t.confidence for t in by_segment[s]), s))
    kept = [t for s in ranked[: allowed_segments(len(bounds), budget)] for t in by_segment[s]]
    return sorted(kept, key=lambda t: t.timestamp)


def collect_candidates(
    features: FrameFeatures,
    *,
    clip_times: np.ndarray | None = None,
    clip_vectors: np.ndarray | None = None,
    actor_intervals: Iterable[Sequence[tuple[float, float]]] = (),
    speech: Iterable[TranscriptSpan] = (),
    head: "TriggerHead | None" = None,
) -> list[Candidate]:
    """Every cue's candidates, unmerged and unthresholded (what `detect_triggers` fuses)."""
    start = float(features.times[0]) if len(features) else 0.0
    end = float(features.times[-1]) if len(features) else 0.0
    candidates = detect_cuts(features) + detect_dissolves(features)
    candidates += novelty_candidates(features, clip_times, clip_vectors)
    candidates += actor_events(actor_intervals, video_start=start, video_end=end)
    candidates += speech_onsets(speech)
    if head is not None:
        candidates += head_candidates(head, features, clip_times=clip_times, clip_vectors=clip_vectors)
    return candidates


def _check_knobs(fps: float, threshold: float, budget: float) -> None:
    """Reject a non-positive fps, or a threshold or budget outside 0..1, with a one-line message."""
    if not fps > 0:
        raise InvalidRequest(f"trigger detection: fps must be positive, got {fps}")
    if not 0.0 <= threshold <= 1.0:
        raise InvalidRequest(f"trigger detection: threshold must be within 0..1, got {threshold}")
    if not 0.0 <= budget <= 1.0:
        raise InvalidRequest(f"trigger detection: budget must be within 0..1, got {budget}")


def detect_triggers(
    features: FrameFeatures,
    *,
    clip_times: np.ndarray | None = None,
    clip_vectors: np.ndarray | None = None,
    actor_intervals: Iterable[Sequence[tuple[float, float]]] = (),
    speech: Iterable[TranscriptSpan] = (),
    segment_bounds: Sequence[tuple[float, float]],
    fps: float,
    threshold: float = DEFAULT_THRESHOLD,
    budget: float = DEFAULT_BUDGET,
    head: "TriggerHead | None" = None,
) -> list[Trigger]:
    """The triggers of one video, by time: candidates merged, thresholded, then held to the segment budget.

    `fps` is the video's frame rate (for `frame_index`); `segment_bounds` the (t0, t1) segments the
    budget counts.
    """
    _check_knobs(fps, threshold, budget)
    candidates = collect_candidates(
        features,
        clip_times=clip_times,
        clip_vectors=clip_vectors,
        actor_intervals=actor_intervals,
        speech=speech,
        head=head,
    )
    triggers = [t for t in merge_candidates(candidates, fps) if t.confidence >= threshold]
    return enforce_budget(triggers, segment_bounds, budget)


def trigger_report(
    video_path: Path | str, num_frames_analyzed: int, triggers: Sequence[Trigger], video_summary: str = ""
) -> dict[str, Any]:
    """The seed's JSON output; `analysis` and `video_summary` are empty when no captioner or VLM wrote them."""
    return {
        "video_path": str(video_path),
        "num_frames_analyzed": int(num_frames_analyzed),
        "num_triggers_detected": len(triggers),
        "triggers": [trigger.to_dict() for trigger in sorted(triggers, key=lambda t: t.timestamp)],
        "video_summary": video_summary,
    }
