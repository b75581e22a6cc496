"""Answers say what the video says, cite when it says it, and admit when the video is silent on a topic."""

from __future__ import annotations

import json

import pytest
from conftest import IngestedSample, run_cli

from agent import ask

BUDGET_LINE = 1
MUSEUM_LINE = 2


def _starts_near(evidence: list[dict] | list, t: float, tolerance: float = 2.0) -> bool:
    times = [e["t0"] if isinstance(e, dict) else e.t0 for e in evidence]
    return any(abs(t0 - t) <= tolerance for t0 in times)


def test_cli_ask_json_quotes_the_narration_with_its_time(offline_memory: IngestedSample) -> None:
    result = run_cli(
        "ask", str(offline_memory.video.path), "What does the narrator say about the budget?", "--json", "--quiet",
        env=offline_memory.env(),
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert "budget" in payload["answer"].lower() and "million" in payload["answer"].lower()
    assert payload["evidence"], "an answer from the narration cites it"
    assert all({"t0", "t1", "text"} <= set(item) for item in payload["evidence"])
    assert _starts_near(payload["evidence"], offline_memory.video.narration[BUDGET_LINE].t0)
    assert "[00:07]" in payload["answer"] or "[00:06]" in payload["answer"] or "[00:08]" in payload["answer"]


@pytest.mark.parametrize(
    "question",
    [
        "How much money will the new bridge cost?",
        "what was said about the bridge budget",
        "Does anyone mention four million dollars?",
        "Tell me about the spending plan for the bridge.",
    ],
)
def test_paraphrases_find_the_budget_line(offline_memory: IngestedSample, question: str) -> None:
    answer = ask(offline_memory.video.path, question, settings=offline_memory.settings, models=offline_memory.models)
    assert answer.evidence and answer.evidence[0].kind == "transcript"
    assert "million" in answer.text.lower()
    assert _starts_near(answer.evidence, offline_memory.video.narration[BUDGET_LINE].t0)


@pytest.mark.parametrize(
    "question",
    ["When is the science museum mentioned?", "What will the astronaut do on Friday?"],
)
def test_when_questions_cite_the_moment(offline_memory: IngestedSample, question: str) -> None:
    answer = ask(offline_memory.video.path, question, settings=offline_memory.settings, models=offline_memory.models)
    assert "museum" in answer.text.lower()
    assert _starts_near(answer.evidence, offline_memory.video.narration[MUSEUM_LINE].t0)


@pytest.mark.parametrize(
    "question",
    ["What does the narrator say about penguins?", "Is the stock market discussed?"],
)
def test_absent_topics_are_reported_as_absent(offline_memory: IngestedSample, question: str) -> None:
    answer = ask(offline_memory.video.path, question, settings=offline_memory.settings, models=offline_memory.models)
    assert answer.evidence == []
    assert "does not appear" in answer.text


@pytest.mark.parametrize("question", ["Who appears in the video, and when?", "Is anyone on screen?"])
def test_people_are_placed_where_the_photos_show_them(offline_memory: IngestedSample, question: str) -> None:
    answer = ask(offline_memory.video.path, question, settings=offline_memory.settings, models=offline_memory.models)
    people = [e for e in answer.evidence if e.kind == "actor"]
    assert people, answer.text
    person_scenes = [s for s in offline_memory.video.scenes if s.shows_person]
    first, last = min(s.t0 for s in person_scenes), max(s.t1 for s in person_scenes)
    assert all(first - 1.0 <= e.t0 and e.t1 <= last + 1.0 for e in people)
    assert f"[{people[0].cite()[1:-1]}]" in answer.text


def test_empty_question_is_a_clear_error(offline_memory: IngestedSample) -> None:
    result = run_cli("ask", str(offline_memory.video.path), "   ", env=offline_memory.env())
    assert result.returncode == 2
    assert result.stderr.strip().endswith("vidsage: error: the question is empty")


def test_session_open_reports_each_video_and_shows_its_keyframes(offline_memory: IngestedSample) -> None:
    from agent import Session

    path = offline_memory.video.path
    seen: list[tuple[object, ...]] = []
    settings, models = offline_memory.settings, offline_memory.models
    session = Session.open([path, path], settings=settings, models=models, persist=False,
                           on_video=lambda index, count, video: seen.append(("video", index, count, video)),
                           on_ingested=lambda index, report: seen.append(("ingested", index, report.cached)))
    with session:
        assert seen == [("video", 0, 2, path), ("ingested", 0, True), ("video", 1, 2, path), ("ingested", 1, True)]
        assert [r.cached for r in session.ingest_reports] == [True, True] and len(session.memories) == 1
        video_id = session.memories[0].video_id
        assert session.memory(video_id) is session.memories[0] and session.memory("no-such-video") is None
        frame = session.keyframe(video_id, offline_memory.video.narration[BUDGET_LINE].t0)
        assert frame is not None and frame.ndim == 3 and frame.shape[2] == 3
        assert session.keyframe("no-such-video", 1.0) is None
        assert "million" in session.ask("What does the narrator say about the budget?").text
