"""Saved progress of the decode-and-detect pass (the `segments`, `tracks`, `frames` and `objects` stages together).

That pass is most of an ingest's time, so it saves what it has after each chunk of video
(`settings.frames_chunk_seconds`): the frames consumed, the trackers and their tracks, frame descriptors
and collected CLIP segments. A killed ingest resumes from the last saved chunk and ends with the same
memory as an uninterrupted one. The file is private working state, never memory: readers never open it,
it is replaced atomically, and it is removed once the stages commit. It is a pickle because the tracker's
state is a graph of library objects; it lives in the data dir, which only its owner can read or write.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memory.layout import TEMP_PREFIX

PROGRESS_FILE = "visual-progress.pkl"


@dataclass
class VisualProgress:
    """Where the pass stopped: `consumed` sampled frames done, after `chunk` whole chunks."""

    key: str
    consumed: int
    chunk: int
    tracking: dict[str, Any] | None
    features: list[Any]
    segments: dict[str, Any] | None
    objects: dict[str, Any] | None = None


def progress_key(stages: list[str], keys: dict[str, str], video_hash: str, batch_size: int) -> str:
    """Progress is reused only by a pass over the same video, stages, stage keys and batching."""
    basis = {"stages": sorted(stages), "keys": {s: keys[s] for s in stages}, "video": video_hash, "batch": batch_size}
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()[:16]


def load_progress(directory: Path, key: str) -> VisualProgress | None:
    """The saved progress for `key`; progress of another pass, or an unreadable file, is removed."""
    path = directory / PROGRESS_FILE
    if not path.is_file():
        return None
    try:
        with path.open("rb") as handle:
            progress = pickle.load(handle)
    except Exception:  # a file cut short or from another version: start the pass afresh
        progress = None
    if not isinstance(progress, VisualProgress) or progress.key != key:
        path.unlink(missing_ok=True)
        return None
    return progress


def save_progress(directory: Path, progress: VisualProgress) -> None:
    """Replace the saved progress atomically (temp file, fsync, rename)."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{PROGRESS_FILE}.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(progress, handle, protocol=pickle.HIGHEST_PROTOCOL)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, directory / PROGRESS_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def clear_progress(directory: Path) -> None:
    (directory / PROGRESS_FILE).unlink(missing_ok=True)
