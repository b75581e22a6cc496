"""The agent: question -> plan -> tools over memory -> grounded answer. Public API: `ask`, `Session` (opened with
`Session.open(videos, settings=..., progress=...)`, which ingests what memory lacks first), `agent.events`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.api import ask
    from agent.session import Session

__all__ = ["Session", "ask"]


def __getattr__(name: str) -> Any:
    """Import lazily, so `agent.question` and friends load without the whole graph and its models."""
    if name == "ask":
        from agent.api import ask

        return ask
    if name == "Session":
        from agent.session import Session

        return Session
    raise AttributeError(f"module 'agent' has no attribute {name!r}")
