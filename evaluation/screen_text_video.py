"""A silent test video with text on screen at known times: a title card, a name caption over a photo, a street
sign, a score that changes twice on one scoreboard, and a photo with no text, so OCR can be checked against
the truth (what is written, from when to when, in which order).

Run `python -m evaluation.screen_text_video OUT.mp4` to write one and print what it shows.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from evaluation.sample_video import VIDEO_CODECS, pick_codec, write_video
from evaluation.text_cards import TextFrame, captioned_photo, photo_frame, sign_on_photo, title_card

FPS = 10.0
SIZE = (640, 360)


@dataclass(frozen=True)
class Shown:
    """One stretch of the video: what frame it shows from t0 to t1 and the lines printed on it."""

    t0: float
    t1: float
    kind: str
    """title, caption, sign, score or none."""
    lines: tuple[str, ...]


@dataclass(frozen=True)
class ScreenTextVideo:
    path: Path
    duration: float
    shown: tuple[Shown, ...]

    def texts(self, kind: str) -> list[Shown]:
        return [s for s in self.shown if s.kind == kind]


SCRIPT: tuple[tuple[float, str, Callable[[], TextFrame]], ...] = (
    (4.0, "title", lambda: title_card("HARBOR TOUR", 48)),
    (4.0, "caption", lambda: captioned_photo("MAYOR ANNA BERG", "City of Lund", 26)),
    (4.0, "sign", lambda: sign_on_photo("MAIN STREET", 34)),
    (3.0, "score", lambda: title_card("HOME 1 - 0 AWAY", 44, "DejaVuSansMono-Bold")),
    (3.0, "score", lambda: title_card("HOME 2 - 0 AWAY", 44, "DejaVuSansMono-Bold")),
    (3.0, "score", lambda: title_card("HOME 2 - 1 AWAY", 44, "DejaVuSansMono-Bold")),
    (3.0, "none", lambda: photo_frame("rocket")),
)
"""(seconds shown, kind, frame) in order: the score changes in place (the same card, one digit apart)."""


def make_screen_text_video(path: Path | str, script: Sequence[tuple[float, str, Callable[[], TextFrame]]] = SCRIPT,
                           fps: float = FPS) -> ScreenTextVideo:  # fmt: skip
    """Write the video (still frames per stretch, a faint moving noise so the encoder keeps every frame honest)."""
    path = Path(path)
    shown: list[Shown] = []
    frames: list[np.ndarray] = []
    t = 0.0
    for seconds, kind, make in script:
        frame = make()
        shown.append(Shown(round(t, 3), round(t + seconds, 3), kind, tuple(line.text for line in frame.lines)))
        frames.append(frame.image)
        t += seconds
    duration = round(t, 3)
    rng = np.random.default_rng(0)

    def pictures() -> Iterator[np.ndarray]:
        for index in range(round(duration * fps)):
            now = index / fps
            current = next(i for i, s in enumerate(shown) if s.t0 <= now < s.t1 or i == len(shown) - 1)
            noise = rng.integers(-2, 3, size=frames[current].shape, dtype=np.int16)
            yield np.clip(frames[current].astype(np.int16) + noise, 0, 255).astype(np.uint8)

    write_video(path, pictures(), fps, SIZE, pick_codec(VIDEO_CODECS, "video"), None, None)
    return ScreenTextVideo(path, duration, tuple(shown))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    video = make_screen_text_video(args.out)
    print(json.dumps({"path": str(video.path), "duration": video.duration,
                      "shown": [asdict(s) for s in video.shown]}, indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
