"""The captions stage: the VLM sees triggered segments only, the trigger JSON carries what it said.

The VLM here is a real `transformers serve` (tiny LLaVA, random weights) behind a logging proxy
that counts the images the server actually received; the clip captioner is the tiny SpaceTimeGPT.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import IngestedSample, ServedModel
from logging_proxy import LoggingProxy

from core.errors import BackendUnreachable
from core.settings import Settings
from core.types import Trigger, format_timestamp
from evaluation.speech_synthesis import espeak_available
from evaluation.trigger_scenario import TriggerScenario, make_trigger_video
from memory.ingest.captioning import vlm_frame_times
from memory.ingest.pipeline import ingest_video
from memory.notes import manifest_notes
from memory.records import triggered_segments
from memory.video_memory import VideoMemory
from memory.views import captions_view, triggers_view
from models.vlm.server import free_port


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> TriggerScenario:
    if not espeak_available():
        pytest.skip("espeak-ng is not installed")
    return make_trigger_video(tmp_path_factory.mktemp("captions") / "events.mp4")


def _segment_of(prompt: str) -> tuple[str, str]:
    """The `from mm:ss to mm:ss` range a dense-caption request names."""
    found = re.search(r"from (\d\d:\d\d) to (\d\d:\d\d)", prompt)
    assert found, prompt
    return found.group(1), found.group(2)


def test_dense_captions_go_to_triggered_segments_only_and_fill_the_trigger_json(
    scenario: TriggerScenario, transformers_server: ServedModel, tmp_path: Path
) -> None:
    base = Settings(profile="tiny", device="cpu", data_dir=tmp_path / "data", detector_fps=1.0,
                    vlm_model=transformers_server.model)  # fmt: skip
    down = base.model_copy(update={"vlm_url": f"http://127.0.0.1:{free_port()}/v1"})
    with pytest.raises(BackendUnreachable, match="127.0.0.1"):
        ingest_video(scenario.path, down)
    assert "captions" not in VideoMemory.for_path(down, scenario.path).manifest.stages  # the rest is kept

    with LoggingProxy(transformers_server.base_url.removesuffix("/v1")) as proxy:
        settings = base.model_copy(update={"vlm_url": proxy.url + "/v1"})
        report = ingest_video(scenario.path, settings)
        exchanges = proxy.completions()
    assert report.ran == ["captions", "graph", "clusters"], "the finished stages are kept; the rest runs"

    memory = VideoMemory.for_path(settings, scenario.path)
    bounds = [(s.t0, s.t1) for s in memory.segments()]
    triggered = triggered_segments(bounds, memory.triggers())
    assert 0 < len(triggered) < len(bounds)
    captions = memory.captions()

    dense_requests = [e for e in exchanges if e.image_count() > 0]
    summary_requests = [e for e in exchanges if e.image_count() == 0]
    by_range = {_segment_of(e.prompt_text()): e for e in dense_requests}
    expected_ranges = {(format_timestamp(bounds[i][0]), format_timestamp(bounds[i][1])): i for i in triggered}
    assert len(dense_requests) == len(triggered) and set(by_range) == set(expected_ranges)
    for where, exchange in by_range.items():
        index = expected_ranges[where]
        times = vlm_frame_times(*bounds[index], triggered[index], settings.vlm_frames_per_caption)
        assert exchange.image_count() == len(times) == len(captions[index].frames)
        assert list(captions[index].frames) == times
        assert captions[index].dense == exchange.answer().strip()
    assert sum(e.image_count() for e in exchanges) == sum(len(c.frames) for c in captions)
    assert all(c.dense == "" and c.frames == () for c in captions if c.index not in triggered)

    view = triggers_view(memory)
    for trigger in view["triggers"]:
        index = next(i for i, moments in triggered.items() if trigger["timestamp"] in moments)
        assert trigger["analysis"] == captions[index].dense and trigger["analysis"]
    assert len(summary_requests) == 1 and view["video_summary"] == summary_requests[0].answer().strip()
    listed = captions_view(memory)
    assert listed["vlm_images"] == sum(e.image_count() for e in dense_requests)
    assert listed["captioner"] and all(isinstance(s["caption"], str) for s in listed["segments"])
    assert sum(1 for s in listed["segments"] if s["caption"]) == memory.summary("captions")["captioned"] > 0


def test_without_captioner_or_vlm_the_trigger_json_stays_empty(offline_memory: IngestedSample) -> None:
    memory = VideoMemory.for_path(offline_memory.settings, offline_memory.video.path)
    view = triggers_view(memory)
    assert view["triggers"] and all(t["analysis"] == "" for t in view["triggers"])
    assert view["video_summary"] == ""
    assert "no captioner or VLM: segments were not described" in manifest_notes(memory.manifest)
    assert all(c.caption == "" and c.dense == "" for c in memory.captions())


def test_keyframes_start_from_the_trigger_moments() -> None:
    assert vlm_frame_times(4.0, 8.0, [5.0], 4) == [4.5, 5.0, 6.5, 7.5]
    assert vlm_frame_times(4.0, 8.0, [4.2, 6.0, 6.0, 7.9], 2) == [4.2, 6.0]
    assert vlm_frame_times(0.0, 2.0, [], 1) == [1.0]
    triggers = [Trigger(5.0, 125, 0.9, ("shot_cut",)), Trigger(8.0, 200, 0.8, ("novelty",))]
    assert triggered_segments([(0.0, 4.0), (4.0, 8.0), (8.0, 10.0)], triggers) == {1: [5.0], 2: [8.0]}
