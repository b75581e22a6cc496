"""Moment retrieval and embedding export: the seed's calls and CLI, on generated photo videos."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.errors import ModelUnavailable
from core.settings import Settings
from evaluation.photo_scenes import PhotoVideo, make_photo_video
from models.retrieval.config import UnifiedModelConfig
from models.retrieval.event_retrieval import (
    UnifiedRetriever,
    batch_retrieve_events,
    create_unified_model,
    window_bounds,
)
from tests.conftest import run_cli

SEED_RESULT_KEYS = {"video_path", "query", "frames", "times", "scores", "inference_time", "status"}


@pytest.fixture(scope="module")
def tiny_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(profile="tiny", data_dir=tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def retriever(tiny_settings: Settings) -> UnifiedRetriever:
    return create_unified_model(None, tiny_settings)


@pytest.fixture(scope="module")
def photo_video(tmp_path_factory: pytest.TempPathFactory) -> PhotoVideo:
    """Four photos, 3 s each, at 10 fps: astronaut, coffee, chelsea (a cat), rocket."""
    return make_photo_video(tmp_path_factory.mktemp("photos") / "photos.mp4", seconds_each=3.0)


@pytest.fixture(scope="module")
def video_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three short generated videos and one corrupt file that only looks like a video."""
    folder = tmp_path_factory.mktemp("videos")
    for name, photos in (("cat", ["chelsea", "coffee"]), ("space", ["rocket", "astronaut"]), ("coins", ["coins", "camera"])):
        make_photo_video(folder / f"{name}.mp4", photos, seconds_each=1.2)
    (folder / "broken.mp4").write_bytes((folder / "cat.mp4").read_bytes()[:3000])
    (folder / "notes.txt").write_text("not a video, and not reported")
    return folder


