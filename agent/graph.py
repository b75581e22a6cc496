"""The LangGraph graph: retrieve evidence with the tools the question calls for, then compose the answer.

Issue 6 grows `retrieve` into plan -> act -> assess; the state and context stay the same.
"""

from __future__ import annotations

import uuid
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from agent.compose import compose_answer
from agent.context import AgentContext
from agent.intent import classify
from agent.state import AgentState
from memory.ingest import manifest_notes
from models.types import Evidence

_SEARCHED_NAMES = {
    "search_transcript": "the transcript",
    "query_actors": "the tracked people",
    "search_segments": "the visual index",
}


def _call(context: AgentContext, name: str, args: dict[str, Any]) -> list[Evidence]:
    """Invoke a tool as a model would (a tool call) and take its Evidence artifact."""
    tool = context.tools[name]
    message = tool.invoke({"type": "tool_call", "name": name, "args": args, "id": uuid.uuid4().hex})
    return list(message.artifact or [])


def retrieve(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Search the memories the question's wording calls for."""
    context = runtime.context
    intent = classify(state.question)
    calls: list[tuple[str, dict[str, Any]]] = []
    if intent.speech:
        calls.append(("search_transcript", {"query": state.question, "top_k": context.top_k}))
    if intent.people:
        calls.append(("query_actors", {"label": "person"}))
    if intent.visual and "search_segments" in context.tools:
        calls.append(("search_segments", {"query": state.question, "top_k": context.top_k}))
    evidence: list[Evidence] = []
    for name, args in calls:
        evidence.extend(_call(context, name, args))
    return {"evidence": evidence, "searched": [_SEARCHED_NAMES[name] for name, _ in calls]}


def compose(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Write the answer from the gathered evidence."""
    notes = manifest_notes(runtime.context.memory.manifest)
    composition = compose_answer(
        state.question, state.evidence, state.searched, classify(state.question).people, notes
    )
    return {"answer": composition.text, "cited": composition.cited}


def build_graph() -> CompiledStateGraph:
    """retrieve -> compose."""
    graph = StateGraph(AgentState, context_schema=AgentContext)
    graph.add_node("retrieve", retrieve)
    graph.add_node("compose", compose)
    graph.add_edge(START, "retrieve")
    graph.add_edge("retrieve", "compose")
    graph.add_edge("compose", END)
    return graph.compile(name="vidsage")
