"""The agent on real memories (offline profile, rule planner): each kind of question is answered by the tool
it needs, with citations within 2 s of the truth; follow-ups resolve against the thread; budgets hold;
absent things are reported absent; answers stream and carry their timings.

The sample video's narration and the meeting video's people (A alone from 0 s, B from T_MEET until
T_MEET + 6 s) are the ground truth.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import IngestedMeetingVideo, IngestedSample, run_cli

from agent import Session, ask
from agent.events import AnswerReady, AnswerToken, StepStarted, ToolFinished, ToolStarted
from core.types import Answer

WELCOME, BUDGET, MUSEUM, COFFEE = range(4)
TOLERANCE_S = 2.0


def cited_times(text: str) -> list[float]:
    """Every [mm:ss] the answer text cites, in seconds."""
    return [int(m) * 60 + int(s) for m, s in re.findall(r"\[(\d\d):(\d\d)\]", text)]


def cites_near(answer: Answer, t: float) -> bool:
    return any(abs(c - t) <= TOLERANCE_S for c in cited_times(answer.text)) and any(
        abs(e.t0 - t) <= TOLERANCE_S for e in answer.evidence
    )


def calls(answer: Answer, name: str) -> list[dict[str, Any]]:
    return [c for c in answer.tool_calls if c["name"] == name]


@pytest.fixture(scope="module")
def sample_session(offline_memory: IngestedSample) -> Any:
    with Session(offline_memory.video.path, settings=offline_memory.settings, models=offline_memory.models) as s:
        yield s


@pytest.fixture(scope="module")
def meeting_session(meeting_memory: IngestedMeetingVideo) -> Any:
    with Session(meeting_memory.scenario.path, settings=meeting_memory.settings, models=meeting_memory.models) as s:
        yield s


# --- each question by the tool it needs ---------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    ["What does the narrator say?", "What is said in the video?", "What do they talk about?",
     "Tell me what the speaker says.", "What is being discussed?"],
)  # fmt: skip
def test_general_speech_questions_read_the_whole_narration_in_order(
    sample_session: Session, offline_memory: IngestedSample, question: str
) -> None:
    """No topic to search for: the whole question used to be the query, and the answer was "not in the video"."""
    answer = sample_session.ask(question, thread_id=f"general-{question}")
    assert [c["name"] for c in answer.tool_calls] == ["read_transcript"], answer.tool_calls
    times = cited_times(answer.text)
    assert times == sorted(times) and len(times) == len(offline_memory.video.narration), answer.text
    assert all(abs(t - line.t0) <= 1.5 for t, line in zip(times, offline_memory.video.narration)), answer.text
    assert "does not appear" not in answer.text


@pytest.mark.parametrize("question", ["What happens?", "What is going on here?", "what happened?"])
def test_a_bare_what_happens_is_answered_as_a_summary(sample_session: Session, question: str) -> None:
    answer = sample_session.ask(question, thread_id=f"happens-{question}")
    assert {"list_scenes", "read_transcript", "query_actors"} <= {c["name"] for c in answer.tool_calls}
    assert "does not appear" not in answer.text and "harbor tour" in answer.text.lower()


@pytest.mark.parametrize(
    "question",
    [
        "What does the narrator say about the budget?",
        "How much money is the new bridge going to cost?",
        "Is the price of the bridge mentioned anywhere?",
        "Tell me what was said regarding the bridge's budget.",
    ],
)
def test_speech_questions_search_the_transcript(sample_session: Session, offline_memory: IngestedSample,
                                                question: str) -> None:  # fmt: skip
    answer = sample_session.ask(question, thread_id=f"speech-{question}")
    assert calls(answer, "search_transcript"), answer.tool_calls
    assert "million" in answer.text.lower()
    assert cites_near(answer, offline_memory.video.narration[BUDGET].t0), answer.text


@pytest.mark.parametrize(
    "question",
    [
        "Who is with actor 1?",
        "Who shares the screen with the first person who appears?",
        "Who is standing next to the person on screen at 0:02?",
        "With whom does actor 1 appear?",
    ],
)
def test_with_whom_questions_ask_the_actor_graph(meeting_session: Session, meeting_memory: IngestedMeetingVideo,
                                                 question: str) -> None:  # fmt: skip
    answer = meeting_session.ask(question, thread_id=f"whom-{question}")
    asked = calls(answer, "query_actors")
    assert [c["args"]["ask"] for c in asked] == ["with_whom"], answer.tool_calls
    assert asked[0]["args"]["actor"] == 1
    assert "actor 2" in answer.text
    assert cites_near(answer, meeting_memory.scenario.t_meet), answer.text


@pytest.mark.parametrize(
    "question",
    [
        "When does actor 2 first appear?",
        "When does the second person first show up?",
        "At what time is person #2 first on screen?",
        "When does the second man enter the frame for the first time?",
    ],
)
def test_first_appearance_of_an_actor(meeting_session: Session, meeting_memory: IngestedMeetingVideo,
                                      question: str) -> None:  # fmt: skip
    answer = meeting_session.ask(question, thread_id=f"first-{question}")
    asked = calls(answer, "query_actors")
    assert asked and asked[0]["args"] == {"ask": "when", "actor": 2}, answer.tool_calls
    assert abs(cited_times(answer.text)[0] - meeting_memory.scenario.t_meet) <= TOLERANCE_S, answer.text


@pytest.mark.parametrize(
    "question", ["When do the two people first meet?", "When do both people come together for the first time?"]
)
def test_first_meeting_of_the_two_people(meeting_session: Session, meeting_memory: IngestedMeetingVideo,
                                         question: str) -> None:  # fmt: skip
    answer = meeting_session.ask(question, thread_id=f"meet-{question}")
    asked = calls(answer, "query_actors")
    assert asked[0]["args"] == {"ask": "first_meeting", "actor": 1, "other": 2}, answer.tool_calls
    assert abs(cited_times(answer.text)[0] - meeting_memory.scenario.t_meet) <= TOLERANCE_S, answer.text


@pytest.mark.parametrize("question", ["Who is on screen at 0:02?", "Who can be seen at 00:02?"])
def test_who_at_a_moment(meeting_session: Session, question: str) -> None:
    answer = meeting_session.ask(question, thread_id=f"at-{question}")
    assert calls(answer, "query_actors")[0]["args"] == {"ask": "who", "at": 2.0}
    assert "actor 1" in answer.text and "actor 2" not in answer.text


def test_the_two_people_at_the_end_are_the_ones_on_screen_then(meeting_session: Session) -> None:
    """In the last 15% of the meeting only A is on screen, so 'the two people at the end' names one person."""
    answer = meeting_session.ask("When do the two people at the end first meet?", thread_id="end-two")
    assert calls(answer, "query_actors") == [] or all(
        c["args"].get("actor") == 1 for c in calls(answer, "query_actors")
    )
    assert any("nobody in the video matches" in note for note in answer.notes), answer.notes


# --- absent things, budgets ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    ["What does the narrator say about penguins?", "Is a giraffe mentioned?", "Does anyone talk about chess?"],
)
def test_absent_things_are_not_shown(sample_session: Session, question: str) -> None:
    answer = sample_session.ask(question, thread_id=f"absent-{question}")
    assert answer.evidence == []
    assert "does not appear" in answer.text
    assert answer.tool_calls and all(c["status"] == "ok" for c in answer.tool_calls)


@pytest.mark.parametrize("budget", [1, 2])
def test_the_tool_call_budget_is_never_exceeded(offline_memory: IngestedSample, budget: int) -> None:
    settings = offline_memory.settings.model_copy(update={"agent_max_tool_calls": budget})
    with Session(offline_memory.video.path, settings=settings, models=offline_memory.models) as session:
        session.ask("What does the narrator say about the budget?")
        answers = {
            q: session.ask(q)
            for q in ("And what happens after that?", "Summarize the video.", "Is a giraffe mentioned?")
        }
    for answer in answers.values():
        ran = [c for c in answer.tool_calls if c["status"] != "skipped"]
        assert 1 <= len(ran) <= budget, answer.tool_calls
        assert answer.usage["tool_calls"] == len(ran)
    summary = answers["Summarize the video."]
    assert any(f"budget allowed {budget} of 4" in note for note in summary.notes), summary.notes


# --- threads ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("follow_up", ["And what happens after that?", "What comes next?", "then what?"])
def test_a_follow_up_continues_from_the_previous_answer(offline_memory: IngestedSample, follow_up: str) -> None:
    narration = offline_memory.video.narration
    with Session(offline_memory.video.path, settings=offline_memory.settings, models=offline_memory.models) as session:
        first = session.ask("What does the narrator say about the budget?")
        assert cites_near(first, narration[BUDGET].t0)
        later = session.ask(follow_up)
    window = calls(later, "read_transcript")[0]["args"]["t_range"]
    assert first.evidence[0].t1 <= window[0] <= first.evidence[0].t1 + 0.5, (first.evidence[0], window)
    assert "museum" in later.text.lower() and "budget" not in later.text.lower(), later.text
    assert cites_near(later, narration[MUSEUM].t0)
    assert later.thread_id == first.thread_id


def test_before_that_looks_back_and_threads_stay_apart(offline_memory: IngestedSample) -> None:
    narration = offline_memory.video.narration
    with Session(offline_memory.video.path, settings=offline_memory.settings, models=offline_memory.models) as session:
        session.ask("When is the science museum mentioned?")
        earlier = session.ask("And what was said before that?")
        assert cites_near(earlier, narration[BUDGET].t0) and "museum" not in earlier.text.lower(), earlier.text
        session.new_thread()
        fresh = session.ask("And what was said before that?")
    assert not calls(fresh, "read_transcript") or calls(fresh, "read_transcript")[0]["args"].get("t_range") is None


def test_threads_persist_in_the_data_dir(memory_copy: Any, offline_memory: IngestedSample) -> None:
    """A follow-up in a new session (a new process, in effect) resolves against the thread on disk."""
    path = offline_memory.video.path
    with Session(path, settings=memory_copy, models=offline_memory.models) as session:
        first = session.ask("What does the narrator say about the budget?")
    assert (Path(memory_copy.data_dir) / "threads.sqlite").is_file()
    later = ask(path, "And what happens after that?", thread_id=first.thread_id, settings=memory_copy,
                models=offline_memory.models)  # fmt: skip
    assert "museum" in later.text.lower(), later.text
    with Session(path, settings=memory_copy, models=offline_memory.models) as session:
        turns = session.turns(first.thread_id)
    assert [t.question for t in turns] == [
        "What does the narrator say about the budget?",
        "And what happens after that?",
    ]


# --- streaming, timings, multiple choice, the CLI ----------------------------------------------------


def test_stream_reports_steps_tools_and_text_before_the_answer(sample_session: Session) -> None:
    events = list(sample_session.stream("What does the narrator say about the budget?", thread_id="stream"))
    kinds = [type(e) for e in events]
    assert kinds[-1] is AnswerReady and kinds.count(AnswerReady) == 1
    first_tool = kinds.index(ToolStarted)
    assert StepStarted in kinds[:first_tool] and ToolFinished in kinds[first_tool:]
    assert kinds.index(ToolFinished) < kinds.index(AnswerToken)
    started = next(e for e in events if isinstance(e, ToolStarted))
    assert started.name == "search_transcript" and started.activity == "searching the transcript"
    final = events[-1].answer  # type: ignore[attr-defined]
    assert "".join(e.text for e in events if isinstance(e, AnswerToken)) == final.text


def test_answers_carry_per_step_timings(sample_session: Session) -> None:
    answer = sample_session.ask("When is the science museum mentioned?", thread_id="timings")
    assert [s["step"] for s in answer.steps][:3] == ["start", "plan", "act"] and answer.steps[-1]["step"] == "answer"
    assert all(s["seconds"] >= 0 for s in answer.steps)
    assert {"plan", "act", "assess", "answer", "total"} <= set(answer.timings)
    assert answer.timings["total"] >= answer.timings["act"] > 0


@pytest.mark.parametrize(
    ("question", "options", "right"),
    [
        ("Where is coffee served?", ["on the bridge", "in the garden", "at the science museum"], 1),
        ("Who will visit the museum on Friday?", ["a teacher", "the mayor", "an astronaut", "a chef"], 2),
        ("How much will the new bridge cost?", ["four million dollars", "ten dollars", "nothing at all"], 0),
    ],
)
def test_multiple_choice_picks_the_supported_option(sample_session: Session, question: str, options: list[str],
                                                    right: int) -> None:  # fmt: skip
    answer = sample_session.ask(question, options=options, thread_id=f"mc-{question}")
    assert answer.choice == right, answer.text
    assert answer.evidence and answer.text.startswith(f"{'ABCD'[right]}. {options[right]}")


def test_cli_multiple_choice_prints_the_choice_as_json(offline_memory: IngestedSample) -> None:
    result = run_cli(
        "ask", str(offline_memory.video.path), "Where is coffee served?", "--option", "on the bridge",
        "--option", "in the garden", "--option", "at the science museum", "--json", "--quiet",
        env=offline_memory.env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["choice"] == 1
    assert any(abs(e["t0"] - offline_memory.video.narration[COFFEE].t0) <= TOLERANCE_S for e in payload["evidence"])
    assert payload["tool_calls"] and {"name", "args", "status", "seconds"} <= set(payload["tool_calls"][0])
    assert payload["timings"]["total"] > 0


def test_cli_rejects_a_single_option(offline_memory: IngestedSample) -> None:
    result = run_cli("ask", str(offline_memory.video.path), "Where?", "--option", "here", env=offline_memory.env())
    assert result.returncode == 2
    assert (
        result.stderr.strip().splitlines()[-1]
        == "vidsage: error: a multiple-choice question needs at least two options"
    )


def test_langgraph_json_exposes_the_graph(offline_memory: IngestedSample, monkeypatch: pytest.MonkeyPatch) -> None:
    """What LangGraph's dev server loads: the graph at the path langgraph.json names, given videos as input."""
    import importlib

    monkeypatch.setenv("VIDSAGE_DETECTOR_FPS", str(offline_memory.settings.detector_fps))  # the memory's settings

    config = json.loads((Path(__file__).resolve().parent.parent / "langgraph.json").read_text())
    module_path, name = config["graphs"]["vidsage"].split(":")
    module = importlib.import_module(module_path.removeprefix("./").removesuffix(".py").replace("/", "."))
    graph = getattr(module, name)
    context = {"data_dir": str(offline_memory.settings.data_dir), "profile": offline_memory.settings.profile}
    state = graph.invoke(
        {"question": "What does the narrator say about the budget?", "videos": [str(offline_memory.video.path)]},
        context=context,
    )
    assert "million" in state["answer"].lower()
    assert [r.name for r in state["tool_calls"]] == ["search_transcript"]


def test_a_session_over_two_videos_answers_about_each(memory_copy: Any, offline_memory: IngestedSample,
                                                      meeting_memory: IngestedMeetingVideo) -> None:  # fmt: skip
    videos = [offline_memory.video.path, meeting_memory.scenario.path]
    with Session(videos, settings=memory_copy, models=offline_memory.models) as session:
        assert [m.ref.path for m in session.memories] == videos
        spoken = session.ask("What does the narrator say about the budget?")
        person = session.ask(f"When does the second person first appear in {meeting_memory.scenario.path.name}?")
    assert "million" in spoken.text and spoken.evidence[0].video_id == session.memories[0].video_id
    asked = calls(person, "query_actors")[0]["args"]
    assert asked["ask"] == "when" and asked["actor"] == 2 and asked["video"] == session.memories[1].video_id
    assert abs(cited_times(person.text)[0] - meeting_memory.scenario.t_meet) <= TOLERANCE_S, person.text
    assert person.videos == [str(v) for v in videos]
