"""Read access to one ingested video: its description, transcript, segments and tracks.

Only stages recorded in the manifest are read, through the run id the manifest names.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from memory.hashes import file_hash
from memory.layout import DataLayout, read_json
from memory.manifest import Manifest
from memory.segments import SegmentRecord
from models.errors import InvalidRequest
from models.settings import Settings
from models.types import Track, TranscriptSpan, VideoRef
from models.video import check_path


class VideoMemory:
    """What memory holds about one video."""

    def __init__(self, settings: Settings, manifest: Manifest) -> None:
        self.settings = settings
        self.manifest = manifest
        self.layout = DataLayout(settings.data_dir)
        self.directory = self.layout.video_dir(manifest.video.video_id)

    @classmethod
    def for_path(cls, settings: Settings, path: Path | str) -> "VideoMemory":
        """Memory of an already ingested file; raises InvalidRequest when it was never ingested."""
        path = Path(path).expanduser()
        check_path(path)
        layout = DataLayout(settings.data_dir)
        manifest = Manifest.load(layout, file_hash(layout, path)[:16])
        if manifest is None:
            raise InvalidRequest(f"{path}: not in memory yet; run `main.py ingest {path}` first")
        return cls(settings, manifest)

    @property
    def ref(self) -> VideoRef:
        return self.manifest.video

    @property
    def video_id(self) -> str:
        return self.manifest.video.video_id

    def run_id(self, stage: str) -> str | None:
        record = self.manifest.stages.get(stage)
        return record.run_id if record else None

    def summary(self, stage: str) -> dict[str, Any]:
        record = self.manifest.stages.get(stage)
        return dict(record.summary) if record else {}

    def _stage_file(self, stage: str) -> Any:
        run_id = self.run_id(stage)
        if run_id is None:
            return []
        return read_json(self.directory / f"{stage.replace('_', '-')}-{run_id}.json")

    @functools.cached_property
    def _transcript(self) -> list[TranscriptSpan]:
        return [TranscriptSpan.from_dict(item) for item in self._stage_file("transcript")]

    @functools.cached_property
    def _segments(self) -> list[SegmentRecord]:
        return [SegmentRecord(**item) for item in self._stage_file("segments")]

    @functools.cached_property
    def _tracks(self) -> list[Track]:
        return [Track.from_dict(item) for item in self._stage_file("tracks")]

    def transcript(self) -> list[TranscriptSpan]:
        """Speech spans in time order (empty when there is no speech or no speech model)."""
        return self._transcript

    def segments(self) -> list[SegmentRecord]:
        """Fixed-length segments in time order."""
        return self._segments

    def tracks(self) -> list[Track]:
        """Tracked objects (people in the offline profile), by first appearance."""
        return self._tracks
