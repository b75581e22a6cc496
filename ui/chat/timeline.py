"""The timeline strip of the selected video, with a cursor at the citation being looked at."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from ui.timeline_lanes import TimelineLanes
from ui.timeline_strip import timeline_strip


class TimelineStrip(Widget):
    """Scene, trigger, speech and actor lanes of one video over its length, redrawn at the pane's width."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lanes: TimelineLanes | None = None
        self.cursor: float | None = None
        self.span: tuple[float, float] | None = None

    def show(self, lanes: TimelineLanes) -> None:
        """Draw `lanes`; switching to another video drops the cursor."""
        if self.lanes is None or self.lanes.video_id != lanes.video_id:
            self.cursor, self.span = None, None
        self.lanes = lanes
        self.border_title = f"timeline · {lanes.name}"
        self.border_subtitle = lanes.summary()
        self.refresh(layout=True)

    def move_cursor(self, time: float | None, span: tuple[float, float] | None = None) -> None:
        """Put the cursor at `time` (None hides it), underlining `span`."""
        self.cursor, self.span = time, span
        self.refresh(layout=True)

    def picture(self) -> Text:
        """What the strip draws now."""
        if self.lanes is None:
            return Text("the timeline appears once the video is in memory", style="dim")
        return timeline_strip(self.lanes, max(1, self.content_size.width), cursor=self.cursor, span=self.span)

    def render(self) -> Text:
        return self.picture()
