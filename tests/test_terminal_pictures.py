"""Pictures in the terminal: half-block keyframes show the frame's colours at the right places, and the
timeline strip puts scenes, triggers, speech, actors and the cursor at the columns of their times."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import IngestedSample
from rich.console import Console
from rich.style import Style
from rich.text import Text

from memory.video_memory import VideoMemory
from ui.halfblock import UPPER_HALF, halfblock
from ui.timeline_lanes import (
    SCENE_COLOURS,
    SCREEN_TEXT_COLOUR,
    ActorLane,
    SceneSpan,
    TimelineLanes,
    TriggerMark,
    timeline_lanes,
)
from ui.timeline_strip import LABEL_WIDTH, timeline_strip

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def cells(text: Text) -> list[list[tuple[str, Style]]]:
    """Each line of `text` as (character, style) cells, the way a terminal draws it."""
    console = Console(width=1000, color_system="truecolor")
    lines = console.render_lines(text, console.options.update(width=1000), pad=False)
    return [[(char, segment.style or Style()) for segment in line for char in segment.text] for line in lines]


def rgb(style: Style, which: str) -> tuple[int, int, int]:
    colour = style.color if which == "fg" else style.bgcolor
    assert colour is not None, style
    triplet = colour.get_truecolor()
    return (triplet.red, triplet.green, triplet.blue)


def test_each_cell_shows_two_vertical_pixels() -> None:
    frame = np.array([[RED, RED], [GREEN, GREEN], [BLUE, BLUE], [WHITE, WHITE]], dtype=np.uint8)  # 4 x 2
    grid = cells(halfblock(frame, 2))
    assert [len(line) for line in grid] == [2, 2]
    for char, style in grid[0]:
        assert char == UPPER_HALF and rgb(style, "fg") == RED and rgb(style, "bg") == GREEN
    for char, style in grid[1]:
        assert rgb(style, "fg") == BLUE and rgb(style, "bg") == WHITE


def test_a_large_frame_is_scaled_to_the_width_keeping_its_aspect() -> None:
    frame = np.zeros((100, 200, 3), dtype=np.uint8)
    frame[:, :100] = RED
    frame[:, 100:] = BLUE
    grid = cells(halfblock(frame, 20))
    assert len(grid) == 5 and all(len(line) == 20 for line in grid), "200x100 pixels at 20 columns: 20x10 pixels"
    for line in grid:
        assert {rgb(s, "fg") for _, s in line[:10]} == {RED} and {rgb(s, "bg") for _, s in line[:10]} == {RED}
        assert {rgb(s, "fg") for _, s in line[10:]} == {BLUE}


def test_a_row_limit_shrinks_the_picture_instead_of_cropping_it() -> None:
    frame = np.full((100, 100, 3), 128, dtype=np.uint8)
    assert [len(line) for line in cells(halfblock(frame, 40))] == [40] * 20
    assert [len(line) for line in cells(halfblock(frame, 40, max_rows=10))] == [20] * 10


@pytest.mark.parametrize("shape", [(4, 4), (4, 4, 4), (0, 4, 3)])
def test_a_frame_that_is_not_rgb_is_refused(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError):
        halfblock(np.zeros(shape, dtype=np.uint8), 10)


LANES = TimelineLanes(
    video_id="v",
    name="test.mp4",
    duration=10.0,
    scenes=(SceneSpan(0.0, 5.0, 0), SceneSpan(5.0, 10.0, 1)),
    triggers=(TriggerMark(5.0, "shot_cut"),),
    speech=((1.0, 2.0),),
    actors=(ActorLane(1, ((2.0, 8.0),)), ActorLane(2, ((6.0, 7.0),))),
    actor_count=5,
    scene_labels=((0, "harbor"), (1, "bridge")),
)
COLUMNS = 20
"""Strip columns in these tests: 0.5 s each over the 10 s video."""


def test_the_strip_puts_every_lane_at_its_times() -> None:
    grid = cells(timeline_strip(LANES, LABEL_WIDTH + COLUMNS, max_actors=2))
    lines = ["".join(c for c, _ in line) for line in grid]
    assert [line[:LABEL_WIDTH].strip() for line in lines[:5]] == ["scenes", "triggers", "speech", "actor 1", "actor 2"]
    scenes = grid[0][LABEL_WIDTH:]
    assert {s.bgcolor.name for _, s in scenes[:10]} == {SCENE_COLOURS[0]}  # type: ignore[union-attr]
    assert {s.bgcolor.name for _, s in scenes[10:]} == {SCENE_COLOURS[1]}  # type: ignore[union-attr]
    assert lines[1][LABEL_WIDTH:].index("▼") == 10
    assert lines[2][LABEL_WIDTH:].rstrip() == "  ▬▬▬", "speech from 1 s to 2 s: columns 2 to 4"
    assert lines[3][LABEL_WIDTH:].rstrip() == "    " + "━" * 13
    assert lines[5].strip() == "+3 more actors"
    assert lines[6].split() == ["00:00", "00:05", "00:10"]
    assert "▲" not in "".join(lines), "no cursor until a citation is chosen"


def test_the_cursor_marks_the_chosen_moment_on_every_lane() -> None:
    grid = cells(timeline_strip(LANES, LABEL_WIDTH + COLUMNS, cursor=3.0, span=(2.0, 3.5), max_actors=2))
    lines = ["".join(c for c, _ in line) for line in grid]
    cursor_line = lines[-2][LABEL_WIDTH:]
    assert cursor_line.index("▲") == 6 and "▲ 00:03" in cursor_line
    assert cursor_line[4:6] == "──", "the cited span before the keyframe"
    assert [lines[row][LABEL_WIDTH + 6] for row in (0, 1, 2, 4)] == ["┃"] * 4
    assert lines[3][LABEL_WIDTH + 6] == "━", "actor 1 is on screen at 3 s: its mark stays, highlighted"
    late = ["".join(c for c, _ in line) for line in cells(timeline_strip(LANES, LABEL_WIDTH + COLUMNS, cursor=9.0))]
    assert late[-2][LABEL_WIDTH:].rstrip().endswith("00:09 ▲"), "near the end the time goes left of the mark"


def test_text_on_screen_gets_a_lane_under_speech_only_when_there_is_some() -> None:
    lanes = replace(LANES, screen_text=((0.0, 1.0), (6.0, 9.0)))
    grid = cells(timeline_strip(lanes, LABEL_WIDTH + COLUMNS, max_actors=1))
    lines = ["".join(c for c, _ in line) for line in grid]
    assert [line[:LABEL_WIDTH].strip() for line in lines[:5]] == ["scenes", "triggers", "speech", "text", "actor 1"]
    assert lines[3][LABEL_WIDTH:].rstrip() == "╞══" + " " * 9 + "╞══════", "0-1 s and 6-9 s, each start marked"
    hex_colour = "#%02x%02x%02x" % rgb(grid[3][LABEL_WIDTH][1], "fg")
    assert hex_colour == SCREEN_TEXT_COLOUR
    for cursor, column, shown in ((7.0, 14, "═"), (5.0, 10, "┃")):  # on a text span, between two
        strip = cells(timeline_strip(lanes, LABEL_WIDTH + COLUMNS, cursor=cursor, max_actors=1))
        assert strip[3][LABEL_WIDTH + column][0] == shown, (cursor, "".join(c for c, _ in strip[3]))
    plain = ["".join(c for c, _ in line) for line in cells(timeline_strip(LANES, LABEL_WIDTH + COLUMNS))]
    assert "text" not in [line[:LABEL_WIDTH].strip() for line in plain], "no text read: no lane"


def test_the_strip_of_a_real_memory_shows_its_speech_and_scenes(offline_memory: IngestedSample) -> None:
    memory = VideoMemory.for_path(offline_memory.settings, offline_memory.video.path)
    lanes = timeline_lanes(memory)
    assert lanes.name == offline_memory.video.path.name and lanes.duration == pytest.approx(memory.ref.duration)
    assert len(lanes.scenes) == len(memory.segments()) and lanes.scene_count == memory.clusters().count
    for line in offline_memory.video.narration:
        assert any(t0 - 1.0 <= line.t0 <= t1 for t0, t1 in lanes.speech), line
    width = LABEL_WIDTH + 112
    speech = ["".join(c for c, _ in line) for line in cells(timeline_strip(lanes, width))][2][LABEL_WIDTH:]
    for line in offline_memory.video.narration:
        column = int(line.t0 / lanes.duration * 112)
        assert "▬" in speech[column : column + 3], (line.text, speech)
