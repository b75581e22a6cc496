"""The evidence tools the agent calls: transcript search, visual segment search, who is on screen.

Each tool is bound to one video's memory and the loaded models, takes typed arguments, and answers
with `content_and_artifact`: a compact text for a language model and the Evidence list for code.
"""

from __future__ import annotations

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from memory.retrieval import actor_evidence, search_segments, search_transcript
from memory.video_memory import VideoMemory
from models.loader import ModelCache
from models.types import Evidence, format_timestamp


class SearchArgs(BaseModel):
    """Arguments of a text search over one video."""

    query: str = Field(description="What to look for, in plain words.")
    top_k: int = Field(default=5, ge=1, le=50, description="How many results at most.")


class ActorArgs(BaseModel):
    """Arguments of a who-is-on-screen query."""

    label: str = Field(default="person", description="Object class to list, e.g. 'person'.")
    t0: float | None = Field(default=None, ge=0, description="Start of the time range in seconds.")
    t1: float | None = Field(default=None, ge=0, description="End of the time range in seconds.")


def render_evidence(evidence: list[Evidence]) -> str:
    """One line per item, `[mm:ss-mm:ss] text`, or a clear 'nothing found'."""
    if not evidence:
        return "nothing found"
    return "\n".join(f"[{format_timestamp(e.t0)}-{format_timestamp(e.t1)}] {e.text}" for e in evidence)


def build_tools(memory: VideoMemory, models: ModelCache) -> list[BaseTool]:
    """The tools for one video; visual search is offered only when CLIP vectors exist."""

    def transcript_tool(query: str, top_k: int = 5) -> tuple[str, list[Evidence]]:
        found = search_transcript(memory, query, models, top_k)
        return render_evidence(found), found

    def segments_tool(query: str, top_k: int = 5) -> tuple[str, list[Evidence]]:
        found = search_segments(memory, query, models, top_k)
        return render_evidence(found), found

    def actors_tool(label: str = "person", t0: float | None = None, t1: float | None = None) -> tuple[str, list[Evidence]]:
        window = (t0 or 0.0, t1 if t1 is not None else memory.ref.duration) if (t0 is not None or t1 is not None) else None
        found = actor_evidence(memory, label, window)
        return render_evidence(found), found

    tools: list[BaseTool] = [
        StructuredTool.from_function(
            transcript_tool,
            name="search_transcript",
            description="Find what is said in the video: transcript lines about a topic, with times.",
            args_schema=SearchArgs,
            response_format="content_and_artifact",
        ),
        StructuredTool.from_function(
            actors_tool,
            name="query_actors",
            description="List the people (or another object class) on screen: each actor, when they appear, what they do.",
            args_schema=ActorArgs,
            response_format="content_and_artifact",
        ),
    ]
    if memory.summary("segments").get("collection"):
        tools.append(
            StructuredTool.from_function(
                segments_tool,
                name="search_segments",
                description="Find the moments whose picture matches a description (CLIP).",
                args_schema=SearchArgs,
                response_format="content_and_artifact",
            )
        )
    return tools
