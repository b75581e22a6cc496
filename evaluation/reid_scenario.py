"""Generated videos with known people for re-identification tests: one person who leaves the frame
and comes back, and two people shown in the same place on either side of a hard cut.

The people are scikit-image photos cut to the person (`astronaut`: Eileen Collins, waist up;
`camera`: the cameraman, head to thigh), pasted over a photo texture. At 384x216 and 3/4 of the
frame height, yolo11n-pose finds each at confidence >= 0.9 anywhere in the frame (imgsz 640, the
size `choose_imgsz` picks) and finds nothing on the bare textures.

Run `python -m evaluation.reid_scenario OUT_DIR` to write both and print their descriptions.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.sample_video import VIDEO_CODECS, load_photo, pick_codec, write_video

SIZE = (384, 216)
"""Frame (width, height): small frames keep the detector cheap; the people are large in them."""
FPS = 10.0
PERSON_HEIGHT = 0.75
"""Person height as a fraction of the frame height (detected at >= 0.9 confidence, see the module doc)."""
PEOPLE: dict[str, tuple[str, tuple[int, int, int, int]]] = {
    "astronaut": ("astronaut", (10, 0, 370, 512)),
    "cameraman": ("camera", (0, 40, 340, 512)),
}
"""Person name -> (skimage.data photo, (x1, y1, x2, y2) of the person in the photo)."""
WALK_SECONDS = 4.0
"""Time to walk across the whole frame, from fully inside at the left to fully gone at the right."""
ABSENT_SECONDS = 3.0
"""How long the re-entering person stays off screen (the tracker must lose them)."""


@dataclass(frozen=True)
class Visit:
    """One stretch when a person is on screen (any part of them), and what they do there."""

    person: str
    t0: float
    t1: float
    motion: str
    """`walking` (crossing the frame) or `still` (in place)."""


@dataclass(frozen=True)
class ReidVideo:
    """What was written: the file, its timing and size, who is on screen when, and the hard cuts."""

    path: Path
    duration: float
    fps: float
    width: int
    height: int
    visits: tuple[Visit, ...]
    cuts: tuple[float, ...] = ()
    video_codec: str = "libx264"

    def intervals(self, person: str) -> list[tuple[float, float]]:
        """The (t0, t1) on-screen intervals of one person, in time order."""
        return sorted((v.t0, v.t1) for v in self.visits if v.person == person)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description, as written beside the video."""
        data = asdict(self)
        data["path"] = str(self.path)
        data["visits"] = [asdict(v) for v in self.visits]
        return data


def _cover(name: str, size: tuple[int, int]) -> np.ndarray:
    """A photo cropped to the frame's aspect and resized to fill it: the background texture."""
    import cv2

    photo = load_photo(name)
    width, height = size
    rows = min(photo.shape[0], round(photo.shape[1] * height / width))
    cols = min(photo.shape[1], round(rows * width / height))
    top, left = (photo.shape[0] - rows) // 2, (photo.shape[1] - cols) // 2
    return cv2.resize(photo[top : top + rows, left : left + cols], size, interpolation=cv2.INTER_AREA)


def sprite(person: str, frame_height: int = SIZE[1]) -> np.ndarray:
    """The person's photo cut to them and scaled to PERSON_HEIGHT of the frame (RGB uint8)."""
    import cv2

    photo, (x1, y1, x2, y2) = PEOPLE[person]
    cut = load_photo(photo)[y1:y2, x1:x2]
    height = round(frame_height * PERSON_HEIGHT)
    width = round(cut.shape[1] * height / cut.shape[0])
    return cv2.resize(cut, (width, height), interpolation=cv2.INTER_AREA)


def paste(canvas: np.ndarray, image: np.ndarray, x: int) -> None:
    """Put `image` on `canvas` standing on the bottom edge with its left side at `x`, clipped to the frame."""
    height, width = image.shape[:2]
    left, right = max(x, 0), min(x + width, canvas.shape[1])
    if right > left:
        canvas[canvas.shape[0] - height :, left:right] = image[:, left - x : right - x]


