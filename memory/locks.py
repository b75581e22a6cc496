"""Inter-process locks in the data dir: one per video (one writer at a time) and one per shared file.

File locks (flock through `filelock`) die with their process, so a killed ingest never leaves a lock
behind; a second process waits, says so once, and then finds the work done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from memory.layout import DataLayout


def _lock_path(layout: DataLayout, name: str) -> Path:
    directory = layout.root / "locks"
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{name}.lock"


@contextmanager
def held(layout: DataLayout, name: str, on_wait: Callable[[str], None] | None = None, what: str = "") -> Iterator[None]:
    """Hold the lock `name`; when another process holds it, report `on_wait` once and wait for it."""
    lock = FileLock(str(_lock_path(layout, name)))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if on_wait is not None:
            on_wait(f"{what or name}: another vidsage process is writing it; waiting for it to finish")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def video_lock(
    layout: DataLayout, video_id: str, on_wait: Callable[[str], None] | None = None, what: str = ""
) -> AbstractContextManager[None]:
    """The lock one video's memory is written under (ingest, repair, removal)."""
    return held(layout, f"video-{video_id}", on_wait, what)


def store_lock(layout: DataLayout) -> AbstractContextManager[None]:
    """The lock around writes to the embedded vector store, which one process at a time may change."""
    return held(layout, "chroma")


def hash_cache_lock(layout: DataLayout) -> AbstractContextManager[None]:
    """The lock around the read-modify-write of the hash cache shared by every ingest."""
    return held(layout, "hash-cache")
