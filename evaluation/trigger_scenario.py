"""A synthetic video with trigger events at known times: hard cuts, a dissolve, a person entering, a
speech onset, and calm stretches in between, so trigger detection and its budget can be checked.

Timeline (40 s, 640x360, 10 fps; ten 4 s segments, three of them hold events):

    0.0  rocket photo, slow zoom/pan                  (calm)
    5.0  HARD CUT to the coffee photo                 -> shot_cut
    6.5  a spoken sentence starts after silence       -> speech_onset
   13.0  1.5 s linear DISSOLVE coffee -> deep field   -> dissolve (event time: its midpoint, 13.75)
   20.5  HARD CUT to an empty stage                   -> shot_cut
   22.0  the astronaut (cropped to the person) slides in from the right edge, 22.0-23.0 s
                                                      -> actor_enter (event time: half in view, 22.5)
   23.0  the person stands still until the end        (calm)

Run `python -m evaluation.trigger_scenario OUT.mp4` to write one and print its description.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.sample_video import (
    AUDIO_CODECS,
    VIDEO_CODECS,
    NarrationLine,
    Scene,
    description_path,
    draw_title,
    load_photo,
    mix_track,
    pick_codec,
    render_frame,
    write_video,
)
from evaluation.speech_synthesis import AUDIO_RATE, speak

DURATION_S = 40.0
FPS = 10.0
SIZE = (640, 360)
SEGMENT_S = 4.0
"""Segment length the budget is counted in: ten segments, events in three of them."""
SEED = 3

CUT_1_S = 5.0
SPEECH_S = 6.5
SENTENCE = "The coffee is ready in the kitchen."
DISSOLVE = (13.0, 14.5)
CUT_2_S = 20.5
SLIDE_IN = (22.0, 23.0)
"""The person's box moves from just outside the right edge to its resting place over this span."""

VISUAL_KINDS = ("shot_cut", "dissolve", "actor_enter")
"""Event kinds visible in the frames (the rest are heard)."""

PERSON_CROP = (slice(0, 512), slice(80, 365))
"""Rows and columns of skimage's `astronaut` photo that hold the person (flag and shuttle cut away)."""
PERSON_HEIGHT = 330
PERSON_REST_X = 380
STAGE_TOP = (70, 92, 110)
STAGE_BOTTOM = (150, 160, 150)

_SCENES = (
    Scene(image="rocket", t0=0.0, t1=CUT_1_S, title="LAUNCH PAD", shows_person=False),
    Scene(image="coffee", t0=CUT_1_S, t1=DISSOLVE[1], title="COFFEE BREAK", shows_person=False),
    Scene(image="hubble_deep_field", t0=DISSOLVE[0], t1=CUT_2_S, title="DEEP FIELD", shows_person=False),
)
"""Photo scenes; the coffee and deep-field scenes overlap by the dissolve."""


@dataclass(frozen=True)
class ScriptedEvent:
    """One event with a known time; `kind` is the trigger reason a detector should give it."""

    kind: str
    time: float
    t0: float
    t1: float
    detail: str