def _frames(
    layout: Callable[[float], tuple[str, str | None, float]], duration: float, fps: float, size: tuple[int, int]
) -> Iterator[np.ndarray]:
    """Render every frame from a layout: time -> (background photo, person or None, sprite x)."""
    backgrounds: dict[str, np.ndarray] = {}
    sprites: dict[str, np.ndarray] = {}
    for index in range(round(duration * fps)):
        background, person, x = layout(index / fps)
        if background not in backgrounds:
            backgrounds[background] = _cover(background, size)
        frame = backgrounds[background].copy()
        if person is not None:
            sprites.setdefault(person, sprite(person, size[1]))
            paste(frame, sprites[person], round(x))
        yield frame


def _write(
    path: Path | str,
    layout: Callable[[float], tuple[str, str | None, float]],
    duration: float,
    visits: Sequence[Visit],
    cuts: Sequence[float] = (),
) -> ReidVideo:
    """Encode the layout's frames to `path` (+ `<path>.json`) and return the description."""
    path = Path(path)
    codec = pick_codec(VIDEO_CODECS, "video")
    write_video(path, _frames(layout, duration, FPS, SIZE), FPS, SIZE, codec, None, None)
    video = ReidVideo(path, duration, FPS, SIZE[0], SIZE[1], tuple(visits), tuple(cuts), codec)
    Path(f"{path}.json").write_text(json.dumps(video.to_dict(), indent=2) + "\n")
    return video


def make_reenter_video(path: Path | str) -> ReidVideo:
    """The astronaut walks right out of the frame, is gone for ABSENT_SECONDS, walks back in from the left
    to the centre and stands there: one person, two visits (12 s, no cut)."""
    width = SIZE[0]
    body = sprite("astronaut").shape[1]
    start_x, centre = 10.0, (width - body) / 2
    speed = (width - start_x) / WALK_SECONDS
    back = WALK_SECONDS + ABSENT_SECONDS
    arrive = back + (centre + body) / speed
    duration = 12.0

    def layout(t: float) -> tuple[str, str | None, float]:
        if t < WALK_SECONDS:
            return "gravel", "astronaut", start_x + speed * t
        if t < back:
            return "gravel", None, 0.0
        return "gravel", "astronaut", min(centre, -body + speed * (t - back))

    visits = [
        Visit("astronaut", 0.0, WALK_SECONDS, "walking"),
        Visit("astronaut", back, round(arrive, 3), "walking"),
        Visit("astronaut", round(arrive, 3), duration, "still"),
    ]
    return _write(path, layout, duration, visits)


def make_two_people_video(path: Path | str) -> ReidVideo:
    """The astronaut stands at the centre for 4 s, then a hard cut shows the cameraman in the same place on
    another background for 4 s: two people the tracker may give one id (8 s, one cut at 4 s)."""
    cut, duration = 4.0, 8.0
    centre = {name: (SIZE[0] - sprite(name).shape[1]) / 2 for name in PEOPLE}

    def layout(t: float) -> tuple[str, str | None, float]:
        person, background = ("astronaut", "gravel") if t < cut else ("cameraman", "grass")
        return background, person, centre[person]

    visits = [Visit("astronaut", 0.0, cut, "still"), Visit("cameraman", cut, duration, "still")]
    return _write(path, layout, duration, visits, cuts=(cut,))


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m evaluation.reid_scenario OUT_DIR`: write both videos, print their descriptions."""
    parser = argparse.ArgumentParser(description="Write the re-identification test videos.")
    parser.add_argument("out", type=Path, help="output directory")
    args = parser.parse_args(argv)
    videos = [make_reenter_video(args.out / "reenter.mp4"), make_two_people_video(args.out / "two_people.mp4")]
    print(json.dumps([v.to_dict() for v in videos], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
