"""An ingest killed midway (SIGKILL, no clean-up) resumes, and ends with the memory a clean ingest makes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, cli_env

from core.progress import SilentProgress
from core.settings import Settings
from evaluation.recurring_scenes import make_recurring_video
from memory.ingest.checkpoints import KILL_AT_ENV
from memory.ingest.pipeline import STAGES, ingest_video
from memory.ingest.visual_progress import PROGRESS_FILE
from memory.layout import DataLayout
from memory.manifest import Manifest
from memory.video_memory import VideoMemory
from memory.views import VIEWS


def _views(settings: Settings, video: Path) -> dict[str, object]:
    """Everything memory shows a user about the video, minus run ids and timings."""
    memory = VideoMemory.for_path(settings, video)
    views = {name: build(memory) for name, build in VIEWS.items()}
    views["segments"] = [s.to_dict() for s in memory.segments()]
    return json.loads(json.dumps(views, sort_keys=True, default=str))


KILL_POINTS = (
    "transcript:manifest-temp",  # the old CI flake: killed while the manifest's temp file exists
    "transcript_index:files-written",
    "segments:committed",  # the decode-and-detect pass done, one of its three stages committed
    "tracks:manifest-temp",
    "actors:start",
    "graph:files-written",
    "clusters:manifest-temp",
)
"""Seven named points, in the order an ingest passes them; each kill resumes from where the last one left."""


def _ingest_killed_at(point: str, settings: Settings, video: Path) -> subprocess.CompletedProcess[str]:
    env = cli_env(settings) | {KILL_AT_ENV: point, "VIDSAGE_FRAMES_CHUNK_SECONDS": str(settings.frames_chunk_seconds)}
    command = [sys.executable, str(REPO / "main.py"), "ingest", str(video), "--quiet"]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def _hidden_files(settings: Settings) -> list[str]:
    return [p.name for p in (settings.data_dir / "videos").rglob("*") if p.name.startswith(".")]


@pytest.fixture(scope="module")
def recurring(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    """The recurring-scenes video and the views of one uninterrupted ingest of it."""
    root = tmp_path_factory.mktemp("recurring")
    video = make_recurring_video(root / "recurring.mp4").path
    clean = Settings(profile="offline", data_dir=root / "clean", detector_fps=2.0)
    ingest_video(video, clean)
    return video, _views(clean, video)


def test_a_ingest_killed_at_each_checkpoint_resumes_to_the_same_memory_as_a_clean_one(
    tmp_path: Path, recurring: tuple[Path, dict[str, object]]
) -> None:
    video, clean_views = recurring
    killed = Settings(profile="offline", data_dir=tmp_path / "killed", detector_fps=2.0)
    committed: list[set[str]] = []
    hidden: list[list[str]] = []
    for point in KILL_POINTS:
        result = _ingest_killed_at(point, killed, video)
        hidden.append(_hidden_files(killed))
        assert result.returncode == -signal.SIGKILL, f"not killed at {point}: {result.returncode} {result.stderr}"
        manifest = next((killed.data_dir / "videos").glob("*/manifest.json"), None)
        loaded = Manifest.load(DataLayout(killed.data_dir), manifest.parent.name) if manifest else None
        committed.append(set(loaded.stages) if loaded else set())
    assert committed[0] == set(), "the first kill came before the first manifest was in place"
    assert "transcript" in committed[1] and "segments" in committed[2] and "tracks" not in committed[2]
    assert "tracks" in committed[4] and "actors" not in committed[4] and "clusters" not in committed[-1]
    assert [n for n in hidden[0] if n.startswith(".manifest.json.")], "the first kill left no temp manifest"
    assert not set(hidden[0]) & set(hidden[1]), "the next ingest did not sweep the temp file it found"

    report = ingest_video(video, killed)
    assert set(report.reused) == committed[-1] and set(report.ran) == set(STAGES) - committed[-1]
    resumed_views = _views(killed, video)
    for name in clean_views:
        assert resumed_views[name] == clean_views[name], f"the {name} view differs after resuming"
    assert _hidden_files(killed) == [], "half-written files left behind"
    leftovers = sorted(p.name for p in (killed.data_dir / "videos").rglob("*") if p.is_file())
    live = {f"{stage.replace('_', '-')}-{record.run_id}" for stage, record in
            VideoMemory.for_path(killed, video).manifest.stages.items()}  # fmt: skip
    assert [n for n in leftovers if n != "manifest.json" and not any(n.startswith(x) for x in live)] == []


def test_a_kill_during_the_frames_pass_resumes_from_its_last_saved_chunk(
    tmp_path: Path, recurring: tuple[Path, dict[str, object]]
) -> None:
    video, clean_views = recurring
    killed = Settings(profile="offline", data_dir=tmp_path / "killed", detector_fps=2.0, frames_chunk_seconds=5.0)
    result = _ingest_killed_at("frames:chunk-5", killed, video)
    assert result.returncode == -signal.SIGKILL, result.stderr
    directory = next((killed.data_dir / "videos").glob("*/manifest.json")).parent
    assert (directory / PROGRESS_FILE).is_file(), "the frames pass saved no progress"

    notices: list[str] = []
    started: list[float] = []

    class Recorder(SilentProgress):
        def notice(self, message: str) -> None:
            notices.append(message)

        def update(self, stage: str, completed: float) -> None:
            if stage == "frames" and not started:
                started.append(completed)

    ingest_video(video, killed, progress=Recorder())
    resumed_at = [float(n.split(" at ")[1].split(" s ")[0]) for n in notices if "resuming the frames pass" in n]
    assert resumed_at and 25.0 <= resumed_at[0] < 30.0, notices  # chunk 5 ends at 25 s, after a whole batch
    assert started and started[0] > resumed_at[0], f"the pass began again at {started[0] if started else None} s"
    resumed_views = _views(killed, video)
    for name in clean_views:
        assert resumed_views[name] == clean_views[name], f"the {name} view differs after resuming"
    assert not (directory / PROGRESS_FILE).exists() and _hidden_files(killed) == []


@pytest.mark.parametrize("what", ["scenes", "graph", "captions"])
def test_inspect_views_of_memory_print_json(what: str, recurring: tuple[Path, dict[str, object]]) -> None:
    from conftest import run_cli

    video, _ = recurring
    settings = Settings(profile="offline", data_dir=video.parent / "clean", detector_fps=2.0)
    result = run_cli("inspect", str(video), "--what", what, "--json", "--quiet", env=cli_env(settings))
    assert result.returncode == 0, result.stderr
    view = json.loads(result.stdout)
    if what == "scenes":
        assert [s["spans"] for s in view["scenes"]][0] == [[0.0, 8.0], [24.0, 32.0]] and view["scenes"][0]["recurs"]
    elif what == "graph":
        assert set(view) >= {"entities", "relationships", "events", "video_id", "num_frames", "duration"}
        assert all(len(box) == 4 for entity in view["entities"] for box in entity["bboxes"])
    else:
        assert view["captioner"] is None and view["vlm"] is None and len(view["segments"]) == 8
