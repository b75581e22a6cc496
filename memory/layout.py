"""Where things live inside the data dir, and atomic JSON writes so readers never see half a file."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.errors import MemoryCorrupt


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to a temp file beside `path`, fsync, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any:
    """Read a JSON file written by vidsage; a damaged one raises MemoryCorrupt naming it."""
    try:
        with path.open(encoding="utf-8") as handle:
            return json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise MemoryCorrupt(f"{path}: memory file is damaged ({error.__class__.__name__}); re-ingest the video") from error


@dataclass(frozen=True)
class DataLayout:
    """The data dir: `chroma/` (vector store), `videos/<video_id>/` (per-video files), a hash cache."""

    root: Path

    @property
    def chroma_dir(self) -> Path:
        return self.root / "chroma"

    @property
    def hash_cache(self) -> Path:
        return self.root / "hash-cache.json"

    @property
    def threads_db(self) -> Path:
        """The agent's conversation threads (LangGraph's SQLite checkpointer)."""
        return self.root / "threads.sqlite"

    def video_dir(self, video_id: str) -> Path:
        return self.root / "videos" / video_id

    def manifest(self, video_id: str) -> Path:
        return self.video_dir(video_id) / "manifest.json"

    def video_ids(self) -> list[str]:
        """Ids of every video with a manifest, in name order."""
        base = self.root / "videos"
        if not base.is_dir():
            return []
        return sorted(p.parent.name for p in base.glob("*/manifest.json"))
