"""The evidence tools the agent calls, bound to the videos of a conversation and the loaded models.

Each tool takes typed arguments (times in seconds or 'mm:ss') and answers with `content_and_artifact`:
a compact text for a language model and the Evidence list for code. Problems (an unknown video, an
actor id that does not exist, a time past the end) come back as the tool's text, `error: ...`.

| tool                | answers                                                         | evidence kinds         |
|---------------------|-----------------------------------------------------------------|------------------------|
| `search_transcript` | what is said about a topic                                      | transcript             |
| `read_transcript`   | everything said in a time range, in order                       | transcript             |
| `search_segments`   | where the picture matches a description (CLIP, captions)        | segment, (dense_)caption |
| `query_actors`      | who / when / with_whom / first_meeting / trajectory / said      | actor, transcript, note |
| `list_scenes`       | the scene clusters and when each is shown                       | scene                  |
| `describe_segment`  | what a span shows (stored caption, else captioner / VLM, cached) | (dense_)caption, note  |
| `look_at_frames`    | a visual question about chosen frames (VLM)                     | dense_caption, note    |
| `get_triggers`      | the key moments ingest picked, and why                          | segment, note          |
| `find_objects`      | when a named object is shown, how often, with / after what      | object, note           |
| `list_objects`      | every object shown in a time range                              | object, note           |
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.tools import BaseTool

from memory.library import Library
from memory.video_memory import VideoMemory
from models.cache import ModelCache
from tools.actors import query_actors_tool
from tools.binding import VideoSet
from tools.describe import describe_segment_tool
from tools.frames import look_at_frames_tool
from tools.objects import find_objects_tool, list_objects_tool
from tools.render import render_evidence
from tools.scenes import list_scenes_tool
from tools.screen_text import read_screen_text_tool, search_screen_text_tool
from tools.search import has_visual_memory, read_transcript_tool, search_segments_tool, search_transcript_tool
from tools.triggers import get_triggers_tool

__all__ = ["build_tools", "render_evidence"]


def build_tools(
    memories: VideoMemory | Sequence[VideoMemory], models: ModelCache, library: Library | None = None
) -> list[BaseTool]:
    """The tools for one video or several (the first is the default). `search_segments` is offered only
    when some video has CLIP vectors or captions to search; the others always are, and say plainly when
    a model they need is missing."""
    videos = VideoSet([memories] if isinstance(memories, VideoMemory) else list(memories), models, library)
    tools = [search_transcript_tool(videos), read_transcript_tool(videos), query_actors_tool(videos)]
    if has_visual_memory(videos):
        tools.append(search_segments_tool(videos))
    tools += [search_screen_text_tool(videos), read_screen_text_tool(videos), list_scenes_tool(videos),
              describe_segment_tool(videos), look_at_frames_tool(videos), get_triggers_tool(videos),
              find_objects_tool(videos), list_objects_tool(videos)]  # fmt: skip
    return tools
