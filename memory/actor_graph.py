"""The actor graph: who is on screen when, with whom, how close, and who is likely speaking.

A `networkx.MultiDiGraph` (directed so that an edge can say "from earlier to later" or "from a speech
span to a person"; multi so that one pair can hold a `spatial` and an `interaction` edge). Nodes:

  actor:N   a person (core.types.Actor with label `person`): label, intervals (interpolated presence),
            screen_time, keyframe, behaviours, track_ids, trajectory (normalised centres)
  object:N  an actor of another label (the real profile's COCO detector tracks cars, cups...): same fields
  track:N   a track no actor covers (kept so nothing the detector saw is dropped); same fields, no actor id
  speech:I  transcript span I: t0, t1, text, speaker (actor id or None) and speaker_confidence

Edges, each with a `kind`:

  temporal     self-loop on an actor for each gap between consecutive appearances (left, returned, gap):
               "actor 1 left at 4 s and came back at 7 s" reads straight off it
  spatial      between two nodes on screen at the same time: intervals, seconds, mean/min centre distance
               (normalised by the frame diagonal); one per pair, from the node whose id sorts first
  interaction  between two nodes whose centres stay under INTERACTION_DISTANCE box heights apart for at
               least INTERACTION_MIN_S: intervals, seconds, min distance (in box heights)
  speech       from a speech span to each person on screen while it is spoken: on-screen fraction, the
               visibility cues, confidence, likely_speaker

Presence is interpolated from the detector's samples (a few per second): a sample stands for half a
sampling period either side (the last sample of the video for the rest of it); a new track also for one
more period before it (ByteTrack confirms a track on its second detection, so the first is never
reported); gaps up to CONTINUOUS_GAP_S (or two periods) inside an actor count as continuous. On the
generated meeting video (evaluation.meeting_scenario) this puts the first meeting 0.25 s and the time
together 0.0 s from the truth at 2 detector fps, 0.18 s and 0.1 s at 4 fps.

Queries go through `ActorGraph`; the graph itself is persisted as node-link JSON (`save_graph`).

Speaker attribution uses what can be seen, not lips: the mouth region is not modelled (pose keypoints
cover nose, eyes and ears only), so the confidence never exceeds MAX_SPEAKER_CONFIDENCE.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import networkx as nx
import numpy as np

from core.errors import InvalidRequest, MemoryCorrupt
from core.types import Actor, Track, TranscriptSpan, VideoRef, format_timestamp
from memory.layout import read_json, write_json_atomic

if TYPE_CHECKING:
    from memory.video_memory import VideoMemory

GRAPH_VERSION = 2

PERSON = "person"
CONTINUOUS_GAP_S = 1.0
"""Gaps between an actor's detections up to this (or two sampling periods, if longer) are continuous presence."""
CONFIRMATION_SAMPLES = 1
"""Detections ByteTrack keeps to itself before a new track is reported: a new track started this many
sampling periods before its first sample."""
GRID_S = 0.1
"""Step of the time grid on which distances between two co-present nodes are measured."""
INTERACTION_DISTANCE = 1.0
"""Two nodes are close when their box centres are less than this many (mean) box heights apart: people
side by side, talking or handing something over; across a room they are 2-5 heights apart."""
INTERACTION_MIN_S = 2.0
"""Closeness must last at least this long (after bridging INTERACTION_GAP_S) to be an interaction."""
INTERACTION_GAP_S = 0.5
"""Moments of being a little further apart up to this long do not break an interaction."""
INTERACTION_FULL_S = 5.0
"""An interaction this long or longer gets full confidence (scaled by the detector's confidence)."""
TRAJECTORY_STEP_S = 0.5
"""Trajectories keep at most one centre position per this many seconds (they are for questions, not tracking)."""
VISIBLE = 0.5
"""Least keypoint visibility for a keypoint to count as seen."""
FACE_KEYPOINTS = (0, 1, 2, 3, 4)
"""COCO-17 nose, left eye, right eye, left ear, right ear."""
FRONTAL_KEYPOINTS = (0, 1, 2)
"""A face is frontal when the nose and both eyes are seen."""
SPEECH_BASE = 0.5
FACE_WEIGHT = 0.3
SIZE_WEIGHT = 0.2
"""Speaker cue of one person over a span: on-screen fraction x (SPEECH_BASE + FACE_WEIGHT x frontal share
+ SIZE_WEIGHT x size); a person seen whole, frontal and large scores 1."""
SIZE_FULL = 0.5
"""Box height (fraction of the frame height) at which the size cue is full."""
MAX_SPEAKER_CONFIDENCE = 0.9
"""Ceiling of any speaker confidence: nobody's mouth is observed, so a visible person may still be silent."""
NO_MOUTH_NOTE = (
    "speaker guessed from who is visible (on-screen time, face seen, box size); mouth movement is not observed"
)
NO_ONE_NOTE = "nobody on screen: an off-screen speaker or narrator"
STILL_NOTE = "only still pictures of people on screen, no body moves: the narrator or an off-screen voice"
STILL_POSE = 0.025
"""Median spread of a person's body keypoints within their box (fraction of the box) below which the person
is a still picture, never credited with speech. Measured with yolo11n-pose: the sample video's zoomed and
panned photos 0.012-0.014; the talking characters of opencv's Megamind.avi 0.033-0.090 (tracks of 12+
samples); the walkers of vtest.avi 0.068-0.244."""
MIN_POSE_SAMPLES = 3


