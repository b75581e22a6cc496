"""The LangGraph graph: start -> plan -> act (tools in parallel) -> assess -> (plan again | answer).

Plan picks tool calls (a tool-calling model, or the rule planner); act runs them at once and keeps their
evidence; assess checks the evidence (coverage rules or the model's self-check) and the budgets; answer
composes the reply (the VLM, or rules) and records the turn for follow-ups.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import openai
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Checkpointer

from agent.answer import compose
from agent.assess import assess_by_rules, self_check
from agent.budget import Remaining, remaining
from agent.context import AgentContext
from agent.events import emit
from agent.llm_planner import MODEL_WHY, plan_with_model, scratchpad, unknown_tool_text
from agent.object_words import with_objects
from agent.question import read_question
from agent.rule_planner import plan_first_round, plan_widening
from agent.state import AgentState, ToolCall, ToolRecord, Turn
from core.errors import InvalidRequest, VidsageError
from core.types import Evidence, SourceError
from core.usage import metered
from models.vlm.client import one_line
from tools.binding import is_source_failure, tool_info

MAX_PARALLEL_TOOLS = 4
Node = Callable[[AgentState, Runtime[Any]], dict[str, Any]]


ContextResolver = Callable[[AgentState, Any], AgentContext]
"""Makes the AgentContext of a run started without one (LangGraph's dev server) from its state and raw context."""


def _context(runtime: Runtime[Any], state: AgentState, resolve: ContextResolver | None) -> AgentContext:
    """The run's AgentContext, or the one `resolve` makes when the run was started without it."""
    if isinstance(runtime.context, AgentContext):
        return runtime.context
    if resolve is None:
        raise InvalidRequest("this graph was run without an AgentContext; run it through Session or agent.studio")
    return resolve(state, runtime.context)


def _left(state: AgentState, context: AgentContext) -> Remaining:
    ran = sum(1 for r in state.tool_calls if r.status != "skipped")
    return remaining(context.budget, ran, state.round, context.usage, state.started)


def _answer_reserve(context: AgentContext) -> int:
    """VLM calls kept back for the answer itself."""
    return 1 if context.has_vlm else 0


Step = Callable[[AgentState, AgentContext], dict[str, Any]]


def timed(step: str) -> Callable[[Step], Step]:
    """Mark a graph step with its name; `build_graph` turns it into a node that times and announces it."""

    def mark(function: Step) -> Step:
        function.step_name = step  # type: ignore[attr-defined]
        return function

    return mark


def _node(function: Step, resolve: ContextResolver | None) -> Node:
    """Run a step with its context, announce it on the stream, and append its timing to `steps`."""
    step: str = function.step_name  # type: ignore[attr-defined]

    def node(state: AgentState, runtime: Runtime[Any]) -> dict[str, Any]:
        context = _context(runtime, state, resolve)
        emit("step", step=step, round=state.round)
        started = time.perf_counter()
        update = function(state, context)
        steps = update.pop("steps", state.steps)
        entry = {"step": step, "round": update.get("round", state.round),
                 "seconds": round(time.perf_counter() - started, 4)}  # fmt: skip
        return update | {"steps": [*steps, entry]}

    # not functools.wraps: LangGraph reads the signature to pass `runtime`, and must see this one
    node.__name__, node.__doc__ = function.__name__, function.__doc__
    return node


@timed("start")
def start(state: AgentState, context: AgentContext) -> dict[str, Any]:
    """Reset the per-question fields (the thread's turns stay) and start the clock."""
    planner = "llm" if context.chat_model is not None else "rules"
    question = " ".join(state.question.split())
    return {
        "question": question, "form": with_objects(read_question(question, context.video_names), context), "round": 0, "pending": [], "evidence": [], "tool_calls": [],
        "messages": [], "actors": [], "planner": planner, "ready": False, "verdict": "", "missing": [],
        "notes": [], "answer": "", "choice": None, "cited": [], "steps": [], "started": time.time(), "usage": {},
        "errors": [], "abstained": False, "limitations": [], "confidence": None, "forced": False,
        "videos": state.videos or [m.video_id for m in context.memories],
    }  # fmt: skip


def _plan_by_model(state: AgentState, context: AgentContext, left: Remaining) -> dict[str, Any]:
    try:
        with metered(context.usage):
            calls, reply = plan_with_model(state, context, left.tool_calls)
    except (VidsageError, OSError, ValueError, openai.APIError) as error:
        note = f"the planner model failed ({one_line(error)}); planned by rules instead"
        fallback = _plan_by_rules(state, context, left)
        return fallback | {"planner": "rules", "notes": [*state.notes, note]}
    if not calls:
        if not _has_substance(state) and not any(r.why != MODEL_WHY for r in state.tool_calls):
            # a model that stops without evidence is overruled once: answers need evidence
            fallback = _plan_by_rules(state, context, left, first=True)
            note = "the planner model found no evidence; the rule planner searched as well"
            return fallback | {"notes": [*state.notes, note]}
        return {"round": state.round + 1, "pending": [], "ready": True, "verdict": "the planner model is done",
                "messages": [*state.messages, reply]}  # fmt: skip
    kept = calls[: max(left.tool_calls, 0)]
    notes = list(state.notes)
    if len(kept) < len(calls):
        notes.append(f"the tool-call budget allowed {len(kept)} of the {len(calls)} calls the planner asked for")
    return {"round": state.round + 1, "pending": kept, "notes": notes, "_reply": reply}


def _has_substance(state: AgentState) -> bool:
    return any(e.kind != "note" for e in state.evidence)


def _plan_by_rules(
    state: AgentState, context: AgentContext, left: Remaining, first: bool | None = None
) -> dict[str, Any]:
    """The rule planner's calls: the question's own on the first round (or when asked), widening ones later."""
    if state.round == 0 if first is None else first:
        plan = plan_first_round(state, context)
    else:
        plan = plan_widening(state, context, state.missing)
    kept = plan.calls[: max(left.tool_calls, 0)]
    notes = list(dict.fromkeys([*state.notes, *plan.notes]))
    if len(kept) < len(plan.calls):
        notes.append(f"the tool-call budget allowed {len(kept)} of {len(plan.calls)} planned calls")
    return {"round": state.round + 1, "pending": kept, "notes": notes, "actors": plan.actors or state.actors}


@timed("plan")
def plan(state: AgentState, context: AgentContext) -> dict[str, Any]:
    """Choose this round's tool calls within the budget."""
    left = _left(state, context)
    model_room = left.vlm_calls - _answer_reserve(context)
    per_step = 2 if context.settings.planner_tool_choice == "choose" else 1  # choose: pick the tool, then fill it
    if state.planner == "llm" and context.chat_model is not None and model_room >= per_step:
        update = _plan_by_model(state, context, left)
        reply = update.pop("_reply", None)
        if reply is not None:
            update["messages"] = [*state.messages, reply]
        return update
    return _plan_by_rules(state, context, left)


def _vlm_gate(call: ToolCall, context: AgentContext, room: list[int]) -> tuple[ToolCall | None, str]:
    """A VLM-using call trimmed to the frames and calls left (room = [calls, frames]), or why it is skipped."""
    tool = context.tools.get(call.name)
    if tool is None or not tool_info(tool).uses_vlm or not context.has_vlm:
        return call, ""
    if room[0] <= 0:
        return None, "skipped: the VLM-call budget is spent"
    if call.name == "look_at_frames":
        times = list(call.args.get("times") or [])
        if room[1] <= 0:
            return None, "skipped: the frame budget is spent"
        if len(times) > room[1]:
            call = ToolCall(call.name, call.args | {"times": times[: room[1]]}, call.why, call.id)
        room[1] -= len(call.args.get("times") or [])
    else:
        room[1] -= context.settings.vlm_frames_per_caption
    room[0] -= 1
    return call, ""


def _run_tool(
    call: ToolCall, context: AgentContext, round_number: int
) -> tuple[ToolRecord, list[Evidence], SourceError | None]:
    """Invoke one tool as a model would (a tool call) and keep its text and Evidence artifact; a failed
    source becomes a `failed` record and a SourceError (its text still tells the planner what failed)."""
    tool = context.tools.get(call.name)
    activity = tool_info(tool).activity if tool is not None else f"running {call.name}"
    emit("tool_started", name=call.name, args=call.args, round=round_number, why=call.why, activity=activity)
    started = time.perf_counter()
    failure: SourceError | None = None
    if tool is None:
        text, evidence, status = unknown_tool_text(call.name, context), [], "error"
    else:
        try:
            with metered(context.usage):
                message = tool.invoke({"type": "tool_call", "name": call.name, "args": call.args, "id": call.id})
        except Exception as error:
            if not is_source_failure(error):
                raise
            failure = SourceError(call.name, " ".join(str(error).split()), getattr(error, "exit_code", 1))
            text, evidence, status = f"error: {failure.message}", [], "failed"
        else:
            assert isinstance(message, ToolMessage)
            text = str(message.content)
            evidence = list(message.artifact or [])
            status = "error" if message.status == "error" else "ok"
    seconds = round(time.perf_counter() - started, 4)
    record = ToolRecord(call.name, call.args, round_number, status, len(evidence), seconds, text, call.why, call.id)
    emit("tool_finished", record=record)
    return record, evidence, failure


@timed("act")
def act(state: AgentState, context: AgentContext) -> dict[str, Any]:
    """Run the planned calls, independent ones in parallel, and keep their evidence in call order."""
    left = _left(state, context)
    room = [left.vlm_calls - _answer_reserve(context), left.frames]
    runnable: list[ToolCall] = []
    skipped: list[ToolRecord] = []
    for call in state.pending:
        gated, reason = _vlm_gate(call, context, room)
        if gated is None:
            skipped.append(ToolRecord(call.name, call.args, state.round, "skipped", 0, 0.0, reason, call.why, call.id))
        else:
            runnable.append(gated)
    workers = max(1, min(MAX_PARALLEL_TOOLS, len(runnable)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(contextvars.copy_context().run, _run_tool, c, context, state.round) for c in runnable]
        results = [future.result() for future in futures]
    records = [record for record, _, _ in results] + skipped
    evidence = [item for _, found, _ in results for item in found]
    errors = list(state.errors)
    for _, _, failure in results:
        if failure is not None and all((e.source, e.message) != (failure.source, failure.message) for e in errors):
            errors.append(failure)
    update: dict[str, Any] = {"pending": [], "tool_calls": [*state.tool_calls, *records],
                              "evidence": [*state.evidence, *evidence], "errors": errors}  # fmt: skip
    last = state.messages[-1] if state.messages else None
    if state.planner == "llm" and isinstance(last, AIMessage) and last.tool_calls:  # this round's model calls
        update["messages"] = [*state.messages[:-1], *scratchpad(last, records)]
    return update


@timed("assess")
def assess(state: AgentState, context: AgentContext) -> dict[str, Any]:
    """Enough evidence, or a spent budget: answer; else plan another round for what is missing."""
    left = _left(state, context)
    if left.spent:
        return {"ready": True, "verdict": f"{left.spent}; answering with the evidence so far"}
    if state.planner == "llm" and context.chat_model is not None:
        if left.vlm_calls - _answer_reserve(context) <= 0:
            return {"ready": True, "verdict": "the model-call budget is spent; answering with the evidence so far"}
        return {"ready": False, "verdict": "the planner model decides whether to look further"}
    verdict = assess_by_rules(state, context)
    return {"ready": verdict.ready, "verdict": verdict.reason, "missing": list(verdict.missing)}


def _self_check_then(state: AgentState, context: AgentContext) -> dict[str, Any]:
    """When the planner model says it is done, its self-check may send it back for more."""
    left = _left(state, context)
    if left.spent or left.vlm_calls - _answer_reserve(context) <= 0:
        return {}
    verdict = self_check(state, context)
    if verdict.ready:
        return {"verdict": verdict.reason}
    from langchain_core.messages import HumanMessage

    nudge = HumanMessage(f"Your confidence in the evidence is low ({verdict.reason}). Gather what is missing.")
    return {"ready": False, "verdict": verdict.reason, "messages": [*state.messages, nudge]}


@timed("answer")
def answer(state: AgentState, context: AgentContext) -> dict[str, Any]:
    """Compose the reply, record the turn, and report the question's model use."""
    update: dict[str, Any] = {}
    if state.planner == "llm" and context.chat_model is not None and state.verdict == "the planner model is done":
        update = _self_check_then(state, context)
        if update.get("ready") is False:
            return update | {"answer": ""}
    left = _left(state, context)
    composed = compose(state, context, left.vlm_calls, left.frames)
    notes = list(dict.fromkeys([*state.notes, *composed.notes]))
    turn = Turn(state.question, composed.text, tuple(composed.cited), tuple(state.videos), tuple(state.actors),
                composed.choice)  # fmt: skip
    return update | {
        "answer": composed.text, "choice": composed.choice, "cited": composed.cited, "notes": notes,
        "turns": [turn], "usage": context.usage.to_dict(), "ready": True, "abstained": composed.abstained,
        "limitations": composed.limitations, "confidence": composed.confidence, "forced": composed.forced,
    }  # fmt: skip


def after_plan(state: AgentState) -> Literal["act", "answer"]:
    return "act" if state.pending else "answer"


def after_assess(state: AgentState) -> Literal["plan", "answer"]:
    return "answer" if state.ready else "plan"


def after_answer(state: AgentState) -> Literal["plan", "__end__"]:
    """The self-check may send a model-planned question back for another round."""
    return END if state.ready else "plan"


def build_graph(
    checkpointer: Checkpointer = None,
    context_schema: type | None = AgentContext,
    resolve_context: ContextResolver | None = None,
) -> CompiledStateGraph:
    """start -> plan -> act -> assess -> (plan | answer) -> end; answer may loop back once the self-check asks.

    `resolve_context` makes the AgentContext of runs started without one (the dev server's, see agent.studio).
    """
    graph = StateGraph(AgentState, context_schema=context_schema)
    for step in (start, plan, act, assess, answer):
        graph.add_node(step.step_name, _node(step, resolve_context))  # type: ignore[attr-defined]
    graph.add_edge(START, "start")
    graph.add_edge("start", "plan")
    graph.add_conditional_edges("plan", after_plan)
    graph.add_edge("act", "assess")
    graph.add_conditional_edges("assess", after_assess)
    graph.add_conditional_edges("answer", after_answer)
    return graph.compile(checkpointer=checkpointer, name="vidsage")
