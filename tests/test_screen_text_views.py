"""What a person sees of the text read in the picture: `inspect --what screen_text` lists it with its times
(or says in one line that none was read, or that no reader ran), the timeline gets a "text" lane only for a
video with text on screen, and a chat citation of it is tagged "on screen"."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import FAST_DETECTOR_FPS, IngestedSample, cli_env, run_cli
from rich.console import Console

from core.settings import Settings
from core.types import Evidence
from evaluation.sample_video import make_sample_video
from memory.video_memory import VideoMemory
from ui.chat.evidence import evidence_line
from ui.timeline_lanes import timeline_lanes
from ui.timeline_strip import LABEL_WIDTH, TEXT_MARK, TEXT_START, timeline_strip

LINE = re.compile(r"^\[(\d\d):(\d\d)-(\d\d):(\d\d)\] “(.+)” \(confidence (\d\.\d\d)\)$")


def letters(text: str) -> str:
    """Upper-case letters and digits only: the reader may drop the space between printed words."""
    return re.sub(r"[^0-9A-Z]", "", text.upper())


def strip_lines(memory: VideoMemory, columns: int) -> list[str]:
    """The terminal timeline strip of `memory` as plain lines, `columns` cells of time wide."""
    console = Console(width=LABEL_WIDTH + columns, color_system=None)
    with console.capture() as capture:
        console.print(timeline_strip(timeline_lanes(memory), LABEL_WIDTH + columns))
    return capture.get().splitlines()


def test_inspect_lists_each_title_shown_with_when_it_is_shown(offline_memory: IngestedSample) -> None:
    sample, env = offline_memory.video, offline_memory.env()
    result = run_cli("inspect", str(sample.path), "--what", "screen_text", "--quiet", env=env)
    assert result.returncode == 0, result.stderr
    heading, *rows = result.stdout.strip().splitlines()
    assert heading.startswith(f"text on screen in {sample.path.name}: "), heading
    parsed = [LINE.match(row) for row in rows]
    assert rows and all(parsed), rows
    for scene in sample.scenes:
        shown = [m for m in parsed if m and letters(m.group(5)) == letters(scene.title)]
        assert shown, (scene.title, rows)
        start = int(shown[0].group(1)) * 60 + int(shown[0].group(2))
        assert scene.t0 - 1 <= start <= scene.t1, (scene, rows)

    result = run_cli("inspect", str(sample.path), "--what", "screen_text", "--json", "--quiet", env=env)
    assert result.returncode == 0, result.stderr
    view = json.loads(result.stdout)
    assert view["read"] is True and view["frames_read"] > 0 and view["reader"]
    items = view["screen_text"]
    assert len(items) == len(rows) and all(set(i) == {"t0", "t1", "text", "box", "confidence"} for i in items)
    assert [letters(i["text"]) for i in items] == [letters(t.text) for t in sample.screen_texts], "in order shown"
    assert all(i["t0"] <= i["t1"] and len(i["box"]) == 4 and 0.5 <= i["confidence"] <= 1 for i in items)


def test_the_timeline_strip_shows_a_text_lane_while_titles_are_on_screen(offline_memory: IngestedSample) -> None:
    memory = VideoMemory.for_path(offline_memory.settings, offline_memory.video.path)
    lanes = timeline_lanes(memory)
    assert lanes.screen_text == tuple((item.t0, item.t1) for item in memory.screen_text()) != ()
    lines = strip_lines(memory, 108)
    labels = [line[:LABEL_WIDTH].strip() for line in lines]
    assert labels[:4] == ["scenes", "triggers", "speech", "text"], lines
    text_lane = lines[3][LABEL_WIDTH:]
    for item in memory.screen_text():
        start, end = (min(107, int(t / lanes.duration * 108)) for t in (item.t0, item.t1))
        assert text_lane[start] == TEXT_START and set(text_lane[start + 1 : end + 1]) == {TEXT_MARK}, text_lane


@pytest.fixture
def text_free(tmp_path: Path) -> tuple[Path, Settings]:
    """A 3 s silent video of a photo with nothing printed on it, and settings with an empty memory."""
    video = make_sample_video(tmp_path / "plain.mp4", size=(320, 180), with_audio=False, narration=[],
                              duration=3.0, photos=[("coffee", "", False)])  # fmt: skip
    return video.path, Settings(data_dir=tmp_path / "data", detector_fps=FAST_DETECTOR_FPS)


def test_a_video_without_text_says_so_and_has_no_text_lane(text_free: tuple[Path, Settings]) -> None:
    path, settings = text_free
    result = run_cli("inspect", str(path), "--what", "screen_text", "--quiet", env=cli_env(settings))
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"plain\.mp4: no text was read on screen \(\d+ frames? read\)\n", result.stdout), result.stdout
    memory = VideoMemory.for_path(settings, path)
    assert memory.summary("ocr").get("frames_read", 0) > 0 and memory.screen_text() == []
    assert timeline_lanes(memory).screen_text == ()
    labels = [line[:LABEL_WIDTH].strip() for line in strip_lines(memory, 60)]
    assert "text" not in labels and labels[:3] == ["scenes", "triggers", "speech"], labels


def test_without_a_text_reader_inspect_says_the_picture_was_not_read(
    text_free: tuple[Path, Settings], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import models.registry as registry
    from cli.parser import build_parser

    offline = registry._offline
    monkeypatch.setattr(registry, "_offline", lambda role: None if role == "ocr" else offline(role))
    path, settings = text_free
    args = build_parser().parse_args(["inspect", str(path), "--what", "screen_text", "--quiet",
                                      "--data-dir", str(settings.data_dir)])  # fmt: skip
    monkeypatch.setenv("VIDSAGE_DETECTOR_FPS", str(FAST_DETECTOR_FPS))
    assert args.run(args) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("plain.mp4: text on screen was not read"), out
    assert "no text was read" not in out, "not read is not the same as nothing there"
    assert VideoMemory.for_path(settings, path).summary("ocr") == {"disabled": True}


def test_a_screen_text_citation_is_tagged_on_screen() -> None:
    shown = Evidence("screen_text", "v", 21.0, 27.0, "GARDEN CAFE", 0.9, "search_screen_text")
    said = Evidence("transcript", "v", 7.0, 9.0, "the budget is four million", 0.9, "search_transcript")
    assert evidence_line(shown).plain == "[00:21] on screen  GARDEN CAFE"
    assert evidence_line(said).plain == "[00:07] transcript  the budget is four million", "other kinds unchanged"
