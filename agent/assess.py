"""Is the evidence enough to answer? Coverage rules for the rule planner, a self-check by the model for
the model planner (VideoAgent's self-reflection: rate confidence 1-3, gather more when low).

Either way a spent budget ends the search: the agent then answers with what it has.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import openai

from agent.context import AgentContext
from agent.question import form_of
from agent.state import AgentState
from core.errors import VidsageError
from core.usage import metered
from prompts import render
from tools.render import render_evidence

SPEECH_KINDS = ("transcript",)
VISUAL_KINDS = ("segment", "caption", "dense_caption", "scene")
CONFIDENT = 3
LOW = 1


@dataclass(frozen=True)
class Assessment:
    """The verdict: answer now, or look further for what is `missing`."""

    ready: bool
    reason: str
    missing: tuple[str, ...] = ()


def missing_needs(state: AgentState, context: AgentContext) -> tuple[str, ...]:
    """The needs of the question that no gathered evidence covers yet (empty: covered).

    A question naming no kind of evidence is covered by speech or pictures, whichever answers; a notes-only
    answer from the actor graph ("nobody is on screen at 0:30") is itself an answer about people."""
    form = form_of(state, context)
    kinds = {e.kind for e in state.evidence}
    people_answered = any(r.name == "query_actors" and r.status == "ok" for r in state.tool_calls)
    covered = {
        "speech": bool(kinds & set(SPEECH_KINDS)),
        "visual": bool(kinds & set(VISUAL_KINDS)),
        "people": people_answered or "actor" in kinds,
        "text": "screen_text" in kinds,
    }
    needs: list[str] = []
    if form.people or state.actors:
        needs.append("people")
    if form.speech or state.options:
        needs.append("speech")
    if form.visual or state.options:
        needs.append("visual")
    if form.written:
        needs.append("text")
    objects_answered = any(r.name in ("find_objects", "list_objects") and r.status == "ok" for r in state.tool_calls)
    if form.objects and objects_answered and "people" not in needs:
        return ()  # the object memory's answer, found or "not detected" with what it saw, is the one that counts
    if "people" in needs:  # for a question about people, the actor graph's answer is the one that counts
        return () if covered["people"] else ("people",)
    if form.written and form.during and not covered["text"]:
        return ("text",)  # "printed on screen while they talk about X": the line found, the text shown then is not
    return () if not needs or any(covered[n] for n in needs) else tuple(needs)


def assess_by_rules(state: AgentState, context: AgentContext) -> Assessment:
    """Covered needs answer; uncovered ones ask for a widened round."""
    if state.round == 1 and _follow_up_or_summary(state):
        return Assessment(True, "a follow-up or summary reads its span once")
    missing = missing_needs(state, context)
    if not missing:
        return Assessment(True, "the evidence covers what the question asks")
    return Assessment(False, "no evidence yet for " + ", ".join(missing), missing)


def _follow_up_or_summary(state: AgentState) -> bool:
    return any(c.why.startswith("follow-up") or c.why.startswith("a summary") for c in state.tool_calls)


def self_check(state: AgentState, context: AgentContext) -> Assessment:
    """Ask the planner's model to rate the evidence 1-3; low confidence asks for another round."""
    assert context.chat_model is not None
    from langchain_core.messages import HumanMessage

    evidence = render_evidence(state.evidence[-40:]) if state.evidence else "(no evidence)"
    prompt = render("self_check", question=state.question, evidence=evidence)
    try:
        with metered(context.usage):
            reply = context.chat_model.invoke([HumanMessage(prompt)])
        _count(reply, context)
    except (VidsageError, OSError, ValueError, openai.APIError) as error:
        return Assessment(True, f"self-check failed ({error}); answering with the evidence so far")
    confidence, missing = parse_confidence(str(reply.content))
    if confidence is None:
        return Assessment(True, "the self-check gave no confidence; answering with the evidence so far")
    if confidence <= LOW:
        return Assessment(False, f"self-check confidence {confidence}/3: {missing or 'more evidence needed'}",
                          (missing or "more evidence",))  # fmt: skip
    return Assessment(True, f"self-check confidence {confidence}/3")


def _count(reply: object, context: AgentContext) -> None:
    """Count a chat-model reply in the question's usage (ChatOpenAI reports tokens in usage_metadata)."""
    usage = getattr(reply, "usage_metadata", None) or {}
    context.usage.add(1, 0, int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0)))


def parse_confidence(text: str) -> tuple[int | None, str]:
    """The 1-3 confidence and the 'missing' note of a self-check reply (JSON, or a bare digit)."""
    match = re.search(r"\{.*\}", text, re.DOTALL)
    if match:
        try:
            data = json.loads(match.group(0))
            value = int(data.get("confidence"))
            if 1 <= value <= 3:
                return value, str(data.get("missing", "")).strip()
        except (ValueError, TypeError, AttributeError):
            pass
    digit = re.search(r"\b([123])\b", text)
    return (int(digit.group(1)), "") if digit else (None, "")
