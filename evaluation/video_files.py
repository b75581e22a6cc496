"""Finding the file of a dataset's video under a video root: exact path, then file stem, then MSRVTT's
`video<id>` and ActivityNet's `v_` prefix. The root is walked once per `VideoIndex`, on first need.

A dataset row is data, not a command: a name that points outside the folder it is read against (an
absolute path elsewhere, `../..`) is refused with `VideoOutsideRoot` unless the index allows it. The
check is on the path as written, so links the user placed inside the folder are still followed."""

from __future__ import annotations

import os
from pathlib import Path

from core.errors import InvalidRequest
from evaluation.datasets.item import QAItem
from models.adapters.video import VIDEO_SUFFIXES


class VideoOutsideRoot(InvalidRequest):
    """A dataset row names a video outside the folder its videos must come from."""


class VideoIndex:
    """Video files under one root folder, looked up by relative path or by stem."""

    def __init__(
        self, root: Path | str | None, *, base: Path | str | None = None, allow_outside: bool = False
    ) -> None:
        """`root` is walked for stems; relative names resolve against `base` (default: root, else the current
        folder), and names must stay inside it unless `allow_outside`."""
        self.root = Path(root).expanduser() if root is not None else None
        self.base = Path(base).expanduser() if base is not None else (self.root or Path.cwd())
        self.allow_outside = allow_outside
        self._by_stem: dict[str, list[Path]] | None = None

    def find(self, video: str) -> Path | None:
        """The file for a dataset's video id or relative name, or None when there is none; VideoOutsideRoot
        when the name points outside the folder (and the index does not allow it)."""
        name = video.strip()
        if not name:
            return None
        direct = Path(name).expanduser() if self.allow_outside else Path(name)
        exact = direct if direct.is_absolute() else self.base / direct
        if not self.allow_outside and not _inside(exact, self.base):
            raise VideoOutsideRoot(
                f"video {name!r} is outside {self.base}; dataset rows may only name videos in that folder "
                "(pass --allow-outside-paths to allow it)"
            )
        if exact.is_file():
            return exact
        if self.root is None:
            return None
        stem = direct.stem if direct.suffix.lower() in VIDEO_SUFFIXES else direct.name
        for key in _stem_variants(stem):
            matches = self._stems().get(key)
            if matches:
                return matches[0]
        return None

    def _stems(self) -> dict[str, list[Path]]:
        """stem -> files with it, preferred extension first; built on first use."""
        if self._by_stem is None:
            by_stem: dict[str, list[Path]] = {}
            if self.root is not None and self.root.is_dir():
                for folder, _, files in os.walk(self.root):
                    for file in sorted(files):
                        path = Path(folder) / file
                        if path.suffix.lower() in VIDEO_SUFFIXES:
                            by_stem.setdefault(path.stem, []).append(path)
            for paths in by_stem.values():
                paths.sort(key=lambda p: (VIDEO_SUFFIXES.index(p.suffix.lower()), len(p.parts), str(p)))
            self._by_stem = by_stem
        return self._by_stem

    def __len__(self) -> int:
        """How many distinct stems the root holds."""
        return len(self._stems())


def _inside(path: Path, folder: Path) -> bool:
    """Whether `path`, with `..` resolved as written, lies in `folder`."""
    absolute = Path(os.path.normpath(os.path.abspath(path)))
    return absolute.is_relative_to(Path(os.path.normpath(os.path.abspath(folder))))


def _stem_variants(stem: str) -> list[str]:
    """The stem itself, then MSRVTT's `video<id>` for bare numbers, then with or without ActivityNet's `v_`."""
    variants = [stem]
    if stem.isdigit():
        variants.append(f"video{stem}")
    variants.append(stem[2:] if stem.startswith("v_") else f"v_{stem}")
    return variants


def resolve_video(item: QAItem, video_root: VideoIndex | Path | str | None) -> Path | None:
    """The video file for `item` under `video_root`, or None. Pass a `VideoIndex` to walk the root once for many items."""
    index = video_root if isinstance(video_root, VideoIndex) else VideoIndex(video_root)
    return index.find(item.video)
