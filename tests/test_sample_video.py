"""The synthetic sample video holds what its description says: timing, narration energy, scenes."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from evaluation import speech_synthesis
from evaluation.sample_video import (
    DEFAULT_NARRATION,
    SampleVideo,
    description_path,
    make_sample_video,
    plan_scenes,
    render_frame,
)
from evaluation.speech_synthesis import AUDIO_RATE, espeak_available

needs_espeak = pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed")

SPEECH_RMS = 0.02
SILENCE_RMS = 0.002
QUIET_MARGIN_S = 0.5


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> SampleVideo:
    """The default sample video, with narration (generated once for the module)."""
    if not espeak_available():
        pytest.skip("espeak-ng is not installed")
    return make_sample_video(tmp_path_factory.mktemp("spoken") / "sample.mp4")


@pytest.fixture(scope="module")
def silent(tmp_path_factory: pytest.TempPathFactory) -> SampleVideo:
    """The default sample video without an audio track."""
    return make_sample_video(tmp_path_factory.mktemp("silent") / "sample.mp4", with_audio=False)


def decode_video(path: Path) -> tuple[list[np.ndarray], float, int]:
    """All frames as RGB, the container duration in seconds, and the number of audio streams."""
    with av.open(str(path)) as container:
        duration = float(container.duration) / av.time_base
        audio_streams = len(container.streams.audio)
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    return frames, duration, audio_streams


def decode_audio(path: Path) -> tuple[np.ndarray, int]:
    """The audio track as float32 mono at 16 kHz, and the stream's own sample rate."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_RATE)
    chunks: list[np.ndarray] = []
    with av.open(str(path)) as container:
        stream_rate = container.streams.audio[0].sample_rate
        for frame in container.decode(audio=0):
            chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(frame))
        chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
    return np.concatenate(chunks).astype(np.float32), stream_rate


def rms(samples: np.ndarray, t0: float, t1: float) -> float:
    """Root mean square of the samples between two times."""
    window = samples[round(t0 * AUDIO_RATE) : round(t1 * AUDIO_RATE)]
    assert window.size > 0, f"empty audio window {t0:.2f}-{t1:.2f} s"
    return float(np.sqrt(np.mean(np.square(window, dtype=np.float64))))


@needs_espeak
def test_video_decodes_with_described_timing(spoken: SampleVideo) -> None:
    frames, duration, audio_streams = decode_video(spoken.path)
    assert audio_streams == 1
    assert len(frames) == round(spoken.duration * spoken.fps)
    assert duration == pytest.approx(spoken.duration, abs=0.25)
    assert frames[0].shape == (spoken.height, spoken.width, 3)
    assert (spoken.duration, spoken.fps, spoken.width, spoken.height) == (28.0, 10.0, 640, 360)


@needs_espeak
def test_narration_is_heard_exactly_where_described(spoken: SampleVideo) -> None:
    samples, stream_rate = decode_audio(spoken.path)
    assert stream_rate == AUDIO_RATE
    assert len(samples) / AUDIO_RATE == pytest.approx(spoken.duration, abs=0.25)
    assert [(line.t0, line.text) for line in spoken.narration] == list(DEFAULT_NARRATION)
    for line in spoken.narration:
        assert 1.0 < line.t1 - line.t0 < 5.0, line
        assert rms(samples, line.t0, line.t1) > SPEECH_RMS, line
    quiet = [(0.0, spoken.narration[0].t0)]
    quiet += [(line.t1, following.t0) for line, following in zip(spoken.narration, spoken.narration[1:])]
    quiet += [(spoken.narration[-1].t1, spoken.duration)]
    for gap_start, gap_end in quiet:
        start, end = gap_start + QUIET_MARGIN_S, gap_end - QUIET_MARGIN_S
        if end - start > 0.2:
            assert rms(samples, start, end) < SILENCE_RMS, (start, end)


@needs_espeak
def test_description_json_matches(spoken: SampleVideo) -> None:
    written = json.loads(description_path(spoken.path).read_text())
    assert written == spoken.to_dict()
    assert SampleVideo.from_dict(written) == spoken
    assert written["has_audio"] is True and written["audio_rate"] == AUDIO_RATE
    assert written["video_codec"] in ("libx264", "mpeg4")


