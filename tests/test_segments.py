"""Visual memory in the tiny profile: segments cover the video, vectors land in Chroma, tools return them."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings
from evaluation.sample_video import SampleVideo
from memory.ingest.pipeline import ingest_video
from memory.retrieval import search_segments
from memory.segments import segment_bounds
from memory.video_memory import VideoMemory
from models.cache import ModelCache
from tools.video_tools import build_tools


@pytest.fixture(scope="module")
def tiny_memory(silent_sample: SampleVideo, tmp_path_factory: pytest.TempPathFactory) -> tuple[VideoMemory, ModelCache]:
    settings = Settings(profile="tiny", data_dir=tmp_path_factory.mktemp("tiny"), detector_fps=1.0)
    models = ModelCache.for_settings(settings)
    ingest_video(silent_sample.path, settings, models=models)
    return VideoMemory.for_path(settings, silent_sample.path), models


def test_segments_tile_the_video(tiny_memory: tuple[VideoMemory, ModelCache], silent_sample: SampleVideo) -> None:
    memory, _ = tiny_memory
    segments = memory.segments()
    assert segments[0].t0 == 0.0 and segments[-1].t1 == pytest.approx(silent_sample.duration, abs=0.2)
    assert all(a.t1 == b.t0 for a, b in zip(segments, segments[1:]))
    assert all(s.t0 <= s.keyframe < s.t1 for s in segments)


def test_short_tails_join_the_last_segment() -> None:
    assert segment_bounds(8.6, 4.0) == [(0.0, 4.0), (4.0, 8.6)]
    assert segment_bounds(10.0, 4.0) == [(0.0, 4.0), (4.0, 8.0), (8.0, 10.0)]


def test_segment_search_returns_ranked_moments(tiny_memory: tuple[VideoMemory, ModelCache]) -> None:
    memory, models = tiny_memory
    hits = search_segments(memory, "an astronaut in a white suit", models, top_k=3)
    assert len(hits) == 3
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert {(h.t0, h.t1) for h in hits} <= {(s.t0, s.t1) for s in memory.segments()}
    assert memory.summary("segments")["frames"] == 28, "1 fps over 28 s"


def test_tools_render_evidence_with_timestamps(tiny_memory: tuple[VideoMemory, ModelCache]) -> None:
    memory, models = tiny_memory
    tools = {tool.name: tool for tool in build_tools(memory, models)}
    assert {"search_transcript", "query_actors", "search_segments"} <= set(tools)
    message = tools["search_segments"].invoke(
        {"type": "tool_call", "name": "search_segments", "args": {"query": "a rocket", "top_k": 2}, "id": "1"}
    )
    assert message.content.count("\n") == 1 and message.content.startswith("[00:")
    assert len(message.artifact) == 2
    silent = tools["search_transcript"].invoke({"query": "budget"})
    assert silent == "nothing found"


def test_memory_of_unknown_video_is_a_clear_error(tmp_path: Path, silent_sample: SampleVideo) -> None:
    from core.errors import InvalidRequest

    with pytest.raises(InvalidRequest, match="not in memory yet"):
        VideoMemory.for_path(Settings(data_dir=tmp_path), silent_sample.path)


def test_segment_vectors_come_from_the_tempme_encoder(tiny_memory: tuple[VideoMemory, ModelCache]) -> None:
    """Ingest encodes each segment's frames together (token merging): stored vectors are the encoder's."""
    import numpy as np

    from memory.store import VectorStore, run_filter
    from models.adapters.video import iter_frames, probe
    from models.retrieval.config import load_config
    from models.retrieval.segment_encoder import SegmentEncoder

    memory, models = tiny_memory
    clip = models.clip()
    assert clip is not None
    times, vectors = memory.frame_vectors()
    assert times is not None and vectors is not None
    segment = memory.segments()[1]
    inside = (times >= segment.t0) & (times < segment.t1)
    ref = probe(memory.ref.path)
    frames = np.concatenate([batch for _, batch in iter_frames(ref, times[inside])])
    expected = SegmentEncoder.for_clip(clip, load_config(memory.settings.retrieval_config)).encode(frames[None])
    np.testing.assert_allclose(vectors[inside], expected.frames[0], atol=1e-4)
    plain = clip.encode_images(frames)
    assert np.abs(vectors[inside] - plain).max() > 1e-3, "frames were merged with their neighbours"
    store = VectorStore(memory.settings)
    summary = memory.summary("segments")
    hits = store.query(summary["collection"], expected.segments[0], 1, run_filter(memory.video_id, memory.run_id("segments")))
    assert (hits[0].metadata["t0"], hits[0].similarity) == (segment.t0, pytest.approx(1.0, abs=1e-4))
