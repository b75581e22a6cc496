"""Every shot boundary is structure: a slideshow's cuts all reach the scene list, the scene memory and the
timeline, while the trigger budget still caps the moments sent to expensive analysis and the trigger JSON. Cuts
between photos alike in colour are found by their texture and layout; a person stepping into a still shot, or
people walking, are no cut."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from langchain_core.messages import ToolMessage

from core.settings import Settings
from evaluation.meeting_scenario import make_meeting_video
from evaluation.photo_scenes import make_photo_video
from evaluation.sample_video import SampleVideo, make_sample_video
from memory.ingest.pipeline import ingest_video
from memory.video_memory import VideoMemory
from memory.views import triggers_view
from models.adapters.frame_features import FrameFeatures, compute_frame_features
from models.adapters.video import iter_frames, probe, sample_times
from models.cache import ModelCache
from perception.triggers import allowed_segments, detect_cuts
from tools import build_tools
from ui.timeline_lanes import timeline_lanes

SLIDES = ("astronaut", "coins", "grass", "coffee", "camera", "page", "chelsea", "clock", "gravel", "rocket")
"""Ten photos, 8 s each: adjacent grey photos (coins/grass, camera/page) look alike to scene clustering."""
SECONDS_EACH = 8.0
CUTS = [SECONDS_EACH * i for i in range(1, len(SLIDES))]
TOLERANCE = 1.0
ALIKE_PHOTOS = (("grass", "", False), ("gravel", "", False), ("brick", "", False), ("grass", "", False))
"""Greyscale photos whose colour histograms are alike: only their texture and layout change at each cut."""
ALIKE_CUES = ((1.0, "Grass."), (5.0, "Gravel."), (9.0, "Brick."), (13.0, "Grass again."))
"""One cue per photo: each photo comes up half a second before its cue (4.5, 8.5 and 12.5 s)."""
CUT_TOLERANCE_S = 0.25
"""A cut is found at the first sampled frame of the new photo: 0.1 s late at the default 5 fps."""


@pytest.fixture(scope="module")
def slideshow(tmp_path_factory: pytest.TempPathFactory) -> tuple[VideoMemory, ModelCache]:
    """An 80 s slideshow with a cut every 8 s, ingested with the default (offline) profile."""
    directory = tmp_path_factory.mktemp("slideshow")
    video = make_photo_video(directory / "slides.mp4", photos=SLIDES, seconds_each=SECONDS_EACH, fps=5, size=(160, 120))
    settings = Settings(data_dir=directory / "data", detector_fps=0.5)
    models = ModelCache.for_settings(settings)
    ingest_video(video.path, settings, models=models)
    return VideoMemory.for_path(settings, video.path), models


def _missing(cuts: list[float], boundaries: list[float]) -> list[float]:
    """The cuts with no boundary within TOLERANCE."""
    return [cut for cut in cuts if not any(abs(cut - b) <= TOLERANCE for b in boundaries)]


def test_every_cut_is_a_scene_boundary_in_the_scene_list(slideshow: tuple[VideoMemory, ModelCache]) -> None:
    memory, models = slideshow
    tool = next(t for t in build_tools(memory, models) if t.name == "list_scenes")
    message = tool.invoke({"type": "tool_call", "name": "list_scenes", "args": {}, "id": "1"})
    assert isinstance(message, ToolMessage)
    scenes = message.artifact
    assert scenes and all(e.kind == "scene" for e in scenes)
    edges = [e.t0 for e in scenes] + [e.t1 for e in scenes]
    assert _missing(CUTS, edges) == [], message.content


def test_every_cut_is_in_the_scene_memory_and_the_timeline(slideshow: tuple[VideoMemory, ModelCache]) -> None:
    memory, _ = slideshow
    result = memory.clusters()
    assert _missing(CUTS, result.boundaries) == [], result.boundaries
    edges = [t for cluster in result.clusters for span in cluster.spans for t in span]
    assert _missing(CUTS, edges) == [], [c.spans for c in result.clusters]
    assert _missing(CUTS, list(timeline_lanes(memory).shots)) == []


def test_the_budget_still_caps_the_triggers(slideshow: tuple[VideoMemory, ModelCache]) -> None:
    memory, _ = slideshow
    view = triggers_view(memory)
    assert view["num_segments"] == 20 and view["num_triggers_detected"] == len(view["triggers"]) > 0
    assert view["triggered_segments"] <= allowed_segments(20, 0.25) == 5, view["triggers"]
    cut_triggers = [t for t in view["triggers"] if "shot_cut" in t["reasons"]]
    assert len(cut_triggers) < len(CUTS), "nine cuts in twenty segments: the budget drops some cut triggers"
    assert [t.timestamp for t in memory.triggers()] == [t["timestamp"] for t in view["triggers"]]


@pytest.fixture(scope="module")
def alike_slideshow(tmp_path_factory: pytest.TempPathFactory) -> SampleVideo:
    """20 s, four grey photos with a gentle zoom each, cut from one to the next (silent: the cues only time it)."""
    path = tmp_path_factory.mktemp("alike") / "alike.mp4"
    return make_sample_video(path, with_audio=False, size=(160, 90), narration=ALIKE_CUES, photos=ALIKE_PHOTOS)


def test_cuts_between_grey_photos_alike_in_colour_are_found_and_nothing_else(
    alike_slideshow: SampleVideo, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = Settings(profile="offline", data_dir=tmp_path_factory.mktemp("alike-data"), detector_fps=0.5)
    ingest_video(alike_slideshow.path, settings)
    memory = VideoMemory.for_path(settings, alike_slideshow.path)
    changes = [scene.t0 for scene in alike_slideshow.scenes[1:]]
    assert changes == [4.5, 8.5, 12.5]
    assert memory.shot_cuts() == pytest.approx(changes, abs=CUT_TOLERANCE_S)
    assert memory.clusters().boundaries == pytest.approx(changes, abs=CUT_TOLERANCE_S)


def _frame_features(path: Path) -> FrameFeatures:
    """The frames stage's descriptors of a video: frames at the default trigger rate (5 fps)."""
    ref = probe(path)
    batches = iter_frames(ref, sample_times(ref.duration, Settings().trigger_fps), batch_size=32)
    return FrameFeatures.concat(compute_frame_features(times, frames) for times, frames in batches)


def _vtest_path() -> Path:
    """Debian opencv-doc's vtest.avi: a static camera on a square, people walking (80 s)."""
    listing = subprocess.run(["dpkg", "-L", "opencv-doc"], capture_output=True, text=True, check=False).stdout
    found = [Path(line) for line in listing.splitlines() if line.endswith("/vtest.avi") and Path(line).is_file()]
    if not found:
        pytest.skip("Debian package opencv-doc (real pedestrian footage vtest.avi) is not installed")
    return found[0]


def test_people_walking_or_stepping_into_a_still_shot_make_no_cut(tmp_path: Path) -> None:
    """A person popping in changes texture and layout as suddenly as a cut, but over a quarter of the picture."""
    meeting = make_meeting_video(tmp_path / "meeting.mp4")  # B appears at 4 s and vanishes at 10 s, in one frame
    assert detect_cuts(_frame_features(meeting.path)) == []
    assert detect_cuts(_frame_features(_vtest_path())) == []