@needs_espeak
def test_decord_reads_every_frame(spoken: SampleVideo) -> None:
    decord = pytest.importorskip("decord")
    reader = decord.VideoReader(str(spoken.path))
    assert len(reader) == round(spoken.duration * spoken.fps)
    assert reader[len(reader) - 1].shape == (spoken.height, spoken.width, 3)


def test_no_audio_variant_has_no_audio_stream(silent: SampleVideo) -> None:
    frames, duration, audio_streams = decode_video(silent.path)
    assert audio_streams == 0
    assert len(frames) == round(silent.duration * silent.fps)
    assert duration == pytest.approx(silent.duration, abs=0.25)
    assert silent.narration == () and not silent.has_audio
    assert json.loads(description_path(silent.path).read_text()) == silent.to_dict()


def test_scenes_tile_the_video_and_show_known_people(silent: SampleVideo) -> None:
    scenes = silent.scenes
    assert scenes[0].t0 == 0.0 and scenes[-1].t1 == silent.duration
    assert all(a.t1 == b.t0 for a, b in zip(scenes, scenes[1:]))
    assert [(s.image, s.title, s.shows_person) for s in scenes] == [
        ("rocket", "HARBOR TOUR", False),
        ("camera", "BRIDGE BUDGET", True),
        ("astronaut", "SCIENCE MUSEUM", True),
        ("coffee", "GARDEN CAFE", False),
    ]
    assert [(s.t0, s.t1) for s in scenes if s.shows_person] == [(6.5, 13.5), (13.5, 20.5)]


def test_frames_move_within_a_scene_and_cut_between_scenes(silent: SampleVideo) -> None:
    frames, _, _ = decode_video(silent.path)

    def frame_at(t: float) -> np.ndarray:
        return frames[round(t * silent.fps)].astype(np.int16)

    within = np.abs(frame_at(10.0) - frame_at(10.1)).mean()
    across = np.abs(frame_at(13.4) - frame_at(13.5)).mean()
    assert within > 0.2, "Ken Burns motion should change consecutive frames within a scene"
    assert across > 4 * within, "a scene cut should change the picture far more than motion"


def test_rendering_is_deterministic_per_seed() -> None:
    scenes = plan_scenes(list(DEFAULT_NARRATION), 28.0, default_titles=True)
    size = (320, 180)
    first = render_frame(scenes, 10.0, size, seed=0)
    assert np.array_equal(first, render_frame(scenes, 10.0, size, seed=0))
    assert not np.array_equal(first, render_frame(scenes, 10.0, size, seed=1))


def test_missing_espeak_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speech_synthesis, "ESPEAK", "espeak-ng-not-installed")
    with pytest.raises(RuntimeError, match="espeak-ng-not-installed"):
        make_sample_video(tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()


@needs_espeak
def test_overlapping_narration_fails_clearly(tmp_path: Path) -> None:
    narration = [(1.0, "This sentence takes far longer than one second to say."), (2.0, "Too soon.")]
    with pytest.raises(ValueError, match="narration overlaps"):
        make_sample_video(tmp_path / "x.mp4", narration=narration)
    assert not (tmp_path / "x.mp4").exists()


def test_odd_size_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="even"):
        make_sample_video(tmp_path / "x.mp4", with_audio=False, size=(641, 360))


def test_a_binary_photo_is_drawn_white_on_black() -> None:
    from evaluation.sample_video import load_photo

    horse = load_photo("horse")
    assert horse.dtype.name == "uint8" and horse.max() == 255 and horse.min() == 0


def test_a_photo_scikit_image_does_not_ship_is_refused_before_writing(tmp_path: Path) -> None:
    # `lily` would be downloaded from the internet; `binary_blobs` differs on every call
    for name in ("lily", "binary_blobs"):
        with pytest.raises(ValueError, match=f"photo '{name}': not one of scikit-image's bundled photos"):
            make_sample_video(tmp_path / "x.mp4", with_audio=False, narration=[(0.5, "x")], photos=[(name, "", False)])
    assert not (tmp_path / "x.mp4").exists()


def test_the_stereo_pair_gives_its_left_view() -> None:
    from evaluation.sample_video import load_photo

    assert load_photo("stereo_motorcycle").shape == (500, 741, 3)
