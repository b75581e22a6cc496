"""Silent test videos made of photo scenes: each scene one scikit-image photo, slowly zoomed and panned.

Used to check visual retrieval without circularity: the ground truth is which photo is on screen
when, and `frame_at` renders any moment again (e.g. one the retriever never sampled) as a query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evaluation.sample_video import VIDEO_CODECS, Scene, pick_codec, render_frame, write_video

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry", "camera", "coins")


@dataclass(frozen=True)
class PhotoVideo:
    """A written photo-scene video and its ground truth."""

    path: Path
    scenes: tuple[Scene, ...]
    fps: float
    size: tuple[int, int]
    seed: int

    @property
    def duration(self) -> float:
        return self.scenes[-1].t1

    def scene_of(self, t: float) -> int:
        """Index of the scene on screen at time `t`."""
        return next((i for i, s in enumerate(self.scenes) if t < s.t1), len(self.scenes) - 1)

    def frame_at(self, t: float) -> np.ndarray:
        """The frame at time `t`, rendered exactly as written (before compression)."""
        return render_frame(self.scenes, t, self.size, self.seed)


def make_photo_video(
    path: Path | str,
    photos: Sequence[str] = PHOTOS[:4],
    seconds_each: float = 3.0,
    fps: float = 10.0,
    size: tuple[int, int] = (160, 120),
    seed: int = 0,
) -> PhotoVideo:
    """Write a video showing each photo in turn for `seconds_each`, with no titles and no audio."""
    path = Path(path)
    scenes = tuple(
        Scene(image=name, t0=i * seconds_each, t1=(i + 1) * seconds_each, title="", shows_person=False)
        for i, name in enumerate(photos)
    )
    video = PhotoVideo(path, scenes, float(fps), size, seed)
    count = round(video.duration * fps)
    frames = (video.frame_at(i / fps) for i in range(count))
    write_video(path, frames, fps, size, pick_codec(VIDEO_CODECS, "video"), None, None)
    return video
