"""The state carried through the agent graph: the conversation so far and one question's journey.

`turns` accumulates across questions of a thread (the SQLite checkpointer keeps it); every other field
belongs to the current question and is reset by the graph's `start` node.
"""

from __future__ import annotations

import operator
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any

from langchain_core.messages import BaseMessage

from agent.question import QuestionForm
from core.types import Evidence, SourceError


@dataclass(frozen=True)
class ToolCall:
    """A tool call the planner chose: which tool, with which arguments, and why."""

    name: str
    args: dict[str, Any]
    why: str = ""
    id: str = field(default_factory=lambda: "call_" + uuid.uuid4().hex[:12])


@dataclass(frozen=True)
class ToolRecord:
    """A tool call as it ran: its arguments, outcome, evidence count and time."""

    name: str
    args: dict[str, Any]
    round: int
    status: str
    """`ok`, `error` (a problem with the call, which the planner reads), `failed` (its source failed: see
    `AgentState.errors`) or `skipped` (a budget was spent)."""
    results: int
    seconds: float
    text: str
    """What the tool answered, as the planner's model reads it."""
    why: str = ""
    id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "args": self.args, "round": self.round, "status": self.status,
                "results": self.results, "seconds": self.seconds, "why": self.why, "output": self.text}  # fmt: skip


@dataclass(frozen=True)
class Turn:
    """One finished question of a thread, kept so follow-ups can resolve "that", "then" and "she"."""

    question: str
    answer: str
    cited: tuple[Evidence, ...]
    videos: tuple[str, ...]
    actors: tuple[int, ...] = ()
    """Actor ids the question was about (for pronouns in the next question)."""
    choice: int | None = None


@dataclass
class AgentState:
    """One question's journey through plan -> act -> assess -> answer, within a conversation."""

    question: str = ""
    """The user's question, as asked."""
    form: QuestionForm | None = None
    """The question's form, read once by the graph's start step (planner, assessment and answer share it)."""
    options: list[str] | None = None
    """Multiple-choice options, when the question has them."""
    force_choice: bool = False
    """Pick an option even when no evidence tells them apart (for benchmark comparison); marked as forced."""
    videos: list[str] = field(default_factory=list)
    """Ids of the videos the question is about (empty: every video of the session)."""
    turns: Annotated[list[Turn], operator.add] = field(default_factory=list)
    """Earlier questions of this thread, oldest first."""
    round: int = 0
    """Plan -> act rounds done for this question."""
    pending: list[ToolCall] = field(default_factory=list)
    """Tool calls planned and not yet run."""
    evidence: list[Evidence] = field(default_factory=list)
    """Evidence gathered for this question, in the order found."""
    tool_calls: list[ToolRecord] = field(default_factory=list)
    """Every tool call of this question, in order."""
    messages: list[BaseMessage] = field(default_factory=list)
    """The model planner's scratchpad: its tool-call messages and the tools' answers."""
    actors: list[int] = field(default_factory=list)
    """Actor ids the question names (resolved by the planner)."""
    planner: str = ""
    """Who planned: `llm` or `rules` (after a fallback, `rules`)."""
    ready: bool = False
    """The assessment's verdict: enough evidence (or budget spent) to answer."""
    verdict: str = ""
    """Why the assessment stopped or went on, for the trace."""
    missing: list[str] = field(default_factory=list)
    """Needs the evidence does not cover yet, for the next (widened) round."""
    notes: list[str] = field(default_factory=list)
    """Things the user should know (a budget that cut the search short, a planner fallback)."""
    errors: list[SourceError] = field(default_factory=list)
    """Sources that failed for this question: the answer may not claim absence while there are any."""
    answer: str = ""
    """The composed answer, citing [mm:ss] for every claim."""
    choice: int | None = None
    """The chosen option (0-based) in multiple-choice mode."""
    cited: list[Evidence] = field(default_factory=list)
    """The evidence the answer cites, in the order it cites it."""
    abstained: bool = False
    """The answer makes no claim: the loaded models cannot perceive what the question needs, or no evidence
    tells the options apart."""
    limitations: list[str] = field(default_factory=list)
    """What the loaded models cannot perceive that the question needs, one sentence each."""
    confidence: float | None = None
    """In multiple-choice mode, how well the evidence supports the chosen option (0-1)."""
    forced: bool = False
    """The choice was forced (force_choice) where the evidence told no option apart."""
    steps: list[dict[str, Any]] = field(default_factory=list)
    """Per-step timings: {"step", "round", "seconds"}."""
    started: float = 0.0
    """Wall-clock start of this question (time.time()), for the time budget."""
    usage: dict[str, int] = field(default_factory=dict)
    """Model use of this question (calls, images, tokens), filled by the answer step."""


CHECKPOINT_TYPES: tuple[tuple[str, str], ...] = (
    ("agent.state", "ToolCall"),
    ("agent.state", "ToolRecord"),
    ("agent.state", "Turn"),
    ("agent.state", "AgentState"),
    ("agent.question", "QuestionForm"),
    ("core.types", "Evidence"),
    ("core.types", "SourceError"),
)
"""Types the checkpointer may rebuild from a thread's saved state (LangGraph refuses unlisted ones)."""
