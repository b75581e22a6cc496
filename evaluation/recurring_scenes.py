"""A silent test video where one scene recurs: shown, then other scenes, then shown again reframed.

The second showing of the recurring photo is cropped to another framing, zoomed in, shifted and
covered in sensor-like noise, so it is the same place seen differently, not a copy of the frames.
Ground truth: which scene (photo) is on screen in each interval. Cross-temporal clustering must put
both showings in one cluster and every other scene in clusters of its own.

`python -m evaluation.recurring_scenes OUT.mp4` writes it and prints the timeline.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evaluation.sample_video import VIDEO_CODECS, letterbox, pick_codec, write_video

SIZE = (192, 108)
FPS = 8.0


@dataclass(frozen=True)
class Showing:
    """One stretch of the video: which photo, when, and how it is framed."""

    photo: str
    t0: float
    t1: float
    zoom: float = 1.0
    shift: tuple[float, float] = (0.0, 0.0)
    """Centre offset as a fraction of the frame (x, y)."""
    noise: float = 0.0
    """Standard deviation of added Gaussian noise, in 0-255 grey levels."""


@dataclass(frozen=True)
class RecurringVideo:
    """The written video and its timeline."""

    path: Path
    showings: tuple[Showing, ...]
    recurring: str
    """The photo shown twice."""

    @property
    def duration(self) -> float:
        return self.showings[-1].t1

    def photo_at(self, t: float) -> str:
        return next((s.photo for s in self.showings if s.t0 <= t < s.t1), self.showings[-1].photo)


DEFAULT_SHOWINGS = (
    Showing("coffee", 0.0, 8.0),
    Showing("rocket", 8.0, 16.0),
    Showing("chelsea", 16.0, 24.0),
    Showing("coffee", 24.0, 32.0, zoom=1.35, shift=(0.08, -0.06), noise=14.0),
)


def render(showing: Showing, t: float, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """The frame at `t`: the photo letterboxed, reframed by zoom/shift (slowly drifting), plus noise."""
    import cv2

    width, height = size
    drift = 0.02 * (t - showing.t0) / max(showing.t1 - showing.t0, 1e-6)
    cx = width / 2.0 + (showing.shift[0] + drift) * width
    cy = height / 2.0 + showing.shift[1] * height
    zoom = showing.zoom
    matrix = np.array([[zoom, 0.0, width / 2.0 - zoom * cx], [0.0, zoom, height / 2.0 - zoom * cy]])
    frame = cv2.warpAffine(letterbox(showing.photo, size), matrix, size, flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT)  # fmt: skip
    if showing.noise > 0:
        frame = np.clip(frame + rng.normal(0.0, showing.noise, frame.shape), 0, 255).astype(np.uint8)
    return frame


def make_recurring_video(
    path: Path | str, showings: Sequence[Showing] = DEFAULT_SHOWINGS, seed: int = 0
) -> RecurringVideo:
    """Write the video (no audio) and return its timeline."""
    path = Path(path)
    photos = [s.photo for s in showings]
    recurring = next(p for p in photos if photos.count(p) > 1)
    video = RecurringVideo(path, tuple(showings), recurring)
    rng = np.random.default_rng(seed)

    def frames() -> Iterator[np.ndarray]:
        for index in range(round(video.duration * FPS)):
            t = index / FPS
            showing = next(s for s in showings if s.t0 <= t < s.t1)
            yield render(showing, t, SIZE, rng)

    write_video(path, frames(), FPS, SIZE, pick_codec(VIDEO_CODECS, "video"), None, None)
    return video


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="output video path (.mp4)")
    video = make_recurring_video(parser.parse_args(argv).out)
    for showing in video.showings:
        print(f"{showing.t0:5.1f}-{showing.t1:5.1f} s  {showing.photo}  zoom {showing.zoom} noise {showing.noise}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
