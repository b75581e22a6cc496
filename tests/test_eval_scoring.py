"""Scoring gives the verdicts a person would: normalised matches, F1, times within tolerance, choices, judges."""

from __future__ import annotations

import pytest

from evaluation.datasets import QAItem
from evaluation.judge import judge_prompt, make_judge, parse_judge_reply
from evaluation.prediction import Prediction
from evaluation.scoring import (
    choice_from_text,
    contains,
    exact_match,
    gold_time,
    normalize,
    parse_time,
    says_absent,
    score,
    token_f1,
    yes_no,
)


def open_item(answer: str, *, type: str = "", accept: list[str] | None = None) -> QAItem:
    return QAItem(
        qid="q",
        video="v",
        question="What is it?",
        options=None,
        answer=answer,
        answer_index=None,
        type=type,
        accept=accept or [],
    )


MC = QAItem(
    qid="m",
    video="v",
    question="Which?",
    options=["a red car", "a blue bus", "a green bike"],
    answer="a blue bus",
    answer_index=1,
)


def test_normalisation() -> None:
    assert normalize("The  Four Dogs!") == "4 dogs"
    assert normalize("An apple, a pear & THE plum.") == "apple pear plum"
    assert normalize("It's twenty-one") == "its 20 1"
    assert normalize("$4,000,000 for 12.5 km") == "4000000 for 12.5 km"
    assert normalize("zero one nineteen twenty thirty") == "0 1 19 20 thirty"


def test_exact_match_and_f1() -> None:
    assert exact_match("The garden.", "garden")
    assert exact_match("four million dollars", "4 Million Dollars")
    assert not exact_match("the garden path", "garden")
    assert token_f1("in the garden", "garden") == pytest.approx(2 * 0.5 * 1.0 / 1.5)
    assert token_f1("red car", "a red car") == 1.0
    assert token_f1("blue", "red") == 0.0
    assert token_f1("", "") == 1.0 and token_f1("", "red") == 0.0
    assert contains("It is served in the garden [00:21].", "the garden")
    assert not contains("There are 14 scenes", "4")


def test_open_answer_scoring() -> None:
    verdict = score(open_item("four million dollars", accept=["4 million"]), "The bridge costs $4 million [00:07].")
    assert (verdict.correct, verdict.method, verdict.exact) == (True, "match", False)
    wrong = score(open_item("garden"), "In the kitchen.")
    assert (wrong.correct, wrong.f1) == (False, 0.0)
    exact = score(open_item("Friday"), Prediction(text="friday"))
    assert (exact.correct, exact.exact, exact.f1) == (True, True, 1.0)


def test_yes_no() -> None:
    assert yes_no("Yes, a person is on screen.") == "yes"
    assert yes_no("No. Nobody appears.") == "no"
    assert yes_no("Nobody is visible in that scene.") == "no"
    assert yes_no("A man stands on the left [00:08].") == "yes"
    assert score(open_item("no"), "There isn't anyone in the picture.").correct
    assert not score(open_item("yes"), "No, the scene is empty.").correct
    assert score(open_item("yes"), "Yes.").method == "yesno"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("at 01:05", 65.0),
        ("[1:02:03]", 3723.0),
        ("around 12.5 s in", 12.5),
        ("12 seconds", 12.0),
        ("seven seconds in", 7.0),
        ("1 minute 5 seconds", 65.0),
        ("2 min", 120.0),
        ("It has 4 sides", None),
        ("mentioned at 00:07 and again at 00:20", 7.0),
    ],
)
def test_parse_time(text: str, seconds: float | None) -> None:
    assert parse_time(text) == seconds


def test_time_answers_within_tolerance() -> None:
    assert gold_time("00:07") == 7.0 and gold_time("12.5 s") == 12.5 and gold_time("7") is None
    item = open_item("00:07", type="speech_time")
    close = score(item, "The bridge budget comes up at [00:08].")
    assert (close.correct, close.method, close.time_error_s) == (True, "time", 1.0)
    assert score(item, "At 9 seconds.").correct
    far = score(item, "At 00:10.")
    assert (far.correct, far.time_error_s) == (False, 3.0)
    assert score(item, "At 00:10.", tolerance_s=3.0).correct
    unanswered = score(item, "I could not find it.")
    assert (unanswered.correct, unanswered.time_error_s) == (False, None)


