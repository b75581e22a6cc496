"""The actor graph in the VideoSpatioTemporal data format (entities, relationships, events), so tools
built for that format can read what vidsage found; `main.py inspect VIDEO --what graph --json` prints it.

Frames are video frame indices (round(time x fps)); boxes are [x, y, w, h] in pixels. Entities are the
graph's actors and objects (entity_id = actor id; tracks outside any actor get ids after the last
actor). `actions` and `speech` are per listed frame: the behaviours active then ("+"-joined, "none"
when no pose behaviour was read) and whether the entity is the likely speaker of a span spoken then.
Relationships are `co_present` (a spatial edge) and `interacts` (an interaction edge); events are
`meeting` (a pair's first co-presence), `conversation` (speech while two or more people are on screen),
`enters` and `leaves` (an appearance starting after the first frame or ending before the last).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import networkx as nx

from core.types import Track, format_timestamp
from memory.actor_graph.build import build_actor_graph

if TYPE_CHECKING:
    from memory.video_memory import VideoMemory

NO_ACTION = "none"


def _frame(t: float, fps: float, num_frames: int) -> int:
    return min(max(round(t * fps), 0), max(num_frames - 1, 0))


def _graph_of(memory: VideoMemory) -> nx.MultiDiGraph:
    """The stored graph, or one built on the spot when the `graph` stage has not run."""
    if memory.run_id("graph") is not None:
        return memory.actor_graph().graph
    return build_actor_graph(memory)


def _entity_ids(graph: nx.MultiDiGraph) -> dict[str, int]:
    """Graph node -> seed entity id: the actor id, or ids after the largest one for bare tracks."""
    ids: dict[str, int] = {}
    nodes = [(n, d) for n, d in graph.nodes(data=True) if d.get("kind") in ("actor", "object")]
    for node, data in nodes:
        if data.get("actor_id") is not None:
            ids[node] = int(data["actor_id"])
    next_id = max(ids.values(), default=0) + 1
    for node, data in sorted(nodes, key=lambda item: item[0]):
        if node not in ids:
            ids[node] = next_id
            next_id += 1
    return ids


def _speaking(graph: nx.MultiDiGraph) -> dict[int | None, list[tuple[float, float]]]:
    """Likely speaker -> the spans they are the likely speaker of."""
    spans: dict[int | None, list[tuple[float, float]]] = {}
    for _, data in graph.nodes(data=True):
        if data.get("kind") == "speech" and data.get("speaker") is not None:
            spans.setdefault(int(data["speaker"]), []).append((float(data["t0"]), float(data["t1"])))
    return spans


def _entity(
    node_data: dict[str, Any],
    entity_id: int,
    tracks: list[Track],
    fps: float,
    num_frames: int,
    speaking: list[tuple[float, float]],
) -> dict[str, Any]:
    """One seed entity from a graph node and its tracks' detections."""
    rows: dict[int, tuple[float, tuple[float, float, float, float]]] = {}
    for track in tracks:
        for time, box in zip(track.times, track.boxes):
            rows.setdefault(_frame(time, fps, num_frames), (time, box))
    frames = sorted(rows)
    behaviours = node_data.get("behaviours", [])
    actions, speech, bboxes = [], [], []
    for frame in frames:
        time, (x1, y1, x2, y2) = rows[frame]
        active = sorted({b["label"] for b in behaviours if b["t0"] <= time <= b["t1"]})
        actions.append("+".join(active) or NO_ACTION)
        speech.append(any(t0 <= time <= t1 for t0, t1 in speaking))
        bboxes.append([round(x1, 2), round(y1, 2), round(x2 - x1, 2), round(y2 - y1, 2)])
    return {
        "entity_id": entity_id,
        "entity_type": node_data["label"],
        "frames": frames,
        "bboxes": bboxes,
        "actions": actions,
        "speech": speech,
    }