@dataclass(frozen=True)
class TriggerScenario:
    """What was written: the file, its timing, the segments the budget counts, and the events."""

    path: Path
    duration: float
    fps: float
    width: int
    height: int
    segment_seconds: float
    events: tuple[ScriptedEvent, ...]
    narration: tuple[NarrationLine, ...]

    @property
    def segments(self) -> list[tuple[float, float]]:
        """The (t0, t1) segments of `segment_seconds` covering the video."""
        count = int(np.ceil(self.duration / self.segment_seconds - 1e-9))
        return [(i * self.segment_seconds, min(self.duration, (i + 1) * self.segment_seconds)) for i in range(count)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description, as written beside the video."""
        data = asdict(self)
        data["path"] = str(self.path)
        data["segments"] = [list(s) for s in self.segments]
        return data

    def annotations(self) -> dict[str, Any]:
        """The visual events as trigger-head annotations (perception/trigger_training.py format); speech is left
        out because the head sees only frames."""
        times = [event.time for event in self.events if event.kind in VISUAL_KINDS]
        return {"feature": "histogram", "videos": [{"video_path": str(self.path), "triggers": times}]}


def make_trigger_video(path: Path | str) -> TriggerScenario:
    """Write the scenario video (and `<path>.json`) and return its description; deterministic."""
    path = Path(path)
    n_frames = round(DURATION_S * FPS)
    with tempfile.TemporaryDirectory(prefix="vidsage-espeak-") as workdir:
        clip = speak(SENTENCE, Path(workdir) / "line.wav")
    line = NarrationLine(text=SENTENCE, t0=SPEECH_S, t1=round(SPEECH_S + len(clip) / AUDIO_RATE, 6))
    track = mix_track([line], [clip], DURATION_S)
    frames = (scenario_frame(i / FPS) for i in range(n_frames))
    write_video(path, frames, FPS, SIZE, pick_codec(VIDEO_CODECS, "video"), pick_codec(AUDIO_CODECS, "audio"), track)
    scenario = TriggerScenario(
        path=path,
        duration=n_frames / FPS,
        fps=FPS,
        width=SIZE[0],
        height=SIZE[1],
        segment_seconds=SEGMENT_S,
        events=_events(line),
        narration=(line,),
    )
    description_path(path).write_text(json.dumps(scenario.to_dict(), indent=2) + "\n")
    return scenario


def _events(line: NarrationLine) -> tuple[ScriptedEvent, ...]:
    """The scripted events in time order."""
    dissolve_mid = round(sum(DISSOLVE) / 2, 3)
    enter_mid = round(sum(SLIDE_IN) / 2, 3)
    return (
        ScriptedEvent("shot_cut", CUT_1_S, CUT_1_S, CUT_1_S, "hard cut: rocket -> coffee"),
        ScriptedEvent("speech_onset", line.t0, line.t0, line.t1, f"speech after silence: {line.text!r}"),
        ScriptedEvent("dissolve", dissolve_mid, *DISSOLVE, "1.5 s linear dissolve: coffee -> deep field"),
        ScriptedEvent("shot_cut", CUT_2_S, CUT_2_S, CUT_2_S, "hard cut: deep field -> empty stage"),
        ScriptedEvent("actor_enter", enter_mid, SLIDE_IN[0], SLIDE_IN[1], "a person slides in from the right edge"),
    )


# --- pictures ---------------------------------------------------------------------------------


def scenario_frame(t: float) -> np.ndarray:
    """The RGB frame at time `t`."""
    if t >= CUT_2_S:
        return _stage_frame(t)
    if DISSOLVE[0] <= t < DISSOLVE[1]:
        alpha = (t - DISSOLVE[0]) / (DISSOLVE[1] - DISSOLVE[0])
        before, after = _photo_frame(1, t), _photo_frame(2, t)
        return np.rint((1.0 - alpha) * before + alpha * after).astype(np.uint8)
    index = 0 if t < CUT_1_S else (1 if t < DISSOLVE[0] else 2)
    return _photo_frame(index, t)


def _photo_frame(index: int, t: float) -> np.ndarray:
    """Scene `index` at time `t` with its own slow zoom and pan (seeded per scene)."""
    return render_frame(_SCENES[index : index + 1], t, SIZE, SEED + index)


_STAGE_CACHE: dict[str, np.ndarray] = {}


def _stage_background() -> np.ndarray:
    """An empty stage: a smooth vertical gradient with its title (cached)."""
    if "stage" not in _STAGE_CACHE:
        width, height = SIZE
        ramp = np.linspace(0.0, 1.0, height)[:, None, None]
        top, bottom = np.array(STAGE_TOP, float), np.array(STAGE_BOTTOM, float)
        stage = np.broadcast_to((1.0 - ramp) * top + ramp * bottom, (height, width, 3))
        frame = np.ascontiguousarray(np.rint(stage).astype(np.uint8))
        draw_title(frame, "STAGE")
        _STAGE_CACHE["stage"] = frame
    return _STAGE_CACHE["stage"]


def _person() -> np.ndarray:
    """The astronaut photo cropped to the person, scaled to `PERSON_HEIGHT` (cached)."""
    if "person" not in _STAGE_CACHE:
        import cv2

        crop = load_photo("astronaut")[PERSON_CROP]
        width = round(crop.shape[1] * PERSON_HEIGHT / crop.shape[0])
        _STAGE_CACHE["person"] = cv2.resize(crop, (width, PERSON_HEIGHT), interpolation=cv2.INTER_AREA)
    return _STAGE_CACHE["person"]


def person_x(t: float) -> int:
    """Left edge of the person's box at time `t` (off screen before the slide-in)."""
    start_x, (t0, t1) = SIZE[0], SLIDE_IN
    progress = min(1.0, max(0.0, (t - t0) / (t1 - t0)))
    return round(start_x + (PERSON_REST_X - start_x) * progress)


def _stage_frame(t: float) -> np.ndarray:
    """The stage at time `t`, with the person pasted in at `person_x(t)` (clipped at the right edge)."""
    frame = _stage_background().copy()
    person, x = _person(), person_x(t)
    visible = min(person.shape[1], SIZE[0] - x)
    if visible > 0:
        top = SIZE[1] - person.shape[0]
        frame[top:, x : x + visible] = person[:, :visible]
    return frame


# --- command line -----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m evaluation.trigger_scenario OUT.mp4`: write it, print its description."""
    parser = argparse.ArgumentParser(description="Write a synthetic video with trigger events at known times.")
    parser.add_argument("out", type=Path, help="output video path (.mp4)")
    args = parser.parse_args(argv)
    print(json.dumps(make_trigger_video(args.out).to_dict(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
