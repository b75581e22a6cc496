"""What a timeline shows of one video's memory, gathered once for the PNG picture and the terminal strip.

Lanes, top to bottom: segments coloured by scene cluster (a recurring scene has one colour wherever
it appears) with every shot boundary, trigger moments marked by their first cause, speech spans, the
spans text is shown in the picture (only for a video with text read on screen), and one lane per actor
with the intervals they are on screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_ACTOR_LANES = 24
SCENE_COLOURS = (
    "#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#ff9896", "#9467bd", "#c5b0d5",
    "#8c564b", "#c49c94", "#e377c2", "#f7b6d2", "#7f7f7f", "#c7c7c7", "#bcbd22", "#dbdb8d", "#17becf", "#9edae5",
)  # fmt: skip
"""One colour per scene cluster id (modulo 20): matplotlib's tab20 palette, as hex."""
UNCLUSTERED_COLOUR = "#cccccc"
SCREEN_TEXT_COLOUR = "#e6a817"
"""The lane of text shown in the picture, in both renderers."""
REASON_COLOURS = {
    "shot_cut": "#d62728", "dissolve": "#ff7f0e", "novelty": "#9467bd", "actor_enter": "#2ca02c",
    "actor_exit": "#8c564b", "speech_onset": "#1f77b4", "trained_head": "#e377c2",
}  # fmt: skip


@dataclass(frozen=True)
class SceneSpan:
    """One segment's span and the scene cluster it belongs to (None before clustering)."""

    t0: float
    t1: float
    cluster: int | None

    @property
    def colour(self) -> str:
        return scene_colour(self.cluster)


@dataclass(frozen=True)
class TriggerMark:
    """A moment chosen for expensive analysis and its first cause."""

    time: float
    reason: str

    @property
    def colour(self) -> str:
        return REASON_COLOURS.get(self.reason, "#000000")


@dataclass(frozen=True)
class ActorLane:
    """One actor and the intervals they are on screen."""

    actor_id: int
    intervals: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class TimelineLanes:
    """Everything a timeline draws of one video, in video seconds."""

    video_id: str
    name: str
    duration: float
    scenes: tuple[SceneSpan, ...]
    triggers: tuple[TriggerMark, ...]
    speech: tuple[tuple[float, float], ...]
    actors: tuple[ActorLane, ...]
    """At most the requested number of lanes; `actor_count` says how many actors there are in all."""
    actor_count: int
    scene_labels: tuple[tuple[int, str], ...]
    """(cluster id, label) of each scene cluster, in cluster order."""
    shots: tuple[float, ...] = ()
    """Every shot boundary (cut or dissolve), whether or not the trigger budget kept it."""
    screen_text: tuple[tuple[float, float], ...] = ()
    """While each text read in the picture is shown (first, last read); empty: no lane is drawn."""

    @property
    def scene_count(self) -> int:
        return len(self.scene_labels)

    def summary(self) -> str:
        """'7 segments, 3 scenes, 1 trigger, 2 actors' for titles."""
        counts = ((len(self.scenes), "segment"), (self.scene_count, "scene"), (len(self.triggers), "trigger"),
                  (self.actor_count, "actor"))  # fmt: skip
        return ", ".join(f"{n} {word}{'' if n == 1 else 's'}" for n, word in counts)


def scene_colour(cluster: int | None) -> str:
    """The colour of a scene cluster wherever it appears (grey for an unclustered segment)."""
    return SCENE_COLOURS[cluster % len(SCENE_COLOURS)] if cluster is not None else UNCLUSTERED_COLOUR


def timeline_lanes(memory: Any, max_actors: int = MAX_ACTOR_LANES) -> TimelineLanes:
    """Read the lanes of one video's memory (a `VideoMemory`), keeping the first `max_actors` actor lanes."""
    clusters = memory.clusters()
    scenes = tuple(
        SceneSpan(s.t0, s.t1, clusters.labels[s.index] if s.index < len(clusters.labels) else None)
        for s in memory.segments()
    )
    triggers = tuple(TriggerMark(t.timestamp, t.reasons[0] if t.reasons else "novelty") for t in memory.triggers())
    actors = memory.actors()
    return TimelineLanes(
        video_id=memory.ref.video_id,
        name=memory.ref.path.name,
        duration=max(float(memory.ref.duration), 1e-3),
        scenes=scenes,
        triggers=triggers,
        speech=tuple((s.t0, s.t1) for s in memory.transcript()),
        actors=tuple(ActorLane(a.actor_id, tuple(a.intervals)) for a in actors[:max_actors]),
        actor_count=len(actors),
        scene_labels=tuple((c.cluster_id, c.label) for c in clusters.clusters),
        shots=tuple(clusters.boundaries),
        screen_text=tuple((item.t0, item.t1) for item in memory.screen_text()),
    )
