"""The state carried through the agent graph."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated

from models.types import Evidence


@dataclass
class AgentState:
    """One question's journey through the graph."""

    question: str
    """The user's question, as asked."""
    evidence: Annotated[list[Evidence], operator.add] = field(default_factory=list)
    """Evidence gathered by the tools, in the order found."""
    searched: Annotated[list[str], operator.add] = field(default_factory=list)
    """Human names of what was searched (for 'not in the video' answers)."""
    answer: str = ""
    """The composed answer, citing [mm:ss] for every claim."""
    cited: list[Evidence] = field(default_factory=list)
    """The evidence the answer cites, in the order it cites it."""
