"""The data dir is private: transcripts, frames and questions in it cannot be read by other users (item 10)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from traced_cli import user_run

from memory.layout import private_data_dir

OTHERS = stat.S_IRWXG | stat.S_IRWXO


def _reachable_by_others(path: Path, root: Path) -> bool:
    """True when group or others can read `path`: they may search every folder from `root` down and read it."""
    folders = [root, *(p for p in path.parents if root in p.parents)]
    search = all(f.stat().st_mode & (stat.S_IXGRP | stat.S_IXOTH) for f in folders)
    return search and bool(path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH))


def test_a_new_data_dir_is_private_after_ingest_and_ask_under_umask_022(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """vidsage creates ~/.cache/vidsage 0700, so no file under it (the stores hold transcripts and questions)
    is readable by others, whatever mode the libraries that wrote them chose."""
    run = user_run(tmp_path_factory)
    root = run.data_dir
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    files = [p for p in root.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"threads.sqlite", "chroma.sqlite3"} <= names and any(n.startswith("frames-") for n in names)
    assert [str(p.relative_to(root)) for p in files if _reachable_by_others(p, root)] == []


def test_missing_parents_keep_their_mode_and_only_the_data_dir_is_0700(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        root = private_data_dir(tmp_path / "cache" / "vidsage")
    finally:
        os.umask(old)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE(root.parent.stat().st_mode) == 0o755


def test_an_existing_vidsage_data_dir_is_tightened(tmp_path: Path) -> None:
    """A data dir made 0755 by an earlier version (or an empty folder made for vidsage) becomes 0700."""
    legacy, empty = tmp_path / "legacy", tmp_path / "empty"
    for folder in (legacy / "videos", legacy / "chroma", empty):
        folder.mkdir(parents=True)
    (legacy / "threads.sqlite").write_bytes(b"")
    (legacy / "threads.sqlite-wal").write_bytes(b"")
    for folder in (legacy, empty):
        folder.chmod(0o755)
        private_data_dir(folder)
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


def test_a_folder_with_other_content_keeps_its_mode(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A shared project folder used as the data dir is not locked: its other users keep access, with a warning."""
    shared = tmp_path / "project"
    shared.mkdir()
    (shared / "notes.txt").write_text("shared with the team")
    shared.chmod(0o775)
    private_data_dir(shared)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o775
    assert "stays open to other users" in caplog.text and "notes.txt" in caplog.text
