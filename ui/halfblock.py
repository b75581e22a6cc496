"""Pictures in a terminal: each character cell shows two vertical pixels as "▀" (top in the foreground
colour, bottom in the background colour), so a W-column, R-row block is a W x 2R image."""

from __future__ import annotations

import numpy as np
from PIL import Image
from rich.color import Color
from rich.style import Style
from rich.text import Text

UPPER_HALF = "▀"


def halfblock_size(height: int, width: int, columns: int, max_rows: int | None = None) -> tuple[int, int]:
    """(columns, rows) showing a `height` x `width` image at `columns` wide (fewer when `max_rows` binds),
    keeping its aspect ratio for square pixels (a cell is about twice as tall as wide)."""
    if height < 1 or width < 1:
        raise ValueError(f"an image needs at least one pixel, got {height}x{width}")
    if columns < 1:
        raise ValueError(f"a picture needs at least one column, got {columns}")
    rows = max(1, round(height * columns / width / 2))
    if max_rows is not None and rows > max_rows:
        rows = max(1, max_rows)
        columns = max(1, min(columns, round(width * 2 * rows / height)))
    return columns, rows


def halfblock(frame: np.ndarray, width: int, max_rows: int | None = None) -> Text:
    """An RGB uint8 frame (H x W x 3) as rich Text `width` cells wide (at most `max_rows` lines), one line a row."""
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 RGB frame, got shape {frame.shape}")
    columns, rows = halfblock_size(frame.shape[0], frame.shape[1], width, max_rows)
    pixels = np.asarray(frame, dtype=np.uint8)
    if pixels.shape[:2] != (2 * rows, columns):
        resized = Image.fromarray(np.ascontiguousarray(pixels)).resize((columns, 2 * rows), Image.Resampling.BOX)
        pixels = np.asarray(resized)
    text = Text(no_wrap=True, overflow="crop")
    styles: dict[tuple[int, ...], Style] = {}
    for row in range(rows):
        top, bottom = pixels[2 * row], pixels[2 * row + 1]
        for x in range(columns):
            key = (*top[x].tolist(), *bottom[x].tolist())
            style = styles.get(key)
            if style is None:
                style = styles[key] = Style(color=Color.from_rgb(*key[:3]), bgcolor=Color.from_rgb(*key[3:]))
            text.append(UPPER_HALF, style)
        if row < rows - 1:
            text.append("\n")
    return text
