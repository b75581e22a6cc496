"""Content hashes of video files, remembered by (path, size, mtime) so a cached ingest skips re-reading."""

from __future__ import annotations

from pathlib import Path

from core.errors import MemoryCorrupt
from memory.layout import DataLayout, read_json, write_json_atomic
from models.adapters.video import content_hash


def _stamp(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def known_hash(layout: DataLayout, path: Path) -> str | None:
    """The remembered hash of an unchanged file, else None."""
    if not layout.hash_cache.is_file():
        return None
    try:
        entry = read_json(layout.hash_cache).get(str(path.resolve()))
    except MemoryCorrupt:
        return None
    if entry and entry.get("stamp") == _stamp(path):
        return str(entry["hash"])
    return None


def file_hash(layout: DataLayout, path: Path) -> str:
    """Remembered hash if the file is unchanged, else hash its bytes (not remembered until `remember`)."""
    return known_hash(layout, path) or content_hash(path)


def remember(layout: DataLayout, path: Path, digest: str) -> None:
    """Record the hash of a successfully ingested file (under a lock: other ingests update the cache too)."""
    from memory.locks import hash_cache_lock

    with hash_cache_lock(layout):
        cache: dict[str, dict[str, str]] = {}
        if layout.hash_cache.is_file():
            try:
                cache = read_json(layout.hash_cache)
            except MemoryCorrupt:
                cache = {}
        cache[str(path.resolve())] = {"stamp": _stamp(path), "hash": digest}
        write_json_atomic(layout.hash_cache, cache)
