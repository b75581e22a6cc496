"""The per-video manifest: which stages are complete, under which settings key, with which outputs.

A stage's output becomes visible only when its record is written here (files are written first,
vector rows carry the stage's run id), so a crash or a bad file never exposes half a stage, and a
re-run skips exactly the stages whose key still matches.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from memory.layout import DataLayout, read_json, write_json_atomic
from models.types import VideoRef

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class StageRecord:
    """One completed stage: the settings key it ran under, its run id and a small summary."""

    key: str
    run_id: str
    completed_at: float
    seconds: float
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "run_id": self.run_id,
            "completed_at": self.completed_at,
            "seconds": self.seconds,
            "summary": self.summary,
        }


@dataclass
class Manifest:
    """What memory holds for one video."""

    video: VideoRef
    stages: dict[str, StageRecord] = field(default_factory=dict)

    def is_current(self, stage: str, key: str) -> bool:
        record = self.stages.get(stage)
        return record is not None and record.key == key

    def complete(self, stage: str, key: str, run_id: str, seconds: float, summary: dict[str, Any]) -> None:
        self.stages[stage] = StageRecord(key, run_id, time.time(), round(seconds, 3), summary)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": MANIFEST_VERSION,
            "video": self.video.to_dict(),
            "stages": {name: record.to_dict() for name, record in self.stages.items()},
        }

    def save(self, layout: DataLayout) -> None:
        write_json_atomic(layout.manifest(self.video.video_id), self.to_dict())

    @classmethod
    def load(cls, layout: DataLayout, video_id: str) -> "Manifest | None":
        """The stored manifest, or None when the video was never ingested; damage raises MemoryCorrupt."""
        path = layout.manifest(video_id)
        if not path.is_file():
            return None
        data = read_json(path)
        stages = {name: StageRecord(**record) for name, record in data.get("stages", {}).items()}
        return cls(video=VideoRef.from_dict(data["video"]), stages=stages)
