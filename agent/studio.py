"""The graph as LangGraph's dev server and Studio load it (`langgraph.json` points here).

The server passes no AgentContext, so the context comes from the run's input: `videos` (paths) and an
optional `profile` / `data_dir` in the run's context. Sessions are cached per video set.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from agent.context import AgentContext
from agent.graph import build_graph
from agent.state import AgentState
from core.errors import InvalidRequest

_SESSIONS: dict[tuple[Any, ...], Any] = {}
_RUNS: OrderedDict[tuple[Any, ...], AgentContext] = OrderedDict()
RUNS_KEPT = 16


@dataclass
class StudioContext:
    """What a dev-server run may configure."""

    profile: str | None = None
    data_dir: str | None = None


def _field(raw: Any, name: str) -> Any:
    return raw.get(name) if isinstance(raw, dict) else getattr(raw, name, None)


def context_for(state: AgentState, raw: Any) -> AgentContext:
    """The AgentContext of a dev-server run: the cached session of its videos, one usage meter per question."""
    from agent.session import Session
    from core.settings import Settings

    if not state.videos:
        raise InvalidRequest("a vidsage run needs `videos`: the paths of the videos to ask about")
    overrides = {k: v for k in ("profile", "data_dir") if (v := _field(raw, k))}
    key = (tuple(state.videos), tuple(sorted(overrides.items())))
    if key not in _SESSIONS:
        _SESSIONS[key] = Session(list(state.videos), settings=Settings(**overrides), persist=False)
    run = (key, state.question, state.started)
    if run not in _RUNS:
        _RUNS[run] = _SESSIONS[key]._context.for_question()
        while len(_RUNS) > RUNS_KEPT:
            _RUNS.popitem(last=False)
    return _RUNS[run]


graph = build_graph(context_schema=StudioContext, resolve_context=context_for)
"""The compiled graph; the dev server adds its own checkpointer."""
