"""Where things live inside the data dir, and atomic JSON writes so readers never see half a file."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import MemoryCorrupt

TEMP_PREFIX = "."
"""Temp files of atomic writes are hidden files beside their target (`.<name>.<random>`)."""


def write_json_atomic(path: Path, data: Any, before_replace: Callable[[], None] | None = None) -> None:
    """Write JSON to a temp file beside `path`, fsync, then rename over it (`before_replace` runs between)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False)
            handle.flush()
            os.fsync(handle.fileno())
        if before_replace is not None:
            before_replace()
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
    except FileNotFoundError as error:  # the manifest names it, so it was written: it has been lost since
        raise MemoryCorrupt(f"{path}: memory file is missing; re-ingest the video") from error


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


PRIVATE_MODE = 0o700
"""The data dir's mode: it holds transcripts, frames and questions, so only its owner may enter it."""

VIDSAGE_ENTRIES = (
    "chroma", "videos", "locks", "config", "weights", "hub-cache", "trigger-heads", "retrieval-training",
    "hash-cache.json", ".hash-cache.json.*", "threads.sqlite", "threads.sqlite-*",
)
"""Patterns of what vidsage writes at the top of a data dir; a folder holding only these is vidsage's."""


def private_data_dir(root: Path) -> Path:
    """Create the data dir with mode 0700, or tighten an existing one that holds nothing but vidsage's files.

    A folder with other content (a project folder, the home directory) keeps its mode, so the people it is
    shared with are not locked out: vidsage logs a warning instead. Returns `root`.
    """
    import fnmatch
    import logging

    root = Path(root).expanduser()
    if not root.exists():
        root.parent.mkdir(parents=True, exist_ok=True)
        try:
            root.mkdir(mode=PRIVATE_MODE)
        except FileExistsError:  # another process made it first: treat it as an existing one
            pass
        else:
            os.chmod(root, PRIVATE_MODE)  # mkdir's mode passes through the umask
            return root
    if not root.is_dir() or not root.stat().st_mode & 0o077:
        return root
    foreign = [p.name for p in root.iterdir() if not any(fnmatch.fnmatchcase(p.name, v) for v in VIDSAGE_ENTRIES)]
    reason = f"it also holds other files, e.g. {sorted(foreign)[0]!r}" if foreign else ""
    if not foreign:
        try:
            os.chmod(root, root.stat().st_mode & PRIVATE_MODE)
            return root
        except OSError as error:  # not the owner, or a read-only file system
            reason = str(error)
    logging.getLogger(__name__).warning(
        "data dir %s stays open to other users (%s); give vidsage a folder of its own", root, reason
    )
    return root
