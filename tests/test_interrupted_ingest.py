"""An ingest killed midway (SIGKILL, no clean-up) resumes, and ends with the memory a clean ingest makes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, cli_env
from evaluation.recurring_scenes import make_recurring_video
from memory.ingest import STAGES, ingest_video
from memory.video_memory import VideoMemory
from memory.views import VIEWS
from models.settings import Settings


def _views(settings: Settings, video: Path) -> dict[str, object]:
    """Everything memory shows a user about the video, minus run ids and timings."""
    memory = VideoMemory.for_path(settings, video)
    views = {name: build(memory) for name, build in VIEWS.items()}
    views["segments"] = [s.to_dict() for s in memory.segments()]
    return json.loads(json.dumps(views, sort_keys=True, default=str))


def test_a_killed_ingest_resumes_to_the_same_memory_as_a_clean_one(tmp_path: Path) -> None:
    video = make_recurring_video(tmp_path / "recurring.mp4").path
    killed = Settings(profile="offline", data_dir=tmp_path / "killed", detector_fps=2.0)
    env = cli_env(killed)
    command = [sys.executable, str(REPO / "main.py"), "ingest", str(video), "--quiet"]
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    manifest = None
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and process.poll() is None:
            found = list((killed.data_dir / "videos").glob("*/manifest.json")) if (killed.data_dir / "videos").is_dir() else []
            if found:
                manifest = found[0]
                if "transcript" in json.loads(manifest.read_text())["stages"]:
                    break
            time.sleep(0.05)
        assert process.poll() is None, "the ingest finished before it could be interrupted"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert manifest is not None
    done_before = set(json.loads(manifest.read_text())["stages"])
    assert "transcript" in done_before and done_before != set(STAGES), "killed midway"

    report = ingest_video(video, killed)
    assert set(report.reused) == done_before and set(report.ran) == set(STAGES) - done_before

    clean = killed.model_copy(update={"data_dir": tmp_path / "clean"})
    ingest_video(video, clean)
    resumed_views, clean_views = _views(killed, video), _views(clean, video)
    for name in clean_views:
        assert resumed_views[name] == clean_views[name], f"the {name} view differs after resuming"
    leftovers = [p.name for p in (killed.data_dir / "videos").rglob("*") if p.name.startswith(".")]
    assert leftovers == [], f"half-written files left behind: {leftovers}"


@pytest.mark.parametrize("what", ["scenes", "graph", "captions"])
def test_inspect_views_of_memory_print_json(what: str, tmp_path: Path) -> None:
    from conftest import run_cli

    video = make_recurring_video(tmp_path / "recurring.mp4").path
    settings = Settings(profile="offline", data_dir=tmp_path / "data", detector_fps=1.0)
    ingest_video(video, settings)
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
