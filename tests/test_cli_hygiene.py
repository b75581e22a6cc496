"""What vidsage prints is safe and quiet: control characters from questions, file names, transcripts and
answers are shown escaped, never obeyed by the terminal (CLI and chat); a closed pipe ends a command
quietly; an overlong question is one clear error; a damaged video is one clean line; `--quiet` is quiet,
`ingest --json` is always a list; loading models through the Python API draws no progress bar."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from chat_pilot import wait_for
from conftest import REPO, IngestedSample, run_cli
from textual.widget import Widget
from textual.widgets import Static

from agent import ask
from agent.session import check_question
from core.errors import InvalidRequest, VideoUnreadable
from core.settings import Settings
from evaluation.sample_video import SampleVideo
from models.adapters.video import iter_frames, probe, sample_times
from models.cache import ModelCache
from ui.chat import ChatApp
from ui.chat.conversation import ChatLog
from ui.terminal_text import terminal_line, terminal_safe

EVIL = "quokka\x1b]0;PWNED\x07\x1b[2J"
"""Sets the terminal's title and clears the screen when printed raw (the issue's example)."""
EVIL_SHOWN = "quokka\\x1b]0;PWNED\\x07\\x1b[2J"
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def raw_controls(text: str) -> list[str]:
    """The control characters in `text` a terminal would act on (newline and tab are fine)."""
    return RAW_CONTROL.findall(text)


def test_terminal_text_escapes_what_a_terminal_would_obey() -> None:
    assert terminal_safe(EVIL) == EVIL_SHOWN
    assert terminal_safe("a\tb\nc\rd\x9b2J\u202eevil") == "a\tb\nc\\x0dd\\x9b2J\\u202eevil"
    assert terminal_line("two\nlines\tand a tab") == "two\\x0alines\\x09and a tab"
    assert terminal_safe("“Café” — 4 € 🎬") == "“Café” — 4 € 🎬", "printable text is untouched"


def test_cli_lines_show_control_characters_in_file_names_escaped(
    offline_memory: IngestedSample, tmp_path: Path
) -> None:
    evil_named = tmp_path / f"{EVIL}.mp4"
    evil_named.symlink_to(offline_memory.video.path)
    missing = tmp_path / f"gone-{EVIL}.mp4"
    result = run_cli("ingest", str(evil_named), str(missing), env=offline_memory.env())
    assert result.returncode == 2
    assert raw_controls(result.stdout + result.stderr) == []
    assert f"vidsage: error: {tmp_path}/gone-{EVIL_SHOWN}.mp4: " in result.stderr
    assert f"{EVIL_SHOWN}.mp4:alreadyinmemory" in "".join(result.stderr.split()), "rich wraps long lines"


def test_ask_shows_the_question_it_quotes_escaped(
    offline_memory: IngestedSample, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli.qa import print_answer

    answer = ask(offline_memory.video.path, EVIL, settings=offline_memory.settings, models=offline_memory.models)
    assert EVIL in answer.text, "the rule answer quotes the question it could not match"
    print_answer(answer)  # what `ask` prints
    out, err = capsys.readouterr()
    assert raw_controls(out + err) == [] and EVIL_SHOWN in out


def shown_text(widget: Widget) -> str:
    """Every line the widget and its children draw on the screen now."""
    return "\n".join(w.render_line(y).text for w in widget.walk_children(with_self=True) for y in range(w.size.height))


async def test_the_chat_shows_control_characters_escaped(offline_memory: IngestedSample, tmp_path: Path) -> None:
    evil_named = tmp_path / f"{EVIL}.mp4"
    evil_named.symlink_to(offline_memory.video.path)
    app = ChatApp([evil_named], offline_memory.settings, models=offline_memory.models)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.session is not None or app.ingest_error, "the video to open")
        assert app.session is not None
        heading = app.query_one(".video-heading", Static).content
        assert raw_controls(str(heading)) == [] and f"{EVIL_SHOWN}.mp4" in str(heading)
        app.query_one("#question").value = EVIL  # type: ignore[attr-defined]
        await pilot.press("enter")
        chat = app.query_one(ChatLog)
        await wait_for(pilot, lambda: chat.turns and chat.turns[-1].done, "the answer")
        await pilot.pause()
        turn = chat.turns[-1]
        assert EVIL in turn.answer_text, "the rule answer quotes the question it could not match"
        screen = shown_text(turn)
        assert raw_controls(screen) == [] and "".join(screen.split()).count(EVIL_SHOWN) >= 2, screen


def run_into_closed_pipe(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `main.py ARGS` with stdout a pipe whose reader has gone, as in `vidsage ... | head -0`."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        return subprocess.run([sys.executable, str(REPO / "main.py"), *args], stdout=writer, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, text=True, env=env, cwd=REPO, timeout=120)  # fmt: skip
    finally:
        os.close(writer)


@pytest.mark.parametrize("output", [[], ["--json"]])
def test_a_closed_pipe_ends_quietly_as_unix_tools_do(offline_memory: IngestedSample, output: list[str]) -> None:
    result = run_into_closed_pipe("library", "ls", *output, env=offline_memory.env())
    assert (result.returncode, result.stderr) == (141, "")


def test_an_overlong_question_is_one_clear_error(offline_memory: IngestedSample) -> None:
    assert check_question("x" * 2_000, None)[0] == "x" * 2_000
    with pytest.raises(InvalidRequest, match="2,001 characters long; ask it in at most 2,000"):
        check_question("x" * 2_001, None)
    with pytest.raises(InvalidRequest, match="characters long"):
        ask(offline_memory.video.path, "why? " * 1_000, settings=offline_memory.settings, models=offline_memory.models)
    question = "What is said about the budget? " * 3_300
    result = run_cli("ask", str(offline_memory.video.path), question, env=offline_memory.env())
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "vidsage: error: the question is 102,299 characters long; ask it in at most 2,000 characters"
    ]


def damage(source: Path, target: Path, start: float, share: float, seed: int) -> Path:
    """A copy of `source` with `share` of its bytes from `start` (fractions of its size) overwritten at random."""
    data = bytearray(source.read_bytes())
    rng = random.Random(seed)
    first = int(len(data) * start)
    for index in range(first, first + int(len(data) * share)):
        data[index] = rng.randrange(256)
    target.write_bytes(bytes(data))
    return target


def assert_one_clean_line(message: str, path: Path) -> None:
    assert len(message.strip().splitlines()) == 1 and str(path) in message and "is damaged" in message
    for noise in ("[h264 @", "Check failed", ".cc:", "/github/", "Errno"):
        assert noise not in message, message


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed (make test installs it)")
def test_a_corrupt_middle_is_one_clean_line_on_the_command_line(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-f",
                    "lavfi", "-i", "sine=frequency=440", "-t", "8", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a",
                    "aac", "-shortest", str(clip)], check=True, timeout=60)  # fmt: skip
    damaged = damage(clip, tmp_path / "damaged.mp4", 0.5, 0.2, seed=1)
    result = run_cli("ingest", str(damaged), "--quiet", "--data-dir", str(tmp_path / "data"), timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith(f"vidsage: error: {damaged}: is damaged")
    assert_one_clean_line(result.stderr, damaged)


def test_frames_damaged_in_the_middle_are_one_clean_error(
    sample: SampleVideo, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    ref = probe(damage(sample.path, tmp_path / "damaged.mp4", 0.5, 0.02, seed=2))
    with pytest.raises(VideoUnreadable) as caught:
        for _ in iter_frames(ref, sample_times(ref.duration, 2.0)):
            pass
    assert_one_clean_line(str(caught.value), ref.path)
    assert re.search(r"cannot be decoded at \d\d:\d\d\)$", str(caught.value)), caught.value
    assert "[h264 @" not in capfd.readouterr().err, "FFmpeg's own log stays off stderr"


def test_ingest_quiet_prints_nothing_and_json_is_always_a_list(offline_memory: IngestedSample, tmp_path: Path) -> None:
    copy = tmp_path / "copy.mp4"
    shutil.copyfile(offline_memory.video.path, copy)
    quiet = run_cli("ingest", str(offline_memory.video.path), str(copy), "--quiet", env=offline_memory.env())
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    one = run_cli("ingest", str(offline_memory.video.path), "--json", "--quiet", env=offline_memory.env())
    reports: list[dict[str, Any]] = json.loads(one.stdout)
    assert isinstance(reports, list) and [r["cached"] for r in reports] == [True]


def test_loading_models_through_the_python_api_draws_no_progress_bar(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.enable_progress_bar()  # as in a user's own program, where nothing turned the bars off
    try:
        settings = Settings(profile="offline", data_dir=tmp_path)  # a new data dir: loaded afresh, not from cache
        embedder = ModelCache.for_settings(settings).text_embedder()
    finally:
        if not was_enabled:
            hf_logging.disable_progress_bar()
    assert embedder is not None and embedder.encode(["a budget"]).shape == (1, embedder.dim)
    err = capfd.readouterr().err
    assert "Loading weights" not in err and "it/s" not in err, err


def test_json_output_keeps_its_meaning_but_carries_no_raw_control_characters() -> None:
    from ui.terminal_text import terminal_json

    data = {"answer": "caf\u00e9 \x9b2J \u202eevil\x7f", "lines": ["tab\there", "new\nline", "\x1b]0;PWNED\x07"]}
    text = terminal_json(data)
    assert json.loads(text) == data and "caf\u00e9" in text
    assert not any(ch in text for ch in "\x9b\u202e\x7f\x1b\x07")