# --- presence from sampled tracks -------------------------------------------------------------


Span = tuple[float, float]


def sample_period(tracks: Sequence[Track], fallback: float = 0.2) -> float:
    """The detector's sampling period: the smallest step between distinct sample times of any track."""
    steps = [float(s) for t in tracks for s in np.diff(np.unique(t.times)) if s > 1e-6]
    return min(steps) if steps else fallback


def continuous_gap(period: float) -> float:
    """Largest gap between detections still counted as continuous presence."""
    return max(CONTINUOUS_GAP_S, 2.0 * period)


def _merge(spans: Iterable[Span], bridge: float = 0.0) -> list[Span]:
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
    return [(round(a, 3), round(b, 3)) for a, b in _merge(clipped, bridge=max(0.0, limit - period)) if b > a]


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


def _overlap_seconds(spans: Sequence[Span], t0: float, t1: float) -> float:
    return sum(max(0.0, min(b, t1) - max(a, t0)) for a, b in spans)


@dataclass
class _Samples:
    """All detections of one node, by time: boxes (x1, y1, x2, y2), confidences, keypoints."""

    times: np.ndarray
    boxes: np.ndarray
    confidences: np.ndarray
    keypoints: list[tuple[tuple[float, float, float], ...]]

    @classmethod
    def of(cls, tracks: Sequence[Track]) -> _Samples:
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


def _centres(boxes: np.ndarray) -> np.ndarray:
    return np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], axis=1)


def _grid(spans: Sequence[Span]) -> np.ndarray:
    """Centres of the GRID_S cells covering each span (the last cell may stick out; its centre is clipped)."""
    points = [
        np.minimum(a + GRID_S * (np.arange(max(1, math.ceil((b - a) / GRID_S - 1e-9))) + 0.5), b) for a, b in spans
    ]
    return np.concatenate(points) if points else np.zeros(0)


def close_runs(times: np.ndarray, close: np.ndarray, spans: Sequence[Span]) -> list[Span]:
    """Stretches (within `spans`) where `close` holds on the grid `times`, bridged over INTERACTION_GAP_S
    and kept when at least INTERACTION_MIN_S long."""
    cells = [(float(t) - GRID_S / 2, float(t) + GRID_S / 2) for t in times[close]]
    runs = intersect(_merge(cells, bridge=INTERACTION_GAP_S), spans)
    return [(round(a, 3), round(b, 3)) for a, b in runs if b - a >= INTERACTION_MIN_S - 1e-9]


