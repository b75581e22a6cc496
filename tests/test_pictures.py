"""`timeline` and `graph` draw PNGs of a video's structure that a person can read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import IngestedSample, run_cli
from PIL import Image

from memory.video_memory import VideoMemory
from ui.timeline_lanes import SCREEN_TEXT_COLOUR


def _picture(path: Path) -> np.ndarray:
    assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return np.asarray(Image.open(path).convert("RGB"))


def test_timeline_draws_scene_lanes_triggers_speech_and_actors(offline_memory: IngestedSample, tmp_path: Path) -> None:
    out = tmp_path / "timeline.png"
    result = run_cli("timeline", str(offline_memory.video.path), "-o", str(out), "--quiet", env=offline_memory.env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    image = _picture(out)
    memory = VideoMemory.for_path(offline_memory.settings, offline_memory.video.path)
    assert memory.screen_text(), "the sample's printed titles are read"
    lanes = 4 + len(memory.actors())  # scenes, triggers, speech, text on screen, the actors
    assert image.shape[1] > 1000 and image.shape[0] > 100 + 30 * lanes
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 20, "coloured lanes, not a blank canvas"
    text_lane = np.array([int(SCREEN_TEXT_COLOUR[i : i + 2], 16) for i in (1, 3, 5)])
    assert (np.abs(image.astype(int) - text_lane).sum(axis=2) < 12).sum() > 1000, "the text-on-screen lane is drawn"


def test_graph_draws_the_actor_graph(offline_memory: IngestedSample, tmp_path: Path) -> None:
    out = tmp_path / "actors.png"
    result = run_cli("graph", str(offline_memory.video.path), "-o", str(out), "--quiet", env=offline_memory.env())
    assert result.returncode == 0, result.stderr
    image = _picture(out)
    assert image.shape[0] > 200 and len(np.unique(image.reshape(-1, 3), axis=0)) > 20


def test_pictures_of_a_missing_video_are_a_clear_error(tmp_path: Path) -> None:
    result = run_cli("timeline", str(tmp_path / "nope.mp4"), "-o", str(tmp_path / "t.png"))
    assert result.returncode == 2 and "nope.mp4" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "t.png").exists()
