"""On-screen text tools: `search_screen_text` finds the titles, captions, signs or scores about a topic;
`read_screen_text` reads everything written on screen in a time range, in the order it was shown.

Both say plainly when no text reader ran on a video (that the picture holds no text is then unknown), so the
planner and the answer never take a missing reader for an empty screen.
"""

from __future__ import annotations

from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from core.types import Evidence
from memory.retrieval import screen_text_evidence
from memory.retrieval import search_screen_text as screen_text_hits
from memory.video_memory import VideoMemory
from tools.binding import ToolInfo, ToolResult, VideoSet, check_within, make_tool
from tools.render import render_evidence
from tools.search import SearchArgs, best_first, overlaps
from tools.timecodes import TimeRange


def _unread(memory: VideoMemory) -> str:
    """Why a video's on-screen text is unknown ('' when a reader ran on it)."""
    record = memory.manifest.stages.get("ocr")
    if record is None or record.summary.get("disabled"):
        return f"{memory.ref.path.name}: no on-screen text reader ran on this video, so what is written there is unknown"
    return ""


def search_screen_text_tool(videos: VideoSet) -> BaseTool:
    def run(
        query: str, video: str | None = None, t_range: tuple[float, float] | None = None, top_k: int = 5
    ) -> ToolResult:
        found: list[Evidence] = []
        unread: list[str] = []
        for memory in videos.select(video):
            if reason := _unread(memory):
                unread.append(reason)
                continue
            every = screen_text_hits(memory, query, videos.models, top_k=max(len(memory.screen_text()), 1))
            found += [e for e in every if overlaps(e, t_range)]
        best = best_first(found, top_k)
        text = render_evidence(best, videos.render_names())
        return "\n".join([*unread, text] if best or not unread else unread), best

    return make_tool(
        run,
        "search_screen_text",
        "Find text shown in the picture (titles, name captions, signs, scores, slides) about a topic, with times.",
        SearchArgs,
        ToolInfo("searching the text on screen", "the text on screen"),
    )


class ReadScreenArgs(BaseModel):
    """Arguments for reading the on-screen text in time order."""

    video: str | None = Field(default=None, description="Which video (file name or id); omit for the first.")
    t_range: TimeRange | None = Field(
        default=None, description="Only text shown during [start, end], in seconds or 'mm:ss'; omit for all."
    )
    max_items: int = Field(default=30, ge=1, le=200, description="How many texts at most, from the start.")


def read_screen_text_tool(videos: VideoSet) -> BaseTool:
    def run(video: str | None = None, t_range: tuple[float, float] | None = None, max_items: int = 30) -> ToolResult:
        memory = videos.resolve(video)
        if t_range is not None:
            check_within(memory, t_range[0])
        if reason := _unread(memory):
            return reason, []
        shown = [screen_text_evidence(memory, i) for i in range(len(memory.screen_text()))]
        chosen = [e for e in shown if overlaps(e, t_range)][:max_items]
        if not chosen:
            where = "" if t_range is None else f" between {t_range[0]:g} s and {t_range[1]:g} s"
            return f"nothing found: no text was read on screen in {memory.ref.path.name}{where}", []
        return render_evidence(chosen, videos.render_names()), chosen

    return make_tool(
        run,
        "read_screen_text",
        "Read all text shown in the picture in a time range (or the whole video), in the order it appears: titles, "
        "captions, signs, changing scores.",
        ReadScreenArgs,
        ToolInfo("reading the text on screen", "the text on screen"),
    )