# --- speaker cues -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SpeakerCue:
    """How visible one person is while a span is spoken, and the resulting share of speaker evidence."""

    on_screen_fraction: float
    box_size: float
    """Mean box height over the span, as a fraction of the frame height."""
    face_visible: float
    """Mean share of the five face keypoints seen (0.5 when the model gives no keypoints)."""
    frontal: float
    """Share of samples with nose and both eyes seen (0.5 when unknown)."""

    @property
    def score(self) -> float:
        size = min(1.0, self.box_size / SIZE_FULL)
        return self.on_screen_fraction * (SPEECH_BASE + FACE_WEIGHT * self.frontal + SIZE_WEIGHT * size)


def speaker_confidences(scores: Sequence[float]) -> list[float]:
    """Confidence that each visible person speaks: their share of the visibility evidence, where evidence
    short of one whole visible person is left to an off-screen speaker, capped by MAX_SPEAKER_CONFIDENCE."""
    total = max(1.0, float(sum(scores)))
    return [round(MAX_SPEAKER_CONFIDENCE * s / total, 3) for s in scores]


def _cue(samples: _Samples, presence: Sequence[Span], span: TranscriptSpan, frame_height: float) -> SpeakerCue:
    length = max(span.t1 - span.t0, 1e-6)
    fraction = min(1.0, _overlap_seconds(presence, span.t0, span.t1) / length)
    rows = samples.within(span.t0, span.t1)
    if rows.size == 0:  # a short span between samples: the nearest ones
        rows = np.argsort(np.abs(samples.times - (span.t0 + span.t1) / 2))[:2]
    heights = samples.boxes[rows, 3] - samples.boxes[rows, 1]
    points = [samples.keypoints[r] for r in rows if len(samples.keypoints[r]) > max(FACE_KEYPOINTS)]
    if points:
        seen = np.array([[p[k][2] >= VISIBLE for k in FACE_KEYPOINTS] for p in points])
        face, frontal = float(seen.mean()), float(seen[:, list(FRONTAL_KEYPOINTS)].all(axis=1).mean())
    else:
        face = frontal = 0.5
    return SpeakerCue(
        round(fraction, 3), round(float(heights.mean()) / frame_height, 3), round(face, 3), round(frontal, 3)
    )


# --- building ---------------------------------------------------------------------------------


@dataclass
class _Node:
    """What the builder knows about one on-screen node before it becomes graph attributes."""

    node_id: str
    kind: str
    label: str
    actor_id: int | None
    tracks: list[Track]
    samples: _Samples
    presence: list[Span]
    actor: Actor | None


def _node_attributes(node: _Node, ref: VideoRef) -> dict[str, Any]:
    """JSON-native attributes of an actor/object/track node."""
    samples = node.samples
    centres = _centres(samples.boxes)
    trajectory: list[list[float]] = []
    for time, (cx, cy) in zip(samples.times, centres):
        if not trajectory or time - trajectory[-1][0] >= TRAJECTORY_STEP_S - 1e-9:
            trajectory.append(
                [round(float(time), 3), round(float(cx) / ref.width, 4), round(float(cy) / ref.height, 4)]
            )
    actor = node.actor
    areas = (samples.boxes[:, 2] - samples.boxes[:, 0]) * (samples.boxes[:, 3] - samples.boxes[:, 1])
    keyframe = (
        actor.keyframe
        if actor is not None and actor.keyframe is not None
        else float(samples.times[int(np.argmax(areas))])
    )
    return {
        "kind": node.kind,
        "actor_id": node.actor_id,
        "label": node.label,
        "track_ids": sorted(t.track_id for t in node.tracks),
        "intervals": [[a, b] for a, b in node.presence],
        "screen_time": round(sum(b - a for a, b in node.presence), 3),
        "detected": [list(i) for i in actor.intervals] if actor is not None else [],
        "keyframe": round(float(keyframe), 3),
        "behaviours": [b.to_dict() for b in actor.behaviours] if actor is not None else [],
        "mean_confidence": round(float(samples.confidences.mean()), 4),
        "trajectory": trajectory,
    }