def test_absent_answers() -> None:
    for text in (
        "The narrator never mentions penguins.",
        "Penguins do not appear in the video.",
        "I couldn't find anything about penguins.",
        "There is no mention of penguins.",
        "That is not in the video.",
    ):
        assert says_absent(text), text
        assert score(open_item("not mentioned", type="absent"), text).correct, text
    assert not says_absent("Penguins are discussed at 00:05.")
    verdict = score(open_item("does not appear", type="absent"), "The dog is brown.")
    assert (verdict.correct, verdict.method) == (False, "absent")


def test_multiple_choice() -> None:
    assert score(MC, Prediction(text="whatever", choice=1)).correct
    assert not score(MC, Prediction(text="a blue bus", choice=0)).correct
    for text, index in (
        ("B", 1),
        ("(C)", 2),
        ("A. a red car", 0),
        ("The answer is B.", 1),
        ("Option C", 2),
        ("It is a blue bus [00:04].", 1),
        ("A man drives", None),
        ("a red car or a blue bus", None),
        ("Answer: A man drives a blue bus", 1),
        ("The answer is B because the bus is blue", 1),
    ):
        assert choice_from_text(text, MC.options) == index, text
    verdict = score(MC, "It is the blue bus.")
    assert (verdict.correct, verdict.method, verdict.choice, verdict.f1) == (True, "choice", 1, 1.0)
    assert choice_from_text("the red car", ["car", "red car", "bus"]) == 1
    assert choice_from_text("F", ["x", "y"]) is None


def test_judge_reply_parsing() -> None:
    assert parse_judge_reply("yes") is True
    assert parse_judge_reply("**No.**") is False
    assert parse_judge_reply("Verdict: YES") is True
    assert parse_judge_reply("<think>Is it no? The gold says garden.</think>\nYes") is True
    assert parse_judge_reply("Correct.") is True
    assert parse_judge_reply("The answer is wrong.") is False
    assert parse_judge_reply("maybe") is None
    assert parse_judge_reply("") is None


def test_judge_decides_open_answers() -> None:
    prompts_seen: list[str] = []

    def complete(prompt: str) -> str:
        prompts_seen.append(prompt)
        return "no" if "kitchen" in prompt else "Yes."

    judge = make_judge(complete)
    item = open_item("in the garden")
    assert score(item, "Outdoors among the flowers.", judge=judge).method == "judge"
    assert score(item, "Outdoors among the flowers.", judge=judge).correct
    assert not score(item, "In the garden kitchen", judge=judge).correct
    assert "Question: What is it?" in prompts_seen[0] and "Correct answer: in the garden" in prompts_seen[0]
    assert "Answer to grade: Outdoors among the flowers." in prompts_seen[0]
    assert prompts_seen[0].rstrip().endswith("Reply with one word: yes if it is right, no if it is wrong.")
    unsure = score(item, "in the garden", judge=lambda q, g, p: None)
    assert (unsure.correct, unsure.method) == (True, "match")
    assert score(MC, "B", judge=lambda q, g, p: False).correct
    assert "(no answer)" in judge_prompt("q", "g", "  ")


@pytest.mark.parametrize(
    ("prediction", "right"),
    [
        ("Counted: 5 tracked people. person (actor 2) on screen [00:02]-[00:09]", False),  # "2" is an id here
        ("Two people appear: actor 1 at [00:03] and actor 4 at [00:12].", True),
        ("There are 2 people.", True),
        ("Nobody was tracked.", False),
    ],
)
def test_a_numeric_gold_matches_the_answers_claim_not_any_digit(prediction: str, right: bool) -> None:
    item = open_item("2", type="count")
    verdict = score(item, prediction)
    assert verdict.method == "number" and verdict.correct is right


def test_a_numeric_gold_for_a_when_question_is_seconds() -> None:
    item = open_item("24", type="first_appearance")
    assert score(item, "She first appears at [00:23].").correct
    assert not score(item, "She first appears at [00:40], actor 24.").correct


def test_native_rows_accept_numbers_as_open_answers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from evaluation.datasets import load_dataset

    rows = [{"video": "a.mp4", "question": "How many people?", "answer": 2},
            {"video": "a.mp4", "question": "When does she appear?", "answer": 24.0},
            {"video": "a.mp4", "question": "Which?", "options": ["x", "y"], "answer": 1}]  # fmt: skip
    path = tmp_path / "qa.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    items = load_dataset(path).items
    assert [(i.answer, i.answer_index) for i in items] == [("2", None), ("24", None), ("y", 1)]
