"""Driving the terminal chat in tests: letting the app run until something shows, and the tiny video
that no memory holds yet (its ingest takes a few seconds)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from evaluation.sample_video import SampleVideo, make_sample_video
from evaluation.speech_synthesis import espeak_available

DOOR_LINE = "The red door opens."


def make_door_video(directory: Path) -> SampleVideo:
    """A 3 s, 320x180 narrated video saying DOOR_LINE at 0.5 s (skips without espeak-ng)."""
    if not espeak_available():
        pytest.skip("espeak-ng is not installed (make test installs it)")
    return make_sample_video(directory / "door.mp4", size=(320, 180), narration=[(0.5, DOOR_LINE)], duration=3.0)


async def wait_for(pilot: Pilot[Any], condition: Callable[[], object], what: str, timeout: float = 90.0) -> None:
    """Let the app run until `condition()` holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await pilot.pause(0.05)
