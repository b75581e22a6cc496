"""Cross-temporal scene clustering: a scene shown again, reframed and noisy, joins its first showing, and
different photos stay different scenes even when their colours are alike (greyscale) and their narration is too."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.settings import Settings
from evaluation.recurring_scenes import RecurringVideo, make_recurring_video
from evaluation.sample_video import SampleVideo, make_sample_video
from memory.ingest.clustering import Piece, choose_clusters, shot_pieces, showings
from memory.ingest.pipeline import ingest_video
from memory.records import ClusterResult
from memory.video_memory import VideoMemory
from perception.scene_distance import cosine_distances

GREY_PHOTOS = ("coins", "page", "brick", "camera", "coins")
"""Greyscale photos (alike in colour), the first shown again at the end."""
GREY_NARRATION = (
    (1.0, "The museum keeps old coins from the city."),
    (6.0, "A page from the museum's first catalogue."),
    (11.0, "The museum wall is made of old brick."),
    (16.0, "A visitor photographs the museum garden."),
    (21.0, "More old coins from the museum collection."),
)
"""One line per photo, all about one museum: the speech must not glue different photos together."""


@pytest.fixture(scope="module")
def recurring(tmp_path_factory: pytest.TempPathFactory) -> RecurringVideo:
    return make_recurring_video(tmp_path_factory.mktemp("recurring") / "recurring.mp4")


def _photo_of_segments(video: RecurringVideo, memory: VideoMemory) -> list[str]:
    return [video.photo_at((s.t0 + s.t1) / 2) for s in memory.segments()]


@pytest.fixture(scope="module")
def grey_slideshow(tmp_path_factory: pytest.TempPathFactory) -> SampleVideo:
    return make_sample_video(
        tmp_path_factory.mktemp("grey") / "grey.mp4", size=(160, 90), fps=5.0, narration=GREY_NARRATION,
        photos=[(photo, "", False) for photo in GREY_PHOTOS],
    )  # fmt: skip


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
    labels, _, how, _ = choose_clusters(cosine_distances(same))
    assert set(labels.tolist()) == {0} and how.startswith("one scene")
    two = np.vstack([np.eye(8)[0] + rng.normal(0, 0.01, (4, 8)), np.eye(8)[1] + rng.normal(0, 0.01, (4, 8))])
    labels, score, how, _ = choose_clusters(cosine_distances(two))
    assert labels.tolist() == [0, 0, 0, 0, 1, 1, 1, 1] and how == "silhouette" and score > 0.9
    labels, _, how, _ = choose_clusters(cosine_distances(two), fixed=3)
    assert len(set(labels.tolist())) == 3 and how == "settings" and labels[0] == 0


def test_grey_photos_are_one_scene_each_and_a_repeat_joins_the_first(
    grey_slideshow: SampleVideo, tmp_path: Path
) -> None:
    settings = Settings(profile="offline", device="cpu", data_dir=tmp_path / "data", detector_fps=1.0)
    ingest_video(grey_slideshow.path, settings)
    result = VideoMemory.for_path(settings, grey_slideshow.path).clusters()
    shown = [(s.image, s.t0, s.t1) for s in grey_slideshow.scenes]
    scene_of = [_scene_covering(result, t0, t1) for _, t0, t1 in shown]
    assert result.count == len(set(GREY_PHOTOS)) == 4, (shown, [c.spans for c in result.clusters])
    assert scene_of == [0, 1, 2, 3, 0], (shown, [c.spans for c in result.clusters])
    assert "coins" in result.clusters[0].label and result.clusters[0].recurs
    assert result.descriptor == "hsv-histogram+texture+layout"  # how it looks decides, not what is said


def _scene_covering(result: ClusterResult, t0: float, t1: float) -> int:
    """The scene shown longest between t0 and t1."""
    cover = {c.cluster_id: sum(max(0.0, min(b, t1) - max(a, t0)) for a, b in c.spans) for c in result.clusters}
    return max(cover, key=lambda k: cover[k])


def test_pieces_cut_segments_at_shot_boundaries_and_showings_join_them() -> None:
    bounds = [(0.0, 4.0), (4.0, 8.0), (8.0, 12.0), (12.0, 16.0)]
    assert shot_pieces(bounds) == [Piece(0.0, 4.0, 0), Piece(4.0, 8.0, 1), Piece(8.0, 12.0, 2), Piece(12.0, 16.0, 3)]
    # a cut at 9 s splits segment 2; a cut at 7.8 s leaves 0.2 s of segment 1 in the next shot: it joins that
    # shot's piece of segment 2
    pieces = shot_pieces(bounds, [7.8, 9.0])
    assert pieces == [
        Piece(0.0, 4.0, 0), Piece(4.0, 7.8, 1), Piece(7.8, 9.0, 2), Piece(9.0, 12.0, 2), Piece(12.0, 16.0, 3)
    ]  # fmt: skip
    # a shot shorter than a piece's minimum stays a piece of its own
    assert Piece(5.0, 5.3, 1) in shot_pieces(bounds, [5.0, 5.3])
    # runs of one scene join, except across a shot boundary
    runs = showings(pieces, [0, 0, 1, 1, 0], [7.8, 9.0])
    assert runs == [(0.0, 7.8, 0), (7.8, 9.0, 1), (9.0, 12.0, 1), (12.0, 16.0, 0)]
    assert showings(pieces, [0, 0, 0, 0, 0], [7.8, 9.0]) == [(0.0, 7.8, 0), (7.8, 9.0, 0), (9.0, 16.0, 0)]