def _pair_edges(first: _Node, second: _Node, ref: VideoRef) -> list[dict[str, Any]]:
    """The spatial edge (and interaction edge, if any) between two nodes; none when never together."""
    together = intersect(first.presence, second.presence)
    if not together:
        return []
    grid = _grid(together)
    box_a, box_b = first.samples.boxes_at(grid), second.samples.boxes_at(grid)
    pixels = np.linalg.norm(_centres(box_a) - _centres(box_b), axis=1)
    diagonal = math.hypot(ref.width, ref.height)
    heights = ((box_a[:, 3] - box_a[:, 1]) + (box_b[:, 3] - box_b[:, 1])) / 2
    in_heights = pixels / np.maximum(heights, 1.0)
    confidence = round(float((first.samples.confidences.mean() + second.samples.confidences.mean()) / 2), 3)
    seconds = round(sum(b - a for a, b in together), 3)
    edges = [{
        "kind": "spatial",
        "intervals": [[round(a, 3), round(b, 3)] for a, b in together],
        "seconds": seconds,
        "first": round(together[0][0], 3),
        "mean_distance": round(float(pixels.mean() / diagonal), 4),
        "min_distance": round(float(pixels.min() / diagonal), 4),
        "mean_distance_heights": round(float(in_heights.mean()), 3),
        "confidence": confidence,
    }]  # fmt: skip
    runs = close_runs(grid, in_heights < INTERACTION_DISTANCE, together)
    if runs:
        close = round(sum(b - a for a, b in runs), 3)
        edges.append({
            "kind": "interaction",
            "intervals": [[a, b] for a, b in runs],
            "seconds": close,
            "first": runs[0][0],
            "min_distance_heights": round(float(in_heights.min()), 3),
            "threshold_heights": INTERACTION_DISTANCE,
            "confidence": round(confidence * min(1.0, close / INTERACTION_FULL_S), 3),
        })  # fmt: skip
    return edges


def pose_motion(samples: _Samples, rows: np.ndarray | None = None) -> float | None:
    """How much a person's pose changes within their box: the median over steadily seen keypoints of the
    spread of their box-relative positions (None without keypoints, or with too few samples to tell)."""
    picked = range(len(samples.times)) if rows is None else rows
    points, boxes = [], []
    for r in picked:
        if len(samples.keypoints[r]) > max(FACE_KEYPOINTS):
            points.append(samples.keypoints[r])
            boxes.append(samples.boxes[r])
    if len(points) < MIN_POSE_SAMPLES:
        return None
    kp, box = np.asarray(points, dtype=np.float64), np.asarray(boxes, dtype=np.float64)
    width = np.maximum(box[:, 2] - box[:, 0], 1.0)[:, None]
    height = np.maximum(box[:, 3] - box[:, 1], 1.0)[:, None]
    x, y, seen = (kp[:, :, 0] - box[:, 0:1]) / width, (kp[:, :, 1] - box[:, 1:2]) / height, kp[:, :, 2] >= VISIBLE
    steady = [k for k in range(kp.shape[1]) if seen[:, k].mean() >= 0.5 and seen[:, k].sum() >= MIN_POSE_SAMPLES]
    if not steady:
        return None
    spreads = [float(np.hypot(x[seen[:, k], k].std(), y[seen[:, k], k].std())) for k in steady]
    return round(float(np.median(spreads)), 4)


def _still_picture(person: _Node, span: TranscriptSpan) -> bool:
    """Whether a person seen while a span is spoken is a still picture (a photo, a frozen frame), by the pose
    model's keypoints over the span (over their whole presence when the span has too few samples)."""
    motion = pose_motion(person.samples, person.samples.within(span.t0, span.t1))
    if motion is None:
        motion = pose_motion(person.samples)
    return motion is not None and motion < STILL_POSE


