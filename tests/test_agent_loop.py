"""The plan -> act -> assess loop with a scripted planner model (langchain-core's fake chat model): calls it
asks for are run (independent ones in one round), recorded and fed back; its self-check can send it back;
budgets cut it off; a failing or idle model falls back to the rule planner. Memory is the real sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from conftest import IngestedSample
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from agent import Session
from agent.llm_planner import MODEL_WHY

BUDGET_T0 = 7.0


class ScriptedPlanner(FakeMessagesListChatModel):
    """Answers with the scripted messages in order and records every request it was sent."""

    seen: list[list[BaseMessage]] = []

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedPlanner:
        return self

    def invoke(self, input: Any, config: Any = None, **kwargs: Any) -> BaseMessage:
        self.seen.append(list(input))
        return super().invoke(input, config, **kwargs)


class BrokenPlanner(ScriptedPlanner):
    def invoke(self, input: Any, config: Any = None, **kwargs: Any) -> BaseMessage:
        raise ConnectionError("planner server went away")


def tool_call(name: str, call_id: str, **args: Any) -> dict[str, Any]:
    return {"name": name, "args": args, "id": call_id, "type": "tool_call"}


def planner(*replies: AIMessage) -> ScriptedPlanner:
    return ScriptedPlanner(responses=list(replies), seen=[])


def session(offline_memory: IngestedSample, model: Any, **settings: Any) -> Session:
    merged = offline_memory.settings.model_copy(update=settings)
    return Session(offline_memory.video.path, settings=merged, models=offline_memory.models, chat_model=model,
                   persist=False)  # fmt: skip


CONFIDENT = AIMessage('{"confidence": 3, "missing": ""}')
DONE = AIMessage("DONE")


def test_scripted_calls_run_together_and_feed_back(offline_memory: IngestedSample) -> None:
    model = planner(
        AIMessage(
            "",
            tool_calls=[
                tool_call("search_transcript", "a", query="bridge budget"),
                tool_call("query_actors", "b", ask="who"),
            ],
        ),  # fmt: skip
        DONE,
        CONFIDENT,
    )
    with session(offline_memory, model) as s:
        answer = s.ask("What does the narrator say about the bridge, and who is on screen?")
    assert [(c["name"], c["round"], c["why"]) for c in answer.tool_calls] == [
        ("search_transcript", 1, MODEL_WHY), ("query_actors", 1, MODEL_WHY)]  # fmt: skip
    second_request = model.seen[1]
    results = [m for m in second_request if isinstance(m, ToolMessage)]
    assert [m.tool_call_id for m in results] == ["a", "b"]
    assert "million" in str(results[0].content) and "actor 1" in str(results[1].content)
    assert answer.usage["vlm_calls"] == 3  # two planner requests and the self-check
    assert "million" in answer.text and "[00:07]" in answer.text
    assert any(abs(e.t0 - BUDGET_T0) <= 2 for e in answer.evidence)


def test_low_self_check_confidence_sends_the_planner_back(offline_memory: IngestedSample) -> None:
    model = planner(
        AIMessage("", tool_calls=[tool_call("query_actors", "a", ask="who")]),
        DONE,
        AIMessage('{"confidence": 1, "missing": "what is said about the museum"}'),
        AIMessage("", tool_calls=[tool_call("search_transcript", "b", query="science museum")]),
        DONE,
        CONFIDENT,
    )
    with session(offline_memory, model) as s:
        answer = s.ask("Who is on screen when the museum is mentioned?")
    assert [c["name"] for c in answer.tool_calls] == ["query_actors", "search_transcript"]
    assert "confidence in the evidence is low" in str(model.seen[3][-1].content)
    assert "museum" in answer.text.lower()


def test_budgets_stop_a_planner_that_never_stops(offline_memory: IngestedSample) -> None:
    endless = [AIMessage("", tool_calls=[tool_call("search_transcript", f"{i}-{k}", query=f"topic {i} {k}")
                                         for k in range(3)]) for i in range(20)]  # fmt: skip
    with session(offline_memory, planner(*endless), agent_max_tool_calls=4, agent_max_vlm_calls=5) as s:
        answer = s.ask("Tell me everything that is said.")
    assert len([c for c in answer.tool_calls if c["status"] != "skipped"]) <= 4
    assert answer.usage["vlm_calls"] <= 5
    assert any("budget" in note for note in answer.notes), answer.notes


def test_the_model_call_budget_bounds_planning(offline_memory: IngestedSample) -> None:
    endless = [AIMessage("", tool_calls=[tool_call("read_transcript", f"r{i}", max_lines=i + 1)]) for i in range(20)]
    with session(offline_memory, planner(*endless), agent_max_tool_calls=50, agent_max_vlm_calls=2,
                 agent_max_rounds=50) as s:  # fmt: skip
        answer = s.ask("What is said?")
    assert answer.usage["vlm_calls"] <= 2
    assert len(answer.tool_calls) <= 2


def test_an_unknown_tool_is_reported_back_to_the_model(offline_memory: IngestedSample) -> None:
    model = planner(
        AIMessage("", tool_calls=[tool_call("teleport", "x", where="mars")]),
        AIMessage("", tool_calls=[tool_call("search_transcript", "y", query="coffee")]),
        DONE,
        CONFIDENT,
    )
    with session(offline_memory, model) as s:
        answer = s.ask("Where is coffee served?")
    assert answer.tool_calls[0]["status"] == "error" and "no tool named 'teleport'" in answer.tool_calls[0]["output"]
    assert "garden" in answer.text.lower()


def test_bad_arguments_come_back_as_readable_errors(offline_memory: IngestedSample) -> None:
    model = planner(
        AIMessage("", tool_calls=[tool_call("query_actors", "x", ask="when", actor=99)]),
        DONE,
        CONFIDENT,
    )
    with session(offline_memory, model) as s:
        answer = s.ask("When does actor 99 appear?")
    first = answer.tool_calls[0]
    assert first["status"] == "error" and "99" in first["output"]


def test_a_failing_model_falls_back_to_the_rule_planner(offline_memory: IngestedSample) -> None:
    with session(offline_memory, BrokenPlanner(responses=[DONE], seen=[])) as s:
        answer = s.ask("What does the narrator say about the budget?")
    assert any("planned by rules" in note and "went away" in note for note in answer.notes)
    assert answer.tool_calls[0]["name"] == "search_transcript" and "million" in answer.text


def test_a_model_that_gathers_nothing_is_overruled(offline_memory: IngestedSample) -> None:
    with session(offline_memory, planner(DONE, DONE, CONFIDENT)) as s:
        answer = s.ask("What does the narrator say about the budget?")
    assert "million" in answer.text
    assert any("rule planner searched" in note for note in answer.notes)


@pytest.mark.parametrize("tool_choice", ["auto", "required"])
def test_the_model_sees_the_videos_and_the_earlier_turns(offline_memory: IngestedSample, tool_choice: str) -> None:
    model = planner(
        AIMessage("", tool_calls=[tool_call("search_transcript", "a", query="budget")]), DONE, CONFIDENT,
        AIMessage("", tool_calls=[tool_call("read_transcript", "b", t_range=[10, 20])]), DONE, CONFIDENT,
    )  # fmt: skip
    with session(offline_memory, model, planner_tool_choice=tool_choice) as s:
        s.ask("What does the narrator say about the budget?")
        s.ask("And after that?")
    later = model.seen[3]
    system = str(later[0].content)
    assert offline_memory.video.path.name in system and "4 transcript lines" in system
    texts = [str(m.content) for m in later]
    assert "What does the narrator say about the budget?" in texts and any("million" in t for t in texts)
