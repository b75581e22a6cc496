"""Search tools: what is said (transcript) and what is seen (segments and captions), over the bound videos.

`search_transcript` ranks speech spans by keywords and meaning (memory.retrieval); `search_segments`
runs the library's hybrid search (CLIP text->image, caption text vectors, BM25 over captions) and
keeps what describes the picture, so without CLIP it still finds captions. Both search every bound
video unless one is named, and both filter by time range.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

from langchain_core.tools import BaseTool
from pydantic import BaseModel, BeforeValidator, Field, StringConstraints

from core.types import Evidence
from memory.library import Library
from memory.retrieval import search_transcript as transcript_hits
from tools.binding import ToolInfo, ToolResult, VideoSet, check_within, make_tool
from tools.render import render_evidence
from tools.timecodes import TimeRange


def _one_line(value: object) -> object:
    """A query pasted with line breaks or runs of spaces searches as one line of words."""
    return " ".join(value.split()) if isinstance(value, str) else value


VISUAL_KINDS = ("segment", "caption", "dense_caption")
LIBRARY_CANDIDATES = 200
"""Hybrid-search results fetched before keeping the visual kinds (speech ranks among them)."""


class SearchArgs(BaseModel):
    """Arguments of a search."""

    query: Annotated[str, BeforeValidator(_one_line), StringConstraints(min_length=1)] = Field(
        description="What to look for, in plain words."
    )
    video: str | None = Field(default=None, description="Which video (file name or id); omit to search every video.")
    t_range: TimeRange | None = Field(
        default=None, description="Only results overlapping [start, end], in seconds or 'mm:ss'."
    )
    top_k: int = Field(default=5, ge=1, le=50, description="How many results at most.")


def overlaps(evidence: Evidence, t_range: tuple[float, float] | None) -> bool:
    return t_range is None or (evidence.t0 <= t_range[1] and evidence.t1 >= t_range[0])


def best_first(found: list[Evidence], top_k: int) -> list[Evidence]:
    return sorted(found, key=lambda e: (-e.score, e.video_id, e.t0))[:top_k]


def search_transcript_tool(videos: VideoSet) -> BaseTool:
    def run(
        query: str, video: str | None = None, t_range: tuple[float, float] | None = None, top_k: int = 5
    ) -> ToolResult:
        found: list[Evidence] = []
        for memory in videos.select(video):
            every = transcript_hits(memory, query, videos.models, top_k=max(len(memory.transcript()), 1))
            found += [e for e in every if overlaps(e, t_range)]
        best = best_first(found, top_k)
        return render_evidence(best, videos.render_names()), best

    return make_tool(
        run,
        "search_transcript",
        "Find what is said in the video: the transcript lines about a topic (by keywords and meaning), with times.",
        SearchArgs,
        ToolInfo("searching the transcript", "the transcript"),
    )


def search_segments_tool(videos: VideoSet) -> BaseTool:
    def run(
        query: str, video: str | None = None, t_range: tuple[float, float] | None = None, top_k: int = 5
    ) -> ToolResult:
        found: list[Evidence] = []
        groups: dict[int, tuple[Library, list[str]]] = {}
        for memory in videos.select(video):
            library = videos.library(memory)
            groups.setdefault(id(library), (library, []))[1].append(memory.video_id)
        for library, ids in groups.values():
            for hit in library.search(query, videos=ids, t_range=t_range, top_k=LIBRARY_CANDIDATES):
                if hit.kind in VISUAL_KINDS:
                    text = f"looks like {query!r} (visual match)" if hit.kind == "segment" else hit.text
                    found.append(dataclasses.replace(hit, text=text))
        best = best_first(found, top_k)
        return render_evidence(best, videos.render_names()), best

    return make_tool(
        run,
        "search_segments",
        "Find the moments whose picture matches a description: visual search (CLIP) and the segments' captions.",
        SearchArgs,
        ToolInfo("searching the pictures", "the visual index"),
    )


class ReadArgs(BaseModel):
    """Arguments for reading the transcript in time order."""

    video: str | None = Field(default=None, description="Which video (file name or id); omit for the first.")
    t_range: TimeRange | None = Field(
        default=None, description="Only lines overlapping [start, end], in seconds or 'mm:ss'; omit for all."
    )
    max_lines: int = Field(default=30, ge=1, le=200, description="How many lines at most, from the start.")


def read_transcript_tool(videos: VideoSet) -> BaseTool:
    def run(video: str | None = None, t_range: tuple[float, float] | None = None, max_lines: int = 30) -> ToolResult:
        memory = videos.resolve(video)
        if t_range is not None:
            check_within(memory, t_range[0])
        lines = [
            Evidence(
                "transcript",
                memory.video_id,
                span.t0,
                span.t1,
                span.text,
                1.0,
                "read_transcript",
                round((span.t0 + span.t1) / 2, 3),
            )  # fmt: skip
            for span in memory.transcript()
        ]
        chosen = [e for e in lines if overlaps(e, t_range)][:max_lines]
        if not chosen:
            where = "" if t_range is None else f" between {t_range[0]:g} s and {t_range[1]:g} s"
            reason = "has no speech" if not lines else f"has no speech{where}"
            return f"nothing found: {memory.ref.path.name} {reason}", []
        return render_evidence(chosen, videos.render_names()), chosen

    return make_tool(
        run,
        "read_transcript",
        "Read what is said in a time range (or the whole video), line by line in time order: for summaries and "
        "for what happens before or after a moment.",
        ReadArgs,
        ToolInfo("reading the transcript", "the transcript"),
    )


def has_visual_memory(videos: VideoSet) -> bool:
    """Whether any bound video has something for `search_segments`: CLIP segment vectors or captions."""
    return any(
        m.summary("segments").get("collection") or any(c.caption or c.dense for c in m.captions())
        for m in videos.memories
    )