def _speech(graph: nx.MultiDiGraph, spans: Sequence[TranscriptSpan], people: Sequence[_Node], ref: VideoRef) -> None:
    """Add a speech node per span and speech edges to the people on screen while it is spoken; only a person
    who moves (not a still picture of one) may be credited with the words."""
    for index, span in enumerate(spans):
        node_id = f"speech:{index}"
        seen = [p for p in people if _overlap_seconds(p.presence, span.t0, span.t1) > 0]
        visible = [p for p in seen if not _still_picture(p, span)]
        cues = [_cue(p.samples, p.presence, span, ref.height) for p in visible]
        confidences = speaker_confidences([c.score for c in cues])
        best = max(range(len(visible)), key=lambda i: (cues[i].score, -i), default=None)
        speaker = visible[best].actor_id if best is not None else None
        graph.add_node(
            node_id,
            kind="speech",
            t0=round(span.t0, 3),
            t1=round(span.t1, 3),
            text=span.text,
            speaker=speaker,
            speaker_confidence=confidences[best] if best is not None else 0.0,
            on_screen=[p.actor_id for p in seen],
            still=[p.actor_id for p in seen if p not in visible],
            note=NO_MOUTH_NOTE if visible else STILL_NOTE if seen else NO_ONE_NOTE,
        )
        for person in seen:
            i = visible.index(person) if person in visible else None
            cue = cues[i] if i is not None else _cue(person.samples, person.presence, span, ref.height)
            graph.add_edge(
                node_id,
                person.node_id,
                kind="speech",
                on_screen_fraction=cue.on_screen_fraction,
                box_size=cue.box_size,
                face_visible=cue.face_visible,
                frontal=cue.frontal,
                score=round(cue.score, 3),
                confidence=confidences[i] if i is not None else 0.0,
                likely_speaker=i is not None and i == best,
                still=i is None,
            )


def build_graph(
    actors: Sequence[Actor],
    tracks: Sequence[Track],
    transcript: Sequence[TranscriptSpan],
    ref: VideoRef,
    period: float | None = None,
    cuts: Sequence[float] = (),
) -> nx.MultiDiGraph:
    """The actor graph of one video from its actors, their (cut-split) tracks and its transcript.

    `period` is the detector's sampling period in seconds (default: the smallest step seen in the tracks);
    `cuts` are the shot cut times, which presence never extends across.
    """
    period = period if period is not None else sample_period(tracks)
    by_id = {t.track_id: t for t in tracks}
    nodes: list[_Node] = []
    covered: set[int] = set()
    for actor in actors:
        members = [by_id[i] for i in actor.track_ids if i in by_id]
        covered.update(actor.track_ids)
        if not members:
            continue
        kind = "actor" if actor.label == PERSON else "object"
        nodes.append(
            _Node(
                f"{kind}:{actor.actor_id}",
                kind,
                actor.label,
                actor.actor_id,
                members,
                _Samples.of(members),
                presence_intervals(members, period, ref.duration, cuts),
                actor,
            )
        )
    for track in tracks:
        if track.track_id not in covered and track.times:
            nodes.append(
                _Node(
                    f"track:{track.track_id}",
                    "object",
                    track.label,
                    None,
                    [track],
                    _Samples.of([track]),
                    presence_intervals([track], period, ref.duration, cuts),
                    None,
                )
            )

    graph = nx.MultiDiGraph(
        version=GRAPH_VERSION,
        video_id=ref.video_id,
        duration=ref.duration,
        fps=ref.fps,
        width=ref.width,
        height=ref.height,
        sample_period=round(period, 4),
        interaction_distance=INTERACTION_DISTANCE,
        interaction_min_s=INTERACTION_MIN_S,
    )
    for node in nodes:
        graph.add_node(node.node_id, **_node_attributes(node, ref))
        for (_, left), (returned, _) in zip(node.presence, node.presence[1:]):
            graph.add_edge(
                node.node_id, node.node_id, kind="temporal", left=left, returned=returned, gap=round(returned - left, 3)
            )
    ordered = sorted(nodes, key=lambda n: n.node_id)
    for i, first in enumerate(ordered):
        for second in ordered[i + 1 :]:
            for attributes in _pair_edges(first, second, ref):
                graph.add_edge(first.node_id, second.node_id, **attributes)
    _speech(graph, transcript, [n for n in nodes if n.kind == "actor"], ref)
    return graph


def build_actor_graph(memory: VideoMemory) -> nx.MultiDiGraph:
    """The actor graph of an ingested video (what the `graph` ingest stage saves)."""
    ref = memory.ref
    period = max(1.0 / memory.settings.detector_fps, 1.0 / ref.fps if ref.fps > 0 else 0.0)
    return build_graph(memory.actors(), memory.tracks(), memory.transcript(), ref, period, memory.shot_cuts())


