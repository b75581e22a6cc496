"""The keyframe of the selected citation, drawn with half-block pixels to fit the pane."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.widget import Widget

from ui.halfblock import halfblock

HINT = "select a citation to see its keyframe"


class KeyframeView(Widget):
    """Shows one RGB frame (or a hint when there is none), redrawn at whatever size the pane has."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.frame: np.ndarray | None = None
        self.time: float | None = None
        self.hint = HINT

    def show(self, frame: np.ndarray, time: float, caption: str) -> None:
        """Draw `frame`, taken at video time `time`, with `caption` under it."""
        self.frame, self.time = frame, time
        self.border_subtitle = caption
        self.refresh()

    def clear(self, hint: str = HINT) -> None:
        """Drop the picture and show `hint` instead."""
        self.frame, self.time, self.hint = None, None, hint
        self.border_subtitle = ""
        self.refresh()

    def picture(self) -> Text:
        """What the pane draws now: the frame in half blocks at the pane's size, or the hint."""
        if self.frame is None:
            return Text(self.hint, style="dim")
        width, height = self.content_size
        return halfblock(self.frame, max(1, width), max_rows=max(1, height))

    def render(self) -> Text:
        return self.picture()
