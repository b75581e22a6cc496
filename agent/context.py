"""What the graph's nodes may use at run time: the video's memory, loaded models and the tools."""

from __future__ import annotations

from dataclasses import dataclass, field

from langchain_core.tools import BaseTool

from memory.video_memory import VideoMemory
from models.loader import ModelCache


@dataclass
class AgentContext:
    """Run-time dependencies of one question (passed as LangGraph context, not state)."""

    memory: VideoMemory
    """The ingested video the question is about."""
    models: ModelCache
    """Models for query encoding (text embedder, CLIP)."""
    tools: dict[str, BaseTool] = field(default_factory=dict)
    """Evidence tools by name."""
    top_k: int = 5
    """Results per search."""