def unsampled_query(video: PhotoVideo, scene: int, seed: int) -> np.ndarray:
    """A frame of `scene` at a moment between sampled frames, re-rendered with sensor-like noise."""
    s = video.scenes[scene]
    frame = video.frame_at(s.t0 + 0.37 * (s.t1 - s.t0) + 0.013).astype(np.float32)
    noise = np.random.default_rng(seed).normal(0.0, 8.0, frame.shape)
    return np.clip(frame + noise, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("scene", [0, 1, 2, 3])
def test_a_different_frame_of_a_scene_finds_that_scene(retriever: UnifiedRetriever, photo_video: PhotoVideo, scene: int) -> None:
    query = unsampled_query(photo_video, scene, seed=scene)
    encoding = retriever.encode_video(photo_video.path)
    assert not any(np.array_equal(query, photo_video.frame_at(t)) for t in encoding.frame_times.ravel())
    start, end, _ = retriever.rank_windows(photo_video.path, query)[0]
    target = photo_video.scenes[scene]
    assert target.t0 - 1e-6 <= start and end <= target.t1 + 1e-6, (start, end, target)
    hits = retriever.retrieve_event(photo_video.path, query, top_k=5)
    assert len(hits) == 5 and len({h.frame_index for h in hits}) == 5
    fps = photo_video.fps
    assert all(target.t0 * fps <= h.frame_index < target.t1 * fps for h in hits), [h.frame_index for h in hits]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(abs(h.time - h.frame_index / fps) < 1e-6 for h in hits)


def test_windows_cover_the_video_and_short_videos_get_fewer(retriever: UnifiedRetriever, photo_video: PhotoVideo) -> None:
    config = UnifiedModelConfig()
    bounds = window_bounds(600.0, config, num_frames=18000)
    assert len(bounds) == 75 and bounds[0, 0] == 0.0 and bounds[-1, 1] == 600.0  # 8 s windows at most
    assert len(window_bounds(60.0, config, num_frames=1800)) == 32
    encoding = retriever.encode_video(photo_video.path)
    assert len(encoding.bounds) == 120 // 12  # 12 s at 10 fps: 10 windows of 12 distinct frames
    assert encoding.bounds[-1, 1] == pytest.approx(photo_video.duration, abs=0.05)


def test_video_embedding_is_a_unit_vector_that_tells_videos_apart(
    retriever: UnifiedRetriever, photo_video: PhotoVideo, video_dir: Path
) -> None:
    first = retriever.extract_video_embedding(photo_video.path)
    again = create_unified_model(None, Settings(profile="tiny")).extract_video_embedding(photo_video.path)
    other = retriever.extract_video_embedding(video_dir / "coins.mp4")
    assert first.shape == (64,) and first.dtype == np.float32
    assert np.linalg.norm(first) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(first, again, atol=1e-6)
    assert float(first @ other) < float(first @ again) - 1e-3


def test_batch_retrieve_reports_a_bad_video_and_answers_the_others(
    tiny_settings: Settings, photo_video: PhotoVideo, video_dir: Path
) -> None:
    requests = [
        {"video_path": str(photo_video.path), "query": "a rocket on the launch pad"},
        {"video_path": str(video_dir / "broken.mp4"), "query": "a cat"},
        {"video_path": str(video_dir / "cat.mp4"), "query": "a cat"},
    ]
    results = batch_retrieve_events(requests, top_k=3, settings=tiny_settings)
    assert [r["status"] for r in results] == ["success", "error", "success"]
    for result in results:
        assert SEED_RESULT_KEYS <= set(result)
    assert "broken.mp4" in results[1]["error"] and results[1]["frames"] == []
    assert len(results[0]["frames"]) == 3 and len(results[2]["times"]) == 3
    assert all(0 <= f < 24 for f in results[2]["frames"])  # cat.mp4 is 2.4 s at 10 fps


def test_without_clip_weights_retrieval_says_so(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="no CLIP weights"):
        create_unified_model(None, Settings(profile="offline", data_dir=tmp_path))


def test_retrieve_cli_prints_the_seed_view_and_json(photo_video: PhotoVideo, tmp_path: Path) -> None:
    query_image = tmp_path / "query.png"
    import cv2

    cv2.imwrite(str(query_image), cv2.cvtColor(unsampled_query(photo_video, 3, seed=7), cv2.COLOR_RGB2BGR))
    shown = run_cli("retrieve", str(photo_video.path), "--image", str(query_image), "--top-k", "3",
                    "--profile", "tiny", "--data-dir", str(tmp_path))
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "INFERENCE RESULTS" and lines[1] == "=" * 50
    frames = json.loads(next(line for line in lines if line.startswith("Relevant frames:")).split(":", 1)[1])
    assert len(frames) == 3 and all(90 <= f < 120 for f in frames)  # the rocket scene, 9-12 s
    assert "Number of frames: 3" in lines
    as_json = run_cli("retrieve", str(photo_video.path), "a rocket", "--json", "--profile", "tiny",
                      "--data-dir", str(tmp_path))
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert SEED_RESULT_KEYS <= set(data) and len(data["frames"]) == 5 and data["query"] == "a rocket"
    missing = run_cli("retrieve", str(tmp_path / "nope.mp4"), "a rocket", "--profile", "tiny", "--data-dir", str(tmp_path))
    assert missing.returncode == 2 and "nope.mp4: no such file" in missing.stderr and "Traceback" not in missing.stderr


def test_embed_cli_writes_the_seed_formats_and_skips_a_corrupt_file(video_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "embeddings"
    result = run_cli("embed", str(video_dir), "--out", str(out), "--format", "both", "--consolidated", "--summary",
                     "--profile", "tiny", "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 2, result.stderr  # like ingest: the good files are done, the exit code says one failed
    assert "broken.mp4" in result.stderr and "Traceback" not in result.stderr
    assert "Processed 3 videos successfully, 1 failed" in result.stdout
    names = ("cat", "coins", "space")
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{n}_embedding.npy" for n in names] + [f"{n}_embedding.json" for n in names]
        + ["consolidated_embeddings.json", "processing_summary.json"]
    )
    for name in names:
        vector = np.load(out / f"{name}_embedding.npy")
        record = json.loads((out / f"{name}_embedding.json").read_text())
        assert set(record) == {"video_path", "embedding", "shape", "dtype"}
        assert record["shape"] == [64] and record["dtype"] == "float32" and vector.shape == (64,)
        np.testing.assert_allclose(record["embedding"], vector, atol=1e-7)
        assert record["video_path"].endswith(f"{name}.mp4")
    consolidated = json.loads((out / "consolidated_embeddings.json").read_text())
    assert sorted(consolidated["embeddings"]) == list(names)
    metadata = consolidated["metadata"]
    assert (metadata["total_videos"], metadata["successful"], metadata["failed"]) == (4, 3, 1)
    assert len(metadata["processing_date"]) == len("2024-01-15 10:30:00")
    summary = json.loads((out / "processing_summary.json").read_text())
    statuses = {Path(v["video_path"]).name: v["status"] for v in summary["videos"]}
    assert statuses == {"broken.mp4": "error", "cat.mp4": "success", "coins.mp4": "success", "space.mp4": "success"}


def test_embed_cli_refuses_a_folder_without_videos(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = run_cli("embed", str(tmp_path / "empty"), "--out", str(tmp_path / "out"), "--profile", "tiny",
                     "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 2 and "holds no video files" in result.stderr