# --- persistence ------------------------------------------------------------------------------


def save_graph(graph: nx.MultiDiGraph, path: Path) -> None:
    """Write the graph as networkx node-link JSON, atomically."""
    write_json_atomic(Path(path), nx.node_link_data(graph, edges="edges"))


def load_graph(path: Path) -> nx.MultiDiGraph:
    """Read a graph written by `save_graph`; a missing, damaged or foreign file raises MemoryCorrupt."""
    path = Path(path)
    try:
        data = read_json(path)
    except OSError as error:
        raise MemoryCorrupt(
            f"{path}: actor graph cannot be read ({error.strerror or error}); re-ingest the video"
        ) from error
    try:
        graph = nx.node_link_graph(data, directed=True, multigraph=True, edges="edges")
        version = graph.graph["version"]
        _check_nodes(graph)
    except (KeyError, TypeError, ValueError, AttributeError, nx.NetworkXError) as error:
        raise MemoryCorrupt(
            f"{path}: actor graph is damaged ({error.__class__.__name__}); re-ingest the video"
        ) from error
    if not isinstance(graph, nx.MultiDiGraph) or version != GRAPH_VERSION:
        raise MemoryCorrupt(f"{path}: actor graph has an unknown format (version {version!r}); re-ingest the video")
    return graph


def _check_nodes(graph: nx.MultiDiGraph) -> None:
    """Raise KeyError/TypeError/ValueError when a node lacks what the queries read."""
    for _, data in graph.nodes(data=True):
        if data["kind"] == "speech":
            float(data["t0"]), float(data["t1"]), str(data["text"]), float(data["speaker_confidence"])
        else:
            [(float(a), float(b)) for a, b in data["intervals"]]
            [(float(t), float(x), float(y)) for t, x, y in data["trajectory"]]
            float(data["screen_time"]), float(data["keyframe"])


# --- queries ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """A stretch of time in seconds."""

    t0: float
    t1: float

    @property
    def seconds(self) -> float:
        return round(self.t1 - self.t0, 3)

    def __str__(self) -> str:
        return f"{format_timestamp(self.t0)}-{format_timestamp(self.t1)}"


@dataclass(frozen=True)
class ActorInfo:
    """One actor (or object) of the graph: what it is and when it is on screen."""

    actor_id: int
    label: str
    kind: str
    """`actor` (a person) or `object`."""
    intervals: tuple[Interval, ...]
    screen_time: float
    keyframe: float
    behaviours: tuple[str, ...]
    """Distinct behaviour labels (standing, walking...), in order of first occurrence."""


@dataclass(frozen=True)
class Presence:
    """An actor on screen within a queried window: first and last moment in it, and seconds present."""

    actor_id: int
    label: str
    t0: float
    t1: float
    seconds: float


@dataclass(frozen=True)
class Together:
    """When two actors share the screen, and how close they are (distances normalised by the frame diagonal)."""

    a: int
    b: int
    intervals: tuple[Interval, ...]
    seconds: float
    mean_distance: float | None
    min_distance: float | None
    interaction: tuple[Interval, ...]
    """Stretches of sustained close proximity (INTERACTION_DISTANCE box heights for INTERACTION_MIN_S)."""

    @property
    def interaction_seconds(self) -> float:
        return round(sum(i.seconds for i in self.interaction), 3)


@dataclass(frozen=True)
class Meeting:
    """Two actors' first time on screen together, and their first close interaction if they had one."""

    a: int
    b: int
    time: float
    interaction_time: float | None
    seconds_together: float


class Companion(NamedTuple):
    """Another actor and how many seconds they share the screen with the queried one."""

    actor_id: int
    seconds: float


class TrajectoryPoint(NamedTuple):
    """An actor's box centre at time t, normalised to 0-1 of the frame width and height."""

    t: float
    cx: float
    cy: float


class Speaker(NamedTuple):
    """The likely speaker at a moment (None when nobody is on screen or nobody speaks) and how sure."""

    actor_id: int | None
    confidence: float


