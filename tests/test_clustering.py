"""Cross-temporal scene clustering: a scene shown again, reframed and noisy, joins its first showing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.settings import Settings
from evaluation.recurring_scenes import RecurringVideo, make_recurring_video
from memory.ingest.clustering import choose_clusters, showings
from memory.ingest.pipeline import ingest_video
from memory.video_memory import VideoMemory


@pytest.fixture(scope="module")
def recurring(tmp_path_factory: pytest.TempPathFactory) -> RecurringVideo:
    return make_recurring_video(tmp_path_factory.mktemp("recurring") / "recurring.mp4")


def _photo_of_segments(video: RecurringVideo, memory: VideoMemory) -> list[str]:
    return [video.photo_at((s.t0 + s.t1) / 2) for s in memory.segments()]


@pytest.mark.parametrize("profile", ["offline", "tiny"])
def test_a_recurring_scene_shares_one_cluster_and_others_do_not(
    recurring: RecurringVideo, tmp_path: Path, profile: str
) -> None:
    settings = Settings(profile=profile, device="cpu", data_dir=tmp_path / "data", detector_fps=1.0)
    ingest_video(recurring.path, settings)
    memory = VideoMemory.for_path(settings, recurring.path)
    result = memory.clusters()
    photos = _photo_of_segments(recurring, memory)
    by_photo: dict[str, set[int]] = {}
    for photo, label in zip(photos, result.labels):
        by_photo.setdefault(photo, set()).add(label)
    assert all(len(labels) == 1 for labels in by_photo.values()), (photos, result.labels)
    assert len({next(iter(labels)) for labels in by_photo.values()}) == len(by_photo) == 3
    expected = "clip+hsv-histogram" if profile == "tiny" else "hsv-histogram"
    assert result.descriptor.startswith(expected)
    scene = result.clusters[result.labels[0]]
    assert scene.recurs and scene.spans == ((0.0, 8.0), (24.0, 32.0))
    assert all(not c.recurs for c in result.clusters if c is not scene)
    assert scene.label == "shown 00:00-00:08, 00:24-00:32"  # no speech and no meaningful captions to name it


def test_one_scene_stays_one_cluster_and_k_can_be_fixed() -> None:
    rng = np.random.default_rng(0)
    same = np.ones((6, 8)) + rng.normal(0, 0.01, (6, 8))
    labels, _, how, _ = choose_clusters(same)
    assert set(labels.tolist()) == {0} and how.startswith("one scene")
    two = np.vstack([np.eye(8)[0] + rng.normal(0, 0.01, (4, 8)), np.eye(8)[1] + rng.normal(0, 0.01, (4, 8))])
    labels, score, how, _ = choose_clusters(two)
    assert labels.tolist() == [0, 0, 0, 0, 1, 1, 1, 1] and how == "silhouette" and score > 0.9
    labels, _, how, _ = choose_clusters(two, fixed=3)
    assert len(set(labels.tolist())) == 3 and how == "settings" and labels[0] == 0


def test_showings_join_consecutive_segments_and_split_at_shot_boundaries() -> None:
    bounds = [(0.0, 4.0), (4.0, 8.0), (8.0, 12.0), (12.0, 16.0)]
    assert showings(bounds, [0, 0, 1, 0]) == [(0.0, 8.0, 0), (8.0, 12.0, 1), (12.0, 16.0, 0)]
    assert showings(bounds, [0, 0, 1, 1], [4.0]) == [(0.0, 4.0, 0), (4.0, 8.0, 0), (8.0, 16.0, 1)]
    # a cut at 9 s: the second off segment 2 belongs to the shot of segment 1, so to its scene
    assert showings(bounds, [0, 0, 1, 1], [9.0]) == [(0.0, 9.0, 0), (9.0, 16.0, 1)]
    # a cut at 7 s: the last second of segment 1 is the next shot's
    assert showings(bounds, [0, 0, 1, 1], [7.0]) == [(0.0, 7.0, 0), (7.0, 16.0, 1)]
    # a short shot inside one segment keeps that segment's scene
    assert showings(bounds, [0, 0, 1, 1], [5.0, 7.0]) == [(0.0, 5.0, 0), (5.0, 7.0, 0), (7.0, 16.0, 1)]
