"""Valid H.264 files with tiny frames (16x16, 1x1) are videos too: decord opens them but cannot copy their
frames out, so they are decoded with PyAV, and they ingest like any other video."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import IngestedSample

from memory.ingest.pipeline import ingest_video
from models.adapters.video import iter_frames, probe, sample_times

pytestmark = pytest.mark.skipif(
    shutil.which("ffmpeg") is None, reason="ffmpeg is not installed (make test installs it)"
)

TINY = {"16x16": ("blue", "yuv420p", (0, 0, 255)), "1x1": ("red", "yuv444p", (255, 0, 0))}
"""size -> (colour, pixel format libx264 accepts at that size, expected RGB)."""


@pytest.fixture(scope="module")
def tiny_videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 2 s, 10 fps, one-colour H.264 mp4 of each tiny size."""
    folder = tmp_path_factory.mktemp("tiny")
    videos = {}
    for size, (colour, pixels, _) in TINY.items():
        path = folder / f"tiny-{size}.mp4"
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"color=c={colour}:size=2x2:rate=10",
                        "-vf", f"scale={size.replace('x', ':')}", "-t", "2", "-c:v", "libx264", "-pix_fmt", pixels,
                        str(path)], check=True, timeout=60)  # fmt: skip
        videos[size] = path
    return videos


@pytest.mark.parametrize("size", list(TINY))
def test_tiny_frames_decode_with_their_colour(tiny_videos: dict[str, Path], size: str) -> None:
    ref = probe(tiny_videos[size])
    assert ref.decoder == "pyav" and (ref.width, ref.height) == tuple(map(int, size.split("x")))
    assert ref.duration == pytest.approx(2.0, abs=0.15)
    times = sample_times(ref.duration, 2.0)
    frames = np.concatenate([batch for _, batch in iter_frames(ref, times, batch_size=3)])
    assert frames.shape == (len(times), ref.height, ref.width, 3)
    np.testing.assert_allclose(frames.reshape(-1, 3).mean(axis=0), TINY[size][2], atol=12)


def test_tiny_videos_ingest(tiny_videos: dict[str, Path], offline_memory: IngestedSample, tmp_path: Path) -> None:
    settings = offline_memory.settings.model_copy(update={"data_dir": tmp_path / "memory"})
    for path in tiny_videos.values():
        report = ingest_video(path, settings, models=offline_memory.models)
        assert not report.cached and "frames" in report.ran and report.video.duration == pytest.approx(2.0, abs=0.15)