@dataclass(frozen=True)
class SpokenLine:
    """A transcript span spoken while an actor was on screen, and how likely that actor said it."""

    t0: float
    t1: float
    text: str
    on_screen_fraction: float
    confidence: float
    likely_speaker: bool
    speaker: int | None
    """The span's likely speaker overall (maybe another actor)."""


@dataclass(frozen=True)
class SpokenBy:
    """A transcript span and who likely said it: an actor id, or None for the narrator / an off-screen voice."""

    t0: float
    t1: float
    text: str
    speaker: int | None
    confidence: float
    note: str
    """How the speaker was judged (a guess from visibility, nobody on screen, only still pictures)."""


class ActorGraph:
    """Queries over an actor graph, in seconds, returning plain records. Unknown actor ids raise InvalidRequest."""

    def __init__(self, graph: nx.MultiDiGraph) -> None:
        self.graph = graph
        self._by_actor = {
            int(data["actor_id"]): node
            for node, data in graph.nodes(data=True)
            if data.get("kind") in ("actor", "object") and data.get("actor_id") is not None
        }

    @classmethod
    def empty(cls) -> ActorGraph:
        """The graph of a video without the `graph` stage (or without anyone on screen)."""
        return cls(nx.MultiDiGraph(version=GRAPH_VERSION))

    @property
    def is_empty(self) -> bool:
        return not self._by_actor

    @property
    def actor_ids(self) -> list[int]:
        return sorted(self._by_actor)

    def _node(self, actor_id: int) -> str:
        node = self._by_actor.get(int(actor_id))
        if node is None:
            valid = ", ".join(str(i) for i in self.actor_ids) or "none (no actors in this video)"
            raise InvalidRequest(f"unknown actor {actor_id}; valid actor ids: {valid}")
        return node

    def _data(self, actor_id: int) -> dict[str, Any]:
        return self.graph.nodes[self._node(actor_id)]

    def _spans(self, node: str) -> list[Span]:
        return [(float(a), float(b)) for a, b in self.graph.nodes[node]["intervals"]]

    def _edge(self, a: int, b: int, kind: str) -> dict[str, Any] | None:
        first, second = self._node(a), self._node(b)
        for u, v in ((first, second), (second, first)):
            for data in (self.graph.get_edge_data(u, v) or {}).values():
                if data.get("kind") == kind:
                    return data
        return None

    def actors(self) -> list[ActorInfo]:
        """Every actor and object with an actor id, by id."""
        return [self.actor(i) for i in self.actor_ids]

    def actor(self, actor_id: int) -> ActorInfo:
        """One actor's record."""
        data = self._data(actor_id)
        labels = list(dict.fromkeys(b["label"] for b in sorted(data["behaviours"], key=lambda b: b["t0"])))
        return ActorInfo(
            actor_id=int(actor_id),
            label=data["label"],
            kind=data["kind"],
            intervals=tuple(Interval(a, b) for a, b in self._spans(self._node(actor_id))),
            screen_time=float(data["screen_time"]),
            keyframe=float(data["keyframe"]),
            behaviours=tuple(labels),
        )

    def appearances(self, actor_id: int) -> list[Interval]:
        """When an actor is on screen: one interval per appearance."""
        return [Interval(a, b) for a, b in self._spans(self._node(actor_id))]

    def on_screen(self, t0: float, t1: float) -> list[Presence]:
        """Who appears between t0 and t1 (inclusive), by first moment in the window then id."""
        if t1 < t0:
            raise InvalidRequest(f"time window ends before it starts: {t0} s to {t1} s")
        found: list[Presence] = []
        for actor_id, node in self._by_actor.items():
            inside = [(max(a, t0), min(b, t1)) for a, b in self._spans(node) if a <= t1 and b >= t0]
            if inside:
                seconds = round(sum(b - a for a, b in inside), 3)
                found.append(
                    Presence(
                        actor_id, self.graph.nodes[node]["label"], float(inside[0][0]), float(inside[-1][1]), seconds
                    )
                )
        return sorted(found, key=lambda p: (p.t0, p.actor_id))

    def actors_at(self, t: float) -> list[int]:
        """Ids of the actors on screen at time t."""
        return sorted(p.actor_id for p in self.on_screen(t, t))

    def together(self, a: int, b: int) -> Together:
        """When actors a and b share the screen (empty intervals and 0 s when never)."""
        if self._node(a) == self._node(b):
            raise InvalidRequest(f"together() needs two different actors, got {a} twice")
        spatial, interaction = self._edge(a, b, "spatial"), self._edge(a, b, "interaction")
        intervals = tuple(Interval(x, y) for x, y in spatial["intervals"]) if spatial else ()
        return Together(
            a=int(a),
            b=int(b),
            intervals=intervals,
            seconds=float(spatial["seconds"]) if spatial else 0.0,
            mean_distance=float(spatial["mean_distance"]) if spatial else None,
            min_distance=float(spatial["min_distance"]) if spatial else None,
            interaction=tuple(Interval(x, y) for x, y in interaction["intervals"]) if interaction else (),
        )

    def companions(self, actor_id: int) -> list[Companion]:
        """The other actors seen with this one, most seconds together first (ties by id)."""
        node = self._node(actor_id)
        found: list[Companion] = []
        for other_id, other in self._by_actor.items():
            if other == node:
                continue
            edge = self._edge(actor_id, other_id, "spatial")
            if edge is not None:
                found.append(Companion(other_id, float(edge["seconds"])))
        return sorted(found, key=lambda c: (-c.seconds, c.actor_id))

    def first_meeting(self, a: int, b: int) -> float | None:
        """First time actors a and b are both on screen, or None when they never are (see `meeting`)."""
        found = self.meeting(a, b)
        return found.time if found is not None else None

    def meeting(self, a: int, b: int) -> Meeting | None:
        """The first co-presence of a and b with the start of their first close interaction, if any."""
        together = self.together(a, b)
        if not together.intervals:
            return None
        interaction = together.interaction[0].t0 if together.interaction else None
        return Meeting(int(a), int(b), together.intervals[0].t0, interaction, together.seconds)

    def trajectory(self, actor_id: int) -> list[TrajectoryPoint]:
        """The actor's box centre over time (0-1 of the frame), at most one point per TRAJECTORY_STEP_S."""
        return [TrajectoryPoint(float(t), float(x), float(y)) for t, x, y in self._data(actor_id)["trajectory"]]

    def _speech_nodes(self) -> list[tuple[str, dict[str, Any]]]:
        nodes = [(n, d) for n, d in self.graph.nodes(data=True) if d.get("kind") == "speech"]
        return sorted(nodes, key=lambda item: (item[1]["t0"], item[0]))

    def said_while_on_screen(self, actor_id: int) -> list[SpokenLine]:
        """Transcript spans spoken while the actor was on screen, in time order, with speaker confidence."""
        node = self._node(actor_id)
        lines: list[SpokenLine] = []
        for speech, data in self._speech_nodes():
            for edge in (self.graph.get_edge_data(speech, node) or {}).values():
                if edge.get("kind") == "speech":
                    lines.append(
                        SpokenLine(
                            float(data["t0"]),
                            float(data["t1"]),
                            data["text"],
                            float(edge["on_screen_fraction"]),
                            float(edge["confidence"]),
                            bool(edge["likely_speaker"]),
                            data["speaker"],
                        )
                    )
        return lines

    def spoken_lines(self, window: tuple[float, float] | None = None) -> list[SpokenBy]:
        """Every transcript span (in `window`), in time order, with its likely speaker and why."""
        lines = []
        for _, data in self._speech_nodes():
            if window is None or (data["t0"] <= window[1] and data["t1"] >= window[0]):
                lines.append(SpokenBy(float(data["t0"]), float(data["t1"]), data["text"], data["speaker"],
                                      float(data["speaker_confidence"]), str(data.get("note", ""))))  # fmt: skip
        return lines

    def speaker_of(self, t: float) -> Speaker:
        """Who likely speaks at time t: (actor id, confidence); (None, 0.0) without speech or anyone visible."""
        for _, data in self._speech_nodes():
            if data["t0"] <= t <= data["t1"]:
                return Speaker(data["speaker"], float(data["speaker_confidence"]))
        return Speaker(None, 0.0)
