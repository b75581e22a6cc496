"""What a streamed question reports as it goes: tool activity, answer text, and the final Answer.

Nodes emit plain dicts through LangGraph's custom stream (`emit`); `Session.stream` turns them into
these events, which is what the terminal chat shows ("searching the transcript...").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langgraph.config import get_stream_writer

from agent.state import ToolRecord
from core.types import Answer


@dataclass(frozen=True)
class StepStarted:
    """A graph step began: plan, act, assess or answer."""

    step: str
    round: int


@dataclass(frozen=True)
class ToolStarted:
    """A tool call began; `activity` is the tool's own line for it ("searching the transcript")."""

    name: str
    args: dict[str, Any]
    round: int
    why: str = ""
    activity: str = ""


ToolFinished = ToolRecord
"""A tool call ended: the same record the graph keeps in `AgentState.tool_calls` (name, args, status, results,
seconds, what it answered)."""


@dataclass(frozen=True)
class AnswerToken:
    """A piece of the answer text, as the model writes it."""

    text: str


@dataclass(frozen=True)
class AnswerReady:
    """The question is answered; the last event of a stream."""

    answer: Answer


AgentEvent = StepStarted | ToolStarted | ToolFinished | AnswerToken | AnswerReady

_KINDS: dict[str, type] = {"step": StepStarted, "tool_started": ToolStarted, "tool_finished": ToolFinished,
                           "token": AnswerToken}  # fmt: skip


def emit(kind: str, **payload: Any) -> None:
    """Send one event to whoever streams this run (nothing when nobody does)."""
    try:
        writer = get_stream_writer()
    except RuntimeError:  # called outside a graph run
        return
    writer({"event": kind, **payload})


def event_from(payload: Any) -> AgentEvent | None:
    """The event a custom-stream payload carries, or None for anything else."""
    if not isinstance(payload, dict) or payload.get("event") not in _KINDS:
        return None
    if payload["event"] == "tool_finished":
        return payload["record"] if isinstance(payload.get("record"), ToolRecord) else None
    fields = {k: v for k, v in payload.items() if k != "event"}
    return _KINDS[payload["event"]](**fields)
