"""What `ingest` was pointed at, as video files: files as given, directories searched for videos, glob
patterns expanded (quoted patterns reach us unexpanded; `**` recurses). A pattern or folder that yields
no video is a problem to report, not a reason to stop the others."""

from __future__ import annotations

import glob
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from models.adapters.video import VIDEO_SUFFIXES, find_videos

GLOB_CHARACTERS = frozenset("*?[")


@dataclass
class Sources:
    """The video files found, in the order given (no repeats), and one line per input that found none."""

    paths: list[Path] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    """(input as given, what is wrong with it)."""

    def add(self, path: Path) -> None:
        if all(path.resolve() != known.resolve() for known in self.paths):
            self.paths.append(path)


def expand_sources(inputs: Sequence[str], recursive: bool = True) -> Sources:
    """Files, directories (searched for video files, recursively by default) and glob patterns, expanded."""
    sources = Sources()
    for raw in inputs:
        path = Path(raw).expanduser()
        if path.is_dir():
            found = find_videos(path, recursive=recursive)
            if not found:
                sources.problems.append((raw, f"{raw}: holds no video files ({', '.join(sorted(VIDEO_SUFFIXES))})"))
            for video in found:
                sources.add(video)
        elif not path.exists() and GLOB_CHARACTERS & set(raw):
            matches = sorted(Path(m) for m in glob.glob(str(path), recursive=True))
            videos = [m for m in matches if m.is_file() and m.suffix.lower() in VIDEO_SUFFIXES]
            if not videos:
                sources.problems.append((raw, f"{raw}: matches no video files"))
            for video in videos:
                sources.add(video)
        else:
            sources.add(path)  # a file, or a missing path that ingest reports by name
    return sources
