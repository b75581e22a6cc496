"""A generated meeting with known times, for the actor graph: person A is alone, person B steps in,
stands, walks up beside A, then leaves, and A is alone again.

The people are the scikit-image photos of evaluation.reid_scenario (the astronaut is A, the cameraman
is B), pasted at 3/4 of the frame height so yolo11n-pose finds both at >= 0.9 confidence. B appears
and disappears from one frame to the next, so "on screen together" has crisp true bounds.

Run `python -m evaluation.meeting_scenario OUT.mp4` to write one and print its description.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.reid_scenario import FPS, SIZE, _cover, paste, sprite
from evaluation.sample_video import VIDEO_CODECS, pick_codec, write_video

BACKGROUND = "gravel"
"""skimage.data photo behind the people (nothing in it is detected as a person)."""
T_MEET = 4.0
"""When B appears: the first moment both are on screen."""
TOGETHER_S = 6.0
"""How long both are on screen (B leaves at T_MEET + TOGETHER_S)."""
DURATION = 14.0
STAND_S = 2.0
"""B stands where they appeared this long before walking up to A."""
WALK_S = 1.5
"""B's walk from the right side to beside A."""
A_X = 24
"""Left edge of A (pixels); A stands still the whole video."""
B_START_GAP = 120
B_END_GAP = 20
"""Pixels between A's right edge and B's left edge when B appears / after the walk (boxes never touch)."""
CLOSE_DISTANCE = 1.0
"""Centre distance, in mean box heights, under which the scenario counts the two as close (it matches
memory.actor_graph.build.INTERACTION_DISTANCE; kept here so evaluation does not read memory constants)."""


@dataclass(frozen=True)
class MeetingScenario:
    """What was written and its ground truth: times in seconds, positions in pixels."""

    path: Path
    duration: float
    fps: float
    width: int
    height: int
    t_meet: float
    together_s: float
    t_close: float
    """First moment the centres are under CLOSE_DISTANCE box heights apart (B walking up)."""
    a_box: tuple[float, float, float, float]
    b_start_box: tuple[float, float, float, float]
    b_end_box: tuple[float, float, float, float]
    video_codec: str = "libx264"

    @property
    def t_leave(self) -> float:
        """When B disappears."""
        return self.t_meet + self.together_s

    @property
    def close_s(self) -> float:
        """How long the two are close (from t_close until B leaves)."""
        return self.t_leave - self.t_close

    def intervals(self, person: str) -> list[tuple[float, float]]:
        """True on-screen intervals of `A` (astronaut) or `B` (cameraman)."""
        if person in ("A", "astronaut"):
            return [(0.0, self.duration)]
        if person in ("B", "cameraman"):
            return [(self.t_meet, self.t_leave)]
        raise KeyError(person)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description, as written beside the video."""
        data = asdict(self)
        data["path"] = str(self.path)
        data["t_leave"] = self.t_leave
        return data


def _b_x(t: float, start_x: float, end_x: float, t_meet: float) -> float:
    """B's left edge at time t (only meaningful while B is on screen)."""
    walk_from = t_meet + STAND_S
    progress = float(np.clip((t - walk_from) / WALK_S, 0.0, 1.0))
    return start_x + (end_x - start_x) * progress


def make_meeting_video(
    path: Path | str, *, t_meet: float = T_MEET, together_s: float = TOGETHER_S, duration: float = DURATION
) -> MeetingScenario:
    """Write the meeting video (and `<path>.json`) and return its ground truth.

    A (astronaut) stands at the left from 0 s to the end; B (cameraman) appears at the right at `t_meet`,
    stands STAND_S, walks WALK_S to stand beside A, and vanishes at `t_meet + together_s`.
    """
    if not 0.0 < t_meet < t_meet + together_s < duration:
        raise ValueError("need 0 < t_meet < t_meet + together_s < duration")
    if together_s < STAND_S + WALK_S:
        raise ValueError(f"together_s must leave time for B to walk up ({STAND_S + WALK_S} s at least)")
    path = Path(path)
    width, height = SIZE
    a, b = sprite("astronaut", height), sprite("cameraman", height)
    a_right = A_X + a.shape[1]
    start_x, end_x = float(a_right + B_START_GAP), float(a_right + B_END_GAP)
    if start_x + b.shape[1] > width:
        raise ValueError("frame too narrow for the scenario")
    top = float(height - a.shape[0])
    box_height = float(a.shape[0])

    def b_centre(t: float) -> float:
        return _b_x(t, start_x, end_x, t_meet) + b.shape[1] / 2

    a_centre = A_X + a.shape[1] / 2
    t_close = _first_close(a_centre, b_centre, box_height, t_meet, t_meet + together_s)
    background = _cover(BACKGROUND, SIZE)

    def frames() -> Iterator[np.ndarray]:
        for index in range(round(duration * FPS)):
            t = index / FPS
            frame = background.copy()
            paste(frame, a, A_X)
            if t_meet <= t < t_meet + together_s:
                paste(frame, b, round(_b_x(t, start_x, end_x, t_meet)))
            yield frame

    codec = pick_codec(VIDEO_CODECS, "video")
    write_video(path, frames(), FPS, SIZE, codec, None, None)
    scenario = MeetingScenario(
        path=path,
        duration=duration,
        fps=FPS,
        width=width,
        height=height,
        t_meet=t_meet,
        together_s=together_s,
        t_close=round(t_close, 3),
        a_box=(float(A_X), top, float(a_right), float(height)),
        b_start_box=(start_x, top, start_x + b.shape[1], float(height)),
        b_end_box=(end_x, top, end_x + b.shape[1], float(height)),
        video_codec=codec,
    )
    Path(f"{path}.json").write_text(json.dumps(scenario.to_dict(), indent=2) + "\n")
    return scenario


def _first_close(a_centre: float, b_centre: Any, box_height: float, t0: float, t1: float) -> float:
    """First time (1 ms resolution) the centre distance falls under CLOSE_DISTANCE box heights."""
    for t in np.arange(t0, t1, 0.001):
        if abs(b_centre(float(t)) - a_centre) < CLOSE_DISTANCE * box_height:
            return float(t)
    return t1


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m evaluation.meeting_scenario OUT.mp4`: write the video, print its ground truth."""
    parser = argparse.ArgumentParser(description="Write the actor-graph meeting video.")
    parser.add_argument("out", type=Path, help="output video path (.mp4)")
    args = parser.parse_args(argv)
    print(json.dumps(make_meeting_video(args.out).to_dict(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
