"""The per-video manifest: which stages are complete, under which settings key, with which outputs.

A stage's output becomes visible only when its record is written here (files are written first,
vector rows carry the stage's run id), so a crash or a bad file never exposes half a stage, and a
re-run skips exactly the stages whose key still matches.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.errors import MemoryCorrupt
from core.types import VideoRef
from memory.layout import DataLayout, read_json, write_json_atomic

MANIFEST_VERSION = 2  # 2: checksums per stage

STAGES: tuple[str, ...] = (
    "transcript", "transcript_index", "segments", "tracks", "frames", "objects", "actors", "triggers", "ocr",
    "captions", "graph", "clusters",
)  # fmt: skip
"""Every ingest stage, in the order they run."""

COMPLETE, UNFINISHED, STALE = "complete", "unfinished", "stale"
"""A video's state in memory: every stage committed under the current settings; a stage never committed
(left out of search, questions and the chat until `ingest` resumes it); complete under older settings
(still searchable, marked)."""


@dataclass(frozen=True)
class StageRecord:
    """One completed stage: the settings key it ran under, its run id and a small summary."""

    key: str
    run_id: str
    completed_at: float
    seconds: float
    summary: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    """File name -> sha256 of each file the stage wrote (empty in manifests written before checksums)."""
    rows: dict[str, Any] = field(default_factory=dict)
    """The stage's vector-store rows: collection, count and a digest of their ids and documents."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "run_id": self.run_id,
            "completed_at": self.completed_at,
            "seconds": self.seconds,
            "summary": self.summary,
            "files": self.files,
            "rows": self.rows,
        }


@dataclass
class Manifest:
    """What memory holds for one video."""

    video: VideoRef
    stages: dict[str, StageRecord] = field(default_factory=dict)

    def is_current(self, stage: str, key: str) -> bool:
        record = self.stages.get(stage)
        return record is not None and record.key == key

    def record(
        self,
        stage: str,
        key: str,
        run_id: str,
        seconds: float,
        summary: dict[str, Any],
        files: dict[str, str] | None = None,
        rows: dict[str, Any] | None = None,
    ) -> None:
        """Note a finished stage (visible once saved)."""
        self.stages[stage] = StageRecord(key, run_id, time.time(), round(seconds, 3), summary, files or {}, rows or {})

    def state(self, keys: dict[str, str] | None = None) -> str:
        """complete, unfinished or stale (complete, but a stage's key differs from the current `keys`)."""
        if any(stage not in self.stages for stage in STAGES):
            return UNFINISHED
        if keys is not None and any(not self.is_current(stage, keys[stage]) for stage in STAGES if stage in keys):
            return STALE
        return COMPLETE

    @property
    def searchable(self) -> bool:
        """Whether search, questions and the chat may read this video (complete or stale, not unfinished)."""
        return self.state() != UNFINISHED

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": MANIFEST_VERSION,
            "video": self.video.to_dict(),
            "stages": {name: record.to_dict() for name, record in self.stages.items()},
        }

    def save(self, layout: DataLayout, before_replace: Callable[[], None] | None = None) -> None:
        write_json_atomic(layout.manifest(self.video.video_id), self.to_dict(), before_replace)

    @classmethod
    def load(cls, layout: DataLayout, video_id: str) -> "Manifest | None":
        """The stored manifest, or None when the video was never ingested; damage raises MemoryCorrupt."""
        path = layout.manifest(video_id)
        if not path.is_file():
            return None
        data = read_json(path)
        stages = {name: StageRecord(**record) for name, record in data.get("stages", {}).items()}
        return cls(video=VideoRef.from_dict(data["video"]), stages=stages)

    @classmethod
    def load_or_rebuild(cls, layout: DataLayout, video_id: str, notice: Callable[[str], None]) -> Manifest | None:
        """The stored manifest for an ingest to resume; a damaged one is said (`notice`) and the memory rebuilt."""
        try:
            return cls.load(layout, video_id)
        except (MemoryCorrupt, KeyError, TypeError) as error:
            notice(f"{error}: rebuilding this video's memory")
            return None
