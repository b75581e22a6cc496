"""Files decord cannot read still ingest (via PyAV), photos are not videos, and small damage is survivable."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import VideoUnreadable
from evaluation.sample_video import SampleVideo
from models.adapters.video import AUDIO_RATE, iter_frames, load_audio, probe, sample_times

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed (make test installs it)")


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True, timeout=120)


def test_a_photo_named_mp4_is_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "holiday.mp4"
    Image.fromarray(np.full((120, 160, 3), 200, dtype=np.uint8)).save(path, format="PNG")
    with pytest.raises(VideoUnreadable, match="is a still image, not a video"):
        probe(path)


@needs_ffmpeg
@pytest.mark.parametrize(("name", "args"), [
    ("clip.gif", ["-t", "3", "-vf", "fps=10,scale=320:-1"]),
    ("clip-av1.mp4", ["-t", "3", "-an", "-c:v", "libaom-av1", "-cpu-used", "8", "-b:v", "150k"]),
])
def test_formats_decord_cannot_open_are_decoded_with_pyav(
    silent_sample: SampleVideo, tmp_path: Path, name: str, args: list[str]
) -> None:
    path = tmp_path / name
    _ffmpeg("-i", str(silent_sample.path), *args, str(path))
    ref = probe(path)
    assert ref.decoder == "pyav" and ref.duration == pytest.approx(3.0, abs=0.3)
    times = sample_times(ref.duration, 2.0)
    batches = list(iter_frames(ref, times, batch_size=4))
    frames = np.concatenate([f for _, f in batches])
    assert len(frames) == len(times) and frames.shape[-1] == 3 and frames.std() > 5


def test_a_little_damage_loses_little_audio(sample: SampleVideo, tmp_path: Path) -> None:
    data = bytearray(sample.path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 3000] = bytes((b * 7 + 13) % 256 for b in data[middle : middle + 3000])
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    audio = load_audio(probe(damaged))
    assert len(audio) / AUDIO_RATE == pytest.approx(sample.duration, abs=1.5)
