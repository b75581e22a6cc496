"""What ingest writes and memory reads back: segment captions and scene clusters, as stored records.

The write side (`memory.ingest`) makes them; the read side (`VideoMemory`, tools) loads them from JSON.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from core.types import Trigger


@dataclass(frozen=True)
class SegmentCaption:
    """What the captioning models said about one segment."""

    index: int
    t0: float
    t1: float
    caption: str = ""
    """SpaceTimeGPT's clip caption (empty without a captioner)."""
    dense: str = ""
    """The VLM's dense description; only triggered segments have one."""
    frames: tuple[float, ...] = ()
    """Times of the keyframes the VLM was shown."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index, "t0": self.t0, "t1": self.t1,
            "caption": self.caption, "dense": self.dense, "frames": list(self.frames),
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SegmentCaption:
        return cls(
            int(data["index"]), float(data["t0"]), float(data["t1"]), data.get("caption", ""),
            data.get("dense", ""), tuple(float(t) for t in data.get("frames", ())),
        )  # fmt: skip


def triggered_segments(bounds: Sequence[tuple[float, float]], triggers: Sequence[Trigger]) -> dict[int, list[float]]:
    """Segment index -> the (sorted) trigger times inside it, for segments that hold a trigger."""
    found: dict[int, list[float]] = defaultdict(list)
    for trigger in triggers:
        for index, (t0, t1) in enumerate(bounds):
            last = index == len(bounds) - 1
            if t0 <= trigger.timestamp < t1 or (last and trigger.timestamp == t1):
                found[index].append(float(trigger.timestamp))
                break
    return {index: sorted(times) for index, times in sorted(found.items())}



@dataclass(frozen=True)
class SceneCluster:
    """One scene cluster: its segments, the time spans they cover, a label and representative keyframes."""

    cluster_id: int
    label: str
    segments: tuple[int, ...]
    spans: tuple[tuple[float, float], ...]
    """[t0, t1) showings in time order: runs of the cluster's segments, cut at every shot boundary."""
    central_segment: int
    keyframes: tuple[float, ...]

    @property
    def recurs(self) -> bool:
        """True when the scene appears at separate times (other scenes in between), not only in consecutive shots."""
        return any(later[0] > earlier[1] for earlier, later in zip(self.spans, self.spans[1:]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "cluster_id": self.cluster_id, "label": self.label, "segments": list(self.segments),
            "spans": [list(s) for s in self.spans], "central_segment": self.central_segment,
            "keyframes": list(self.keyframes),
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SceneCluster:
        return cls(
            int(data["cluster_id"]), data["label"], tuple(data["segments"]),
            tuple((float(a), float(b)) for a, b in data["spans"]), int(data["central_segment"]),
            tuple(float(k) for k in data["keyframes"]),
        )  # fmt: skip


@dataclass
class ClusterResult:
    """Per-segment cluster ids and the clusters, with how they were found."""

    labels: list[int]
    clusters: list[SceneCluster]
    method: str = "agglomerative-average-cosine"
    descriptor: str = ""
    silhouette: float | None = None
    chosen_by: str = "silhouette"
    scores: dict[int, float] = field(default_factory=dict)
    boundaries: list[float] = field(default_factory=list)
    """Every shot boundary (cut or dissolve) by time; each starts a new showing."""

    @property
    def count(self) -> int:
        return len(self.clusters)

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": self.labels, "clusters": [c.to_dict() for c in self.clusters], "method": self.method,
            "descriptor": self.descriptor, "silhouette": self.silhouette, "chosen_by": self.chosen_by,
            "scores": {str(k): v for k, v in self.scores.items()}, "boundaries": self.boundaries,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClusterResult:
        return cls(
            labels=[int(v) for v in data["labels"]],
            clusters=[SceneCluster.from_dict(c) for c in data["clusters"]],
            method=data.get("method", ""), descriptor=data.get("descriptor", ""),
            silhouette=data.get("silhouette"), chosen_by=data.get("chosen_by", ""),
            scores={int(k): float(v) for k, v in data.get("scores", {}).items()},
            boundaries=[float(t) for t in data.get("boundaries", [])],
        )  # fmt: skip

    def summary(self) -> dict[str, Any]:
        return {"clusters": self.count, "segments": len(self.labels), "descriptor": self.descriptor,
                "silhouette": self.silhouette, "chosen_by": self.chosen_by,
                "shot_boundaries": len(self.boundaries)}  # fmt: skip
