"""Questions asked of a built actor graph: who is on screen when, with whom, how close, who likely speaks.
`ActorGraph` answers them in seconds with the plain records defined here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import networkx as nx

from core.errors import InvalidRequest
from core.types import format_timestamp
from memory.actor_graph.persist import GRAPH_VERSION
from memory.actor_graph.presence import Span


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
