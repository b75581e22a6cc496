"""A video's timeline as a few lines of terminal text: scene colours, trigger marks, speech, text on screen
(when any was read), actor lanes, and a cursor at the moment being looked at, over a mm:ss axis."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from core.types import format_timestamp
from ui.timeline_lanes import SCREEN_TEXT_COLOUR, TimelineLanes

LABEL_WIDTH = 9
SPEECH_COLOUR = "#4a9fe0"
ACTOR_COLOUR = "#2ca02c"
CURSOR_COLOUR = "#ffd700"
TRIGGER_MARK, SPEECH_MARK, ACTOR_MARK, CURSOR_MARK, CURSOR_LINE, SPAN_MARK = "▼", "▬", "━", "▲", "┃", "─"
TEXT_MARK, TEXT_START = "═", "╞"
"""A text shown in the picture; its first column is `TEXT_START`, so texts shown back to back stay apart."""


def column_of(t: float, duration: float, columns: int) -> int:
    """The column (0-based, of `columns`) that shows video time `t`."""
    return min(columns - 1, max(0, int(t / duration * columns)))


def timeline_strip(
    lanes: TimelineLanes,
    width: int,
    *,
    cursor: float | None = None,
    span: tuple[float, float] | None = None,
    max_actors: int = 3,
) -> Text:
    """The lanes as Text `width` cells wide: one line per lane, then the cursor line (when `cursor` is
    given: "▲ mm:ss" at that time, `span` underlined) and the time axis."""
    columns = max(1, width - LABEL_WIDTH)
    duration = lanes.duration
    at = column_of(cursor, duration, columns) if cursor is not None else None

    def blank() -> list[tuple[str, Style]]:
        return [(" ", Style())] * columns

    def mark(cells: list[tuple[str, Style]], t0: float, t1: float, char: str, style: Style) -> None:
        for c in range(column_of(t0, duration, columns), column_of(t1, duration, columns) + 1):
            cells[c] = (char, style)

    scenes = [("·", Style(dim=True))] * columns
    for c in range(columns):
        middle = (c + 0.5) * duration / columns
        scene = next((s for s in lanes.scenes if s.t0 <= middle < s.t1), None)
        if scene is not None:
            scenes[c] = (" ", Style(bgcolor=scene.colour))
    triggers = blank()
    for trigger in lanes.triggers:
        mark(triggers, trigger.time, trigger.time, TRIGGER_MARK, Style(color=trigger.colour, bold=True))
    speech = blank()
    for t0, t1 in lanes.speech:
        mark(speech, t0, t1, SPEECH_MARK, Style(color=SPEECH_COLOUR))
    rows: list[tuple[str, list[tuple[str, Style]]]] = [("scenes", scenes), ("triggers", triggers), ("speech", speech)]
    if lanes.screen_text:
        shown = blank()
        for t0, t1 in lanes.screen_text:
            mark(shown, t0, t1, TEXT_MARK, Style(color=SCREEN_TEXT_COLOUR))
            if column_of(t1, duration, columns) > column_of(t0, duration, columns):
                mark(shown, t0, t0, TEXT_START, Style(color=SCREEN_TEXT_COLOUR))
        rows.append(("text", shown))
    for actor in lanes.actors[:max_actors]:
        cells = blank()
        for t0, t1 in actor.intervals:
            mark(cells, t0, t1, ACTOR_MARK, Style(color=ACTOR_COLOUR))
        rows.append((f"actor {actor.actor_id}", cells))

    text = Text(no_wrap=True, overflow="crop")
    for label, cells in rows:
        if at is not None:
            char, style = cells[at]
            on_colour = style.bgcolor is not None
            over = Style(color="#000000" if on_colour else CURSOR_COLOUR, bold=True, dim=False)
            cells[at] = (CURSOR_LINE if char in " ·" else char, style + over)
        text.append(f"{label[: LABEL_WIDTH - 1]:<{LABEL_WIDTH}}", Style(dim=True))
        for char, style in cells:
            text.append(char, style)
        text.append("\n")
    hidden = lanes.actor_count - min(len(lanes.actors), max_actors)
    if hidden > 0:
        text.append(f"{'':<{LABEL_WIDTH}}+{hidden} more actor{'s' if hidden != 1 else ''}\n", Style(dim=True))
    if at is not None:
        text.append(_cursor_line(at, columns, cursor or 0.0, span, duration))
        text.append("\n")
    text.append(_axis(columns, duration), Style(dim=True))
    return text


def _cursor_line(at: int, columns: int, cursor: float, span: tuple[float, float] | None, duration: float) -> Text:
    """'▲ mm:ss' at the cursor column (the label on whichever side fits), the span drawn as '─'."""
    cells = [" "] * columns
    if span is not None:
        for c in range(column_of(span[0], duration, columns), column_of(span[1], duration, columns) + 1):
            cells[c] = SPAN_MARK
    cells[at] = CURSOR_MARK
    label = f" {format_timestamp(cursor)}"
    if at + 1 + len(label) <= columns:
        cells[at + 1 : at + 1 + len(label)] = list(label)
    elif at - len(label) >= 0:
        cells[at - len(label) : at] = list(f"{format_timestamp(cursor)} ")
    line = Text(" " * LABEL_WIDTH, no_wrap=True)
    line.append("".join(cells), Style(color=CURSOR_COLOUR, bold=True))
    return line


def _axis(columns: int, duration: float) -> str:
    """'00:00' at the left, the middle time centred, the end time at the right."""
    start, middle, end = format_timestamp(0), format_timestamp(duration / 2), format_timestamp(duration)
    cells = [" "] * columns
    for text, position in ((start, 0), (middle, columns // 2 - len(middle) // 2), (end, columns - len(end))):
        if 0 <= position and position + len(text) <= columns:
            cells[position : position + len(text)] = list(text)
    return " " * LABEL_WIDTH + "".join(cells)
