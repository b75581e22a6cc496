"""Building the actor graph of one video from its actors, their boxes and its transcript: actor, object and
track nodes, temporal self-loops, spatial and interaction edges between co-present nodes, speech nodes.

`build_actor_graph` reads an ingested video through `GraphSource` (which the memory read side, VideoMemory,
provides), so this package never imports the memory read side.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import networkx as nx
import numpy as np

from core.types import Actor, Track, TranscriptSpan, VideoRef
from memory.actor_graph.persist import GRAPH_VERSION
from memory.actor_graph.presence import (
    Node,
    Samples,
    Span,
    intersect,
    merge_spans,
    presence_intervals,
    sample_period,
)
from memory.actor_graph.speakers import add_speech
from memory.objects import CONFIDENT

if TYPE_CHECKING:
    from core.settings import Settings

PERSON = "person"
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
    runs = intersect(merge_spans(cells, bridge=INTERACTION_GAP_S), spans)
    return [(round(a, 3), round(b, 3)) for a, b in runs if b - a >= INTERACTION_MIN_S - 1e-9]


def _node_attributes(node: Node, ref: VideoRef) -> dict[str, Any]:
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


def _pair_edges(first: Node, second: Node, ref: VideoRef) -> list[dict[str, Any]]:
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


def build_graph(
    actors: Sequence[Actor],
    tracks: Sequence[Track],
    transcript: Sequence[TranscriptSpan],
    ref: VideoRef,
    period: float | None = None,
    cuts: Sequence[float] = (),
    objects: Sequence[Track] = (),
    object_period: float | None = None,
) -> nx.MultiDiGraph:
    """The actor graph of one video from its actors, their (cut-split) tracks and its transcript.

    `period` is the detector's sampling period in seconds (default: the smallest step seen in the tracks);
    `cuts` are the shot cut times, which presence never extends across. `objects` are the object stage's COCO
    tracks (sampled every `object_period` s): each becomes an `object` node `coco:<track id>`, with the same
    co-occurrence and proximity edges to the people as any other node.
    """
    period = period if period is not None else sample_period(tracks)
    by_id = {t.track_id: t for t in tracks}
    nodes: list[Node] = []
    covered: set[int] = set()
    for actor in actors:
        members = [by_id[i] for i in actor.track_ids if i in by_id]
        covered.update(actor.track_ids)
        if not members:
            continue
        kind = "actor" if actor.label == PERSON else "object"
        nodes.append(
            Node(
                f"{kind}:{actor.actor_id}",
                kind,
                actor.label,
                actor.actor_id,
                members,
                Samples.of(members),
                presence_intervals(members, period, ref.duration, cuts),
                actor,
            )
        )
    for track in tracks:
        if track.track_id not in covered and track.times:
            nodes.append(
                Node(
                    f"track:{track.track_id}",
                    "object",
                    track.label,
                    None,
                    [track],
                    Samples.of([track]),
                    presence_intervals([track], period, ref.duration, cuts),
                    None,
                )
            )

    for item in objects:
        if item.label == PERSON or not (len(item.times) >= 2 or item.peak_confidence >= CONFIDENT):
            continue  # people are the actors; a lone unsure detection is flicker (memory.objects' rule)
        step = object_period if object_period is not None else sample_period([item])
        nodes.append(
            Node(f"coco:{item.track_id}", "object", item.label, None, [item], Samples.of([item]),
                 presence_intervals([item], step, ref.duration, cuts), None)  # fmt: skip
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
    add_speech(graph, transcript, [n for n in nodes if n.kind == "actor"], ref)
    return graph


class GraphSource(Protocol):
    """What `build_actor_graph` reads of an ingested video (the read side's VideoMemory is one)."""

    @property
    def ref(self) -> VideoRef: ...

    @property
    def settings(self) -> Settings: ...

    def actors(self) -> Sequence[Actor]: ...

    def tracks(self) -> Sequence[Track]: ...

    def transcript(self) -> Sequence[TranscriptSpan]: ...

    def shot_cuts(self) -> Sequence[float]: ...

    def object_tracks(self) -> Sequence[Track]: ...


def build_actor_graph(memory: GraphSource) -> nx.MultiDiGraph:
    """The actor graph of an ingested video (what the `graph` ingest stage saves)."""
    ref = memory.ref
    period = max(1.0 / memory.settings.detector_fps, 1.0 / ref.fps if ref.fps > 0 else 0.0)
    object_period = max(1.0 / memory.settings.objects_fps, 1.0 / ref.fps if ref.fps > 0 else 0.0)
    return build_graph(memory.actors(), memory.tracks(), memory.transcript(), ref, period, memory.shot_cuts(),
                       memory.object_tracks(), object_period)  # fmt: skip
