"""Every shot boundary is structure: a slideshow's cuts all reach the scene list, the scene memory and the
timeline, while the trigger budget still caps the moments sent to expensive analysis and the trigger JSON."""

from __future__ import annotations

import pytest
from langchain_core.messages import ToolMessage

from core.settings import Settings
from evaluation.photo_scenes import make_photo_video
from memory.ingest.pipeline import ingest_video
from memory.video_memory import VideoMemory
from memory.views import triggers_view
from models.cache import ModelCache
from perception.triggers import allowed_segments
from tools import build_tools
from ui.timeline_lanes import timeline_lanes

SLIDES = ("astronaut", "coins", "grass", "coffee", "camera", "page", "chelsea", "clock", "gravel", "rocket")
"""Ten photos, 8 s each: adjacent grey photos (coins/grass, camera/page) look alike to scene clustering."""
SECONDS_EACH = 8.0
CUTS = [SECONDS_EACH * i for i in range(1, len(SLIDES))]
TOLERANCE = 1.0


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
