"""What the graph's nodes may use at run time: the videos' memories, loaded models, tools, the planner's
chat model and the question's usage meter (passed as LangGraph context, never checkpointed)."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from langchain_core.tools import BaseTool

from agent.budget import Budget
from core.settings import Settings
from core.usage import Usage
from memory.video_memory import VideoMemory
from models.cache import ModelCache

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from models.vlm.backend import VisionLanguageModel


@dataclass
class AgentContext:
    """Run-time dependencies of one question."""

    memories: list[VideoMemory]
    """The ingested videos the conversation is about; the first is the default."""
    models: ModelCache
    """Models for query encoding, captions and the VLM."""
    tools: dict[str, BaseTool]
    """Evidence tools by name."""
    settings: Settings
    chat_model: BaseChatModel | None = None
    """The planner's tool-calling chat model; None plans by rules."""
    usage: Usage = field(default_factory=Usage)
    """Model use of the current question (fresh per question, see `for_question`)."""
    top_k: int = 5
    """Results per search."""

    @property
    def memory(self) -> VideoMemory:
        return self.memories[0]

    @property
    def budget(self) -> Budget:
        return Budget.from_settings(self.settings)

    def for_question(self) -> AgentContext:
        """The same context with a fresh usage meter, for one question."""
        return dataclasses.replace(self, usage=Usage())

    def memory_of(self, video_id: str) -> VideoMemory | None:
        return next((m for m in self.memories if m.video_id == video_id), None)

    @property
    def video_names(self) -> tuple[str, ...]:
        """The videos' file names and stems, which a question may use to name a video."""
        return tuple(name for m in self.memories for name in (m.ref.path.name, m.ref.path.stem))

    def named_memory(self, question: str) -> VideoMemory | None:
        """The video a question names by file name or stem ("in panel.mp4", "in the panel video"), if any."""
        lowered = question.lower()
        for memory in self.memories:
            name, stem = memory.ref.path.name.lower(), memory.ref.path.stem.lower()
            if name in lowered or (len(stem) >= 3 and re.search(rf"\b{re.escape(stem)}\b", lowered)):
                return memory
        return None

    def vlm(self) -> VisionLanguageModel | None:
        """The VLM, loaded on first use; None when the profile has none."""
        return self.models.vlm() if self.models.plan.spec("vlm") is not None else None

    @property
    def has_vlm(self) -> bool:
        return self.models.plan.spec("vlm") is not None
