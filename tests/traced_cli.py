"""One real `ingest` and `ask` of a short narrated video, run as a new user would, shared by several tests.

The commands run with a fresh HOME (so vidsage itself creates the default data dir, ~/.cache/vidsage), umask
022, the offline profile and a minimal environment: none of the suite's offline switches, telemetry switches
or YOLO_CONFIG_DIR, which would hide what a user's run does. When strace can trace here, both run under the
system-call recorder; the run happens once per test session, whichever test asks first.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from netrecorder import Recording, record, unavailable

from evaluation.sample_video import make_sample_video
from evaluation.speech_synthesis import espeak_available

REPO = Path(__file__).resolve().parent.parent
NARRATION = ((0.5, "The budget for the bridge is ten dollars."),)
QUESTION = "What is said about the budget?"
USER_UMASK = 0o022
"""The common default umask: files are created readable by everyone unless a folder above blocks them."""


@dataclass(frozen=True)
class UserRun:
    """What the shared run left: its fake HOME, the data dir inside it, and both commands' recordings."""

    home: Path
    data_dir: Path
    video: Path
    ingest: Recording
    ask: Recording
    traced: bool
    """False when strace cannot trace here: the recordings then hold no destinations."""

    def answer(self) -> dict[str, object]:
        """The `ask --json` answer."""
        return dict(json.loads(self.ask.stdout))

    def files_outside_data_dir(self) -> list[str]:
        """Every file or folder the run created under HOME that is not the data dir or inside it."""
        allowed = {self.data_dir, *self.data_dir.parents}
        return sorted(
            str(path.relative_to(self.home))
            for path in self.home.rglob("*")
            if path not in allowed and self.data_dir not in path.parents
        )


def user_env(home: Path, temp: Path) -> dict[str, str]:
    """The environment of a user with only PATH, HOME and a locale set, and the offline profile chosen."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TMPDIR": str(temp),
        "VIDSAGE_PROFILE": "offline",
        "VIDSAGE_DETECTOR_FPS": "1",  # 4 frames to track: the run is about side effects, not accuracy
    }


def run_as_user(args: list[str], env: dict[str, str], traced: bool) -> Recording:
    """`python main.py ARGS` under the recorder (or plainly, when strace cannot trace), with the user's umask."""
    argv = [sys.executable, str(REPO / "main.py"), *args]
    if traced:
        return record(argv, env=env, cwd=REPO, timeout=300, umask=USER_UMASK)
    done = subprocess.run(
        argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, umask=USER_UMASK
    )
    return Recording(argv, done.returncode, done.stdout, done.stderr)


_RUN: UserRun | None = None


def user_run(tmp_path_factory: pytest.TempPathFactory) -> UserRun:
    """Ingest the short narrated video and ask about it, once per session (about 40 s on 2 busy cores)."""
    global _RUN
    if _RUN is None:
        if not espeak_available():
            pytest.skip("espeak-ng is not installed (make test installs it)")
        root = tmp_path_factory.mktemp("user-run")
        home, temp = root / "home", root / "tmp"
        home.mkdir()
        temp.mkdir()
        video = make_sample_video(root / "talk.mp4", narration=NARRATION, duration=4.0, size=(320, 180)).path
        env, traced = user_env(home, temp), unavailable() is None
        ingest = run_as_user(["ingest", str(video), "--quiet"], env, traced)
        assert ingest.returncode == 0, ingest.stderr
        ask = run_as_user(["ask", str(video), QUESTION, "--json", "--quiet"], env, traced)
        assert ask.returncode == 0, ask.stderr
        _RUN = UserRun(home, home / ".cache" / "vidsage", video, ingest, ask, traced)
    return _RUN
