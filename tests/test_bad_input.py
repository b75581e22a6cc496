"""Bad input: one clear line naming the file and the problem, a non-zero exit, memory untouched."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import IngestedSample, cli_env, run_cli
from helpers import faststart_copy, snapshot, truncated_copy

from core.errors import VideoUnreadable
from core.settings import Settings
from memory.ingest.pipeline import ingest_video
from models.adapters.video import probe


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory, offline_memory: IngestedSample) -> dict[str, tuple[Path, str]]:
    """Each kind of bad input, with a phrase its error message must contain."""
    root = tmp_path_factory.mktemp("bad")
    empty = root / "empty.mp4"
    empty.write_bytes(b"")
    text = root / "notes.mp4"
    text.write_text("these are meeting notes, not a video\n" * 50)
    directory = root / "folder.mp4"
    directory.mkdir()
    source = offline_memory.video.path
    front = faststart_copy(source, root / "front-index.mp4")
    return {
        "missing": (root / "does-not-exist.mp4", "no such file"),
        "directory": (directory, "is a directory"),
        "empty": (empty, "is empty"),
        "text": (text, "not a readable video"),
        "truncated": (truncated_copy(source, root / "truncated.mp4"), "not a readable video"),
        "truncated-front-index": (truncated_copy(front, root / "truncated-front.mp4"), "truncated"),
    }


KINDS = ["missing", "directory", "empty", "text", "truncated", "truncated-front-index"]


@pytest.mark.parametrize("kind", KINDS)
def test_probe_names_the_problem(bad_files: dict[str, tuple[Path, str]], kind: str) -> None:
    path, phrase = bad_files[kind]
    with pytest.raises(VideoUnreadable) as caught:
        probe(path)
    message = str(caught.value)
    assert str(path) in message and phrase in message
    assert "\n" not in message


@pytest.mark.parametrize("command", ["ingest", "ask"])
@pytest.mark.parametrize("kind", KINDS)
def test_cli_rejects_bad_input_without_touching_memory(
    bad_files: dict[str, tuple[Path, str]], memory_copy: Settings, command: str, kind: str
) -> None:
    path, phrase = bad_files[kind]
    if command == "ingest" and kind == "directory":
        phrase = "holds no video files"  # ingest searches a directory for videos; this one has none
    before = snapshot(memory_copy.data_dir)
    args = [command, str(path)] + (["What is said about the budget?"] if command == "ask" else [])
    result = run_cli(*args, "--json", "--quiet", env=cli_env(memory_copy), timeout=120)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("vidsage: error:")]
    assert len(errors) == 1 and str(path) in errors[0] and phrase in errors[0]
    assert "Traceback" not in result.stderr
    assert snapshot(memory_copy.data_dir) == before


def test_front_index_copy_is_itself_valid(bad_files: dict[str, tuple[Path, str]], offline_memory: IngestedSample) -> None:
    """The faststart remux is a good video: only its truncation makes the other case bad."""
    front = bad_files["truncated-front-index"][0].parent / "front-index.mp4"
    ref = probe(front)
    assert ref.duration == pytest.approx(offline_memory.video.duration, abs=0.2)


def test_one_bad_file_among_good_ones(bad_files: dict[str, tuple[Path, str]], offline_memory: IngestedSample) -> None:
    """A batch ingest reports the bad file, still handles the good one, and exits non-zero."""
    bad = bad_files["text"][0]
    result = run_cli("ingest", str(bad), str(offline_memory.video.path), env=offline_memory.env())  # says what it did
    assert result.returncode == 2
    assert f"vidsage: error: {bad}" in result.stderr
    assert "already in memory" in result.stderr


def test_video_without_audio_ingests_and_says_so(silent_sample, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path / "memory", profile="tiny", detector_fps=1.0)
    report = ingest_video(silent_sample.path, settings)
    assert not report.video.has_audio
    assert any("no audio track" in note for note in report.notes)
    result = run_cli("ask", str(silent_sample.path), "What does the narrator say?", "--json", "--quiet",
                     env=cli_env(settings))
    assert result.returncode == 0, result.stderr
    import json

    answer = json.loads(result.stdout)
    assert answer["evidence"] == []
    assert "does not appear" in answer["answer"] and "no audio track" in answer["answer"]
