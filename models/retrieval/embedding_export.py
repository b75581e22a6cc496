"""Batch embedding export in the seed's file formats (`extract_directory_embeddings`).

For each video of a directory: `<name>_embedding.npy` and/or `<name>_embedding.json`
(`video_path, embedding, shape, dtype`); optionally one consolidated JSON (`embeddings` +
`metadata{total_videos, successful, failed, processing_date}`) and a processing summary. A file
that is not a readable video is reported and skipped; the others are unaffected.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import InvalidRequest, VidsageError
from models.adapters.video import VIDEO_SUFFIXES, find_videos

FORMATS = ("npy", "json", "both")
CONSOLIDATED_NAME = "consolidated_embeddings.json"
SUMMARY_NAME = "processing_summary.json"

Embedder = Callable[[Path], np.ndarray]
Progress = Callable[[int, int, Path], None]


@dataclass
class ExportResult:
    """What an export did: counts, the files written, and each failure with its reason."""

    processed: int = 0
    failed: int = 0
    outputs: dict[str, list[str]] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)
    consolidated: str | None = None
    summary: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "processed": self.processed,
            "failed": self.failed,
            "outputs": self.outputs,
            "errors": self.errors,
            "consolidated": self.consolidated,
            "summary": self.summary,
            "seconds": round(self.seconds, 3),
        }


def output_names(videos: list[Path], root: Path) -> dict[Path, str]:
    """A unique file-name stem per video: its name, disambiguated by folder or extension on collision."""
    names: dict[Path, str] = {}
    taken: set[str] = set()
    for video in videos:
        candidates = [video.stem, f"{video.stem}_{video.suffix.lstrip('.').lower()}"]
        relative = video.relative_to(root).with_suffix("")
        candidates.append("__".join(relative.parts))
        name = next((c for c in candidates if c not in taken), None)
        counter = 2
        while name is None:
            name = f"{video.stem}_{counter}" if f"{video.stem}_{counter}" not in taken else None
            counter += 1
        taken.add(name)
        names[video] = name
    return names


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    partial = path.with_name(f".{path.name}.partial")
    try:
        write(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _write_json(path: Path, data: Any) -> None:
    _write_atomic(path, lambda p: p.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8"))


def _write_npy(path: Path, array: np.ndarray) -> None:
    def write(partial: Path) -> None:
        with partial.open("wb") as handle:
            np.save(handle, array)

    _write_atomic(path, write)


def extract_directory_embeddings(
    video_dir: Path | str,
    output_dir: Path | str,
    embed: Embedder,
    save_format: str = "npy",
    consolidated: bool = False,
    summary: bool = False,
    recursive: bool = False,
    on_progress: Progress | None = None,
    details: dict[str, Any] | None = None,
) -> ExportResult:
    """Embed every video of `video_dir` with `embed` and write the seed's files into `output_dir`.

    `details` (model, configuration) is recorded in the summary. Raises InvalidRequest for a bad
    directory or format, or when the directory holds no video files.
    """
    if save_format not in FORMATS:
        raise InvalidRequest(f"unknown format {save_format!r}: use one of {', '.join(FORMATS)}")
    started = time.perf_counter()
    video_dir, output_dir = Path(video_dir).expanduser(), Path(output_dir).expanduser()
    videos = find_videos(video_dir, recursive)
    if not videos:
        raise InvalidRequest(f"{video_dir}: holds no video files ({', '.join(sorted(VIDEO_SUFFIXES))})")
    output_dir.mkdir(parents=True, exist_ok=True)
    names = output_names(videos, video_dir)
    result = ExportResult()
    entries: dict[str, dict[str, Any]] = {}
    records: list[dict[str, Any]] = []
    for position, video in enumerate(videos):
        if on_progress is not None:
            on_progress(position, len(videos), video)
        name = names[video]
        video_started = time.perf_counter()
        try:
            embedding = np.asarray(embed(video), dtype=np.float32)
        except VidsageError as error:
            result.failed += 1
            result.errors.append({"video_path": str(video), "error": str(error)})
            records.append({"video_path": str(video), "status": "error", "error": str(error)})
            continue
        written: list[str] = []
        if save_format in ("npy", "both"):
            target = output_dir / f"{name}_embedding.npy"
            _write_npy(target, embedding)
            written.append(str(target))
        if save_format in ("json", "both"):
            target = output_dir / f"{name}_embedding.json"
            _write_json(
                target,
                {"video_path": str(video), "embedding": embedding.tolist(), "shape": list(embedding.shape), "dtype": str(embedding.dtype)},
            )
            written.append(str(target))
        result.processed += 1
        result.outputs[str(video)] = written
        entries[name] = {"embedding": embedding.tolist(), "shape": list(embedding.shape), "video_path": str(video)}
        records.append(
            {
                "video_path": str(video),
                "status": "success",
                "name": name,
                "shape": list(embedding.shape),
                "seconds": round(time.perf_counter() - video_started, 3),
                "files": written,
            }
        )
    if on_progress is not None:
        on_progress(len(videos), len(videos), videos[-1])
    processing_date = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    if consolidated:
        target = output_dir / CONSOLIDATED_NAME
        _write_json(
            target,
            {
                "embeddings": entries,
                "metadata": {
                    "total_videos": len(videos),
                    "successful": result.processed,
                    "failed": result.failed,
                    "processing_date": processing_date,
                },
            },
        )
        result.consolidated = str(target)
    result.seconds = time.perf_counter() - started
    if summary:
        target = output_dir / SUMMARY_NAME
        _write_json(
            target,
            {
                "video_dir": str(video_dir),
                "output_dir": str(output_dir),
                "format": save_format,
                "total_videos": len(videos),
                "successful": result.processed,
                "failed": result.failed,
                "processing_date": processing_date,
                "seconds": round(result.seconds, 3),
                "videos": records,
                **(details or {}),
            },
        )
        result.summary = str(target)
    return result
