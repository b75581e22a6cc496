"""Checks that memory on disk still holds what the manifest claims, and sweeps what killed runs left.

At commit, each stage records the sha256 of every file it wrote and a fingerprint of its vector-store
rows. Before an ingest trusts a stage it checks both; a mismatch makes the stage (and what depends on
it) run again, so `ingest` repairs damaged memory instead of calling it "already in memory".
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core.checksums import sha256_file
from memory.layout import TEMP_PREFIX
from memory.manifest import STAGES, Manifest, StageRecord
from memory.store import VectorStore


def stage_prefix(stage: str) -> str:
    """File names of a stage start with this, then its run id (`tracks-<run>.json`)."""
    return stage.replace("_", "-")


def stage_files(directory: Path, stage: str, run_id: str) -> list[Path]:
    """The files one run of one stage wrote."""
    return sorted(directory.glob(f"{stage_prefix(stage)}-{run_id}*"))


def file_checksums(directory: Path, stage: str, run_id: str) -> dict[str, str]:
    """File name -> sha256 for the files a run of a stage wrote."""
    return {path.name: sha256_file(path) for path in stage_files(directory, stage, run_id)}


def damage(record: StageRecord, directory: Path, video_id: str, store: Callable[[], VectorStore]) -> str | None:
    """Why a committed stage cannot be trusted (a file missing or changed, rows lost), or None when intact.

    Records from before checksums carry none and are trusted as they are.
    """
    for name, expected in record.files.items():
        path = directory / name
        if not path.is_file():
            return f"{name} is missing"
        if sha256_file(path) != expected:
            return f"{name} is damaged (its checksum changed)"
    if record.rows:
        found = store().fingerprint(record.rows["collection"], video_id, record.run_id)
        if found["count"] != record.rows["count"]:
            return f"{record.rows['count']} vector rows were written, {found['count']} are left"
        if found["digest"] != record.rows["digest"]:
            return "its vector rows changed"
    return None


def damaged_stages(manifest: Manifest, directory: Path, store: Callable[[], VectorStore]) -> dict[str, str]:
    """Stage -> what is wrong with it, for every committed stage that fails its checks."""
    found: dict[str, str] = {}
    for stage, record in manifest.stages.items():
        problem = damage(record, directory, manifest.video.video_id, store)
        if problem is not None:
            found[stage] = problem
    return found


def sweep_leftovers(directory: Path, manifest: Manifest | None) -> list[str]:
    """Remove temp files of interrupted atomic writes and files of runs the manifest does not name.

    Call it only while holding the video's lock: then no live writer owns any of them.
    """
    if not directory.is_dir():
        return []
    current = {stage_prefix(s): r.run_id for s, r in (manifest.stages.items() if manifest else ())}
    removed: list[str] = []
    for path in directory.iterdir():
        if not path.is_file():
            continue
        name = path.name
        stage = next((prefix for prefix in _prefixes() if name.startswith(prefix + "-")), None)
        orphan = stage is not None and (stage not in current or not name.startswith(f"{stage}-{current[stage]}"))
        if name.startswith(TEMP_PREFIX) or orphan:
            path.unlink(missing_ok=True)
            removed.append(name)
    return sorted(removed)


def _prefixes() -> list[str]:
    """Stage prefixes, longest first, so `transcript-index-` is never read as `transcript-`."""
    return sorted((stage_prefix(s) for s in STAGES), key=len, reverse=True)