def _relationships(graph: nx.MultiDiGraph, ids: dict[str, int]) -> list[dict[str, Any]]:
    kinds = {"spatial": "co_present", "interaction": "interacts"}
    found = [
        {
            "entity1_id": ids[a],
            "entity2_id": ids[b],
            "relationship_type": kinds[data["kind"]],
            "confidence": float(data["confidence"]),
            "duration": float(data["seconds"]),
        }
        for a, b, data in graph.edges(data=True)
        if data.get("kind") in kinds and a in ids and b in ids
    ]
    return sorted(found, key=lambda r: (r["entity1_id"], r["entity2_id"], r["relationship_type"]))


def _name(data: dict[str, Any], entity_id: int) -> str:
    """How descriptions name an entity: `actor N` for people, `<label> N` for objects."""
    return f"actor {entity_id}" if data.get("kind") == "actor" else f"{data['label']} {entity_id}"


def _events(graph: nx.MultiDiGraph, ids: dict[str, int], fps: float, num_frames: int) -> list[dict[str, Any]]:
    duration = float(graph.graph.get("duration", 0.0))
    found: list[dict[str, Any]] = []

    def add(kind: str, t: float, entities: list[int], description: str, confidence: float) -> None:
        found.append(
            {
                "event_type": kind,
                "frame_id": _frame(t, fps, num_frames),
                "time": round(t, 3),
                "entities_involved": entities,
                "description": description,
                "confidence": round(confidence, 3),
            }
        )

    for node, data in graph.nodes(data=True):
        if node not in ids:
            continue
        name, confidence = _name(data, ids[node]), float(data["mean_confidence"])
        for t0, t1 in data["intervals"]:
            if t0 > 0.0:
                add("enters", t0, [ids[node]], f"{name} enters at {format_timestamp(t0)}", confidence)
            if t1 < duration:
                add("leaves", t1, [ids[node]], f"{name} leaves at {format_timestamp(t1)}", confidence)
    for a, b, data in graph.edges(data=True):
        if data.get("kind") == "spatial" and a in ids and b in ids:
            t = float(data["first"])
            names = f"{_name(graph.nodes[a], ids[a])} and {_name(graph.nodes[b], ids[b])}"
            add(
                "meeting",
                t,
                [ids[a], ids[b]],
                f"{names} first on screen together at {format_timestamp(t)}",
                float(data["confidence"]),
            )
    for node, data in graph.nodes(data=True):
        if data.get("kind") != "speech":
            continue
        edges = [(target, edge) for _, target, edge in graph.out_edges(node, data=True) if edge.get("kind") == "speech"]
        if len(edges) < 2:
            continue
        fractions = sorted((float(edge["on_screen_fraction"]) for _, edge in edges), reverse=True)
        people = sorted(ids[target] for target, _ in edges if target in ids)
        add(
            "conversation",
            float(data["t0"]),
            people,
            f'speech while {len(people)} people are on screen: "{data["text"].strip()}"',
            fractions[1],
        )
    found.sort(key=lambda e: (e["time"], e["event_type"], e["entities_involved"]))
    return [{"event_id": index, **event} for index, event in enumerate(found)]


def seed_graph_json(memory: VideoMemory) -> dict[str, Any]:
    """The video's actors, relationships and events in the seed's JSON format (JSON-native values)."""
    ref = memory.ref
    graph = _graph_of(memory)
    ids = _entity_ids(graph)
    by_track = {t.track_id: t for t in memory.tracks()}
    speaking = _speaking(graph)
    entities = []
    for node, entity_id in sorted(ids.items(), key=lambda item: item[1]):
        data = graph.nodes[node]
        tracks = [by_track[i] for i in data.get("track_ids", []) if i in by_track]
        entities.append(
            _entity(data, entity_id, tracks, ref.fps, ref.num_frames, speaking.get(data.get("actor_id"), []))
        )
    return {
        "video_id": ref.video_id,
        "video_path": str(ref.path),
        "num_frames": ref.num_frames,
        "duration": ref.duration,
        "entities": entities,
        "relationships": _relationships(graph, ids),
        "events": _events(graph, ids, ref.fps, ref.num_frames),
    }
