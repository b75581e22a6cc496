"""The generated QA set for the sample video asks several kinds of questions whose gold answers are
the video's ground truth, and perfect answers score perfectly."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluation.datasets import load_dataset
from evaluation.generated_qa import build_questions, load_description, main
from evaluation.prediction import Prediction
from evaluation.sample_video import NarrationLine, SampleVideo, make_sample_video, plan_scenes
from evaluation.scoring import gold_time, score
from evaluation.speech_synthesis import espeak_available
from evaluation.video_files import VideoIndex


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleVideo:
    """The default sample video, small and at 2 fps so it renders in a few seconds."""
    if not espeak_available():
        pytest.skip("espeak-ng is not installed")
    return make_sample_video(tmp_path_factory.mktemp("sample") / "sample.mp4", size=(160, 90), fps=2.0)


def test_question_set_covers_the_ground_truth(sample: SampleVideo) -> None:
    items = build_questions(load_description(sample.path))
    assert len(items) >= 20
    kinds = {item.type for item in items}
    assert {"speech", "speech_time", "multiple_choice", "people", "absent", "title", "count"} <= kinds
    assert len({item.qid for item in items}) == len(items)
    assert all(item.video == "sample.mp4" for item in items)

    times = [item for item in items if item.type == "speech_time"]
    assert len(times) == 2 * len(sample.narration)
    for item in times:
        line = next(line for line in sample.narration if line.t0 == item.extra["t0"])
        assert gold_time(item.answer) == pytest.approx(line.t0, abs=0.5)
    assert sorted({gold_time(item.answer) for item in times}) == [1.0, 7.0, 14.0, 21.0]
    assert {item.question for item in times} >= {
        "When is the astronaut's visit mentioned?",
        "At what time does the narrator talk about the coffee?",
    }

    people = [item for item in items if item.type == "people"]
    assert [item.answer for item in people] == ["yes" if scene.shows_person else "no" for scene in sample.scenes]
    titles = [item.answer for item in items if item.type == "title"]
    assert (
        titles
        == [scene.title for scene in sample.scenes]
        == ["HARBOR TOUR", "BRIDGE BUDGET", "SCIENCE MUSEUM", "GARDEN CAFE"]
    )

    budget = next(item for item in items if item.question == "What does the narrator say the new bridge's budget is?")
    assert budget.options is not None and len(budget.options) == 5
    assert budget.answer == "four million dollars" == budget.options[budget.answer_index]
    speech = {item.question: item.answer for item in items if item.type == "speech"}
    assert speech["What is the budget for the new bridge?"] == "four million dollars"
    assert speech["On which day will the astronaut visit the museum?"] == "Friday"
    counts = {item.question: item.answer for item in items if item.type == "count"}
    assert counts["In how many of the scenes is a person visible?"] == "2"


def test_right_answers_score_right_and_wrong_ones_do_not(sample: SampleVideo) -> None:
    items = build_questions(load_description(sample.path))
    for item in items:
        if item.options is not None:
            right, wrong = (
                Prediction(text="", choice=item.answer_index),
                Prediction(text="", choice=(item.answer_index + 1) % len(item.options)),
            )
        elif item.type == "speech_time":
            right, wrong = Prediction(text=f"It is mentioned at [{item.answer}]."), Prediction(text="At 00:27.")
        elif item.type == "absent":
            right, wrong = (
                Prediction(text="That does not appear in the video."),
                Prediction(text="They are shown at 00:05."),
            )
        elif item.type == "people":
            right = Prediction(text=f"{item.answer.capitalize()}.")
            wrong = Prediction(text="No." if item.answer == "yes" else "Yes.")
        else:
            right, wrong = Prediction(text=f"The answer is {item.answer} [00:05]."), Prediction(text="A penguin.")
        assert score(item, right).correct, item
        assert not score(item, wrong).correct, item
    absent = [item for item in items if item.type == "absent"]
    assert all(score(item, "The narrator never mentions it.").correct for item in absent)


def test_cli_writes_a_native_set_that_finds_its_video(
    sample: SampleVideo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sets" / "sample_qa.jsonl"
    assert main([str(sample.path), str(out)]) == 0
    assert f"to {out}" in capsys.readouterr().out
    dataset = load_dataset(out)
    assert dataset.format == "native" and len(dataset) == len(build_questions(sample))
    # the set lies in another folder than its video: its row says ../.., which eval opens only when allowed
    outside = VideoIndex(None, base=out.parent, allow_outside=True)
    assert outside.find(dataset.items[0].video).resolve() == sample.path.resolve()


def test_cli_needs_the_description(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    video = tmp_path / "plain.mp4"
    video.write_bytes(b"x")
    assert main([str(video), str(tmp_path / "out.jsonl")]) == 2
    assert "no description plain.mp4.json beside it" in capsys.readouterr().err
    assert not (tmp_path / "out.jsonl").exists()


def test_custom_narration_gets_generic_questions() -> None:
    cues = [(1.0, "Penguins march across the ice."), (6.0, "The tide comes in at noon.")]
    lines = tuple(NarrationLine(text=text, t0=t0, t1=t0 + 2.0) for t0, text in cues)
    video = SampleVideo(
        path=Path("custom.mp4"),
        duration=12.0,
        fps=10.0,
        width=160,
        height=90,
        narration=lines,
        scenes=plan_scenes(cues, 12.0, default_titles=False),
    )
    items = build_questions(video)
    questions = {item.question: item.answer for item in items}
    assert questions['When does the narrator say "The tide comes in at noon."?'] == "00:06"
    assert questions["What does the narrator say at 00:01?"] == "Penguins march across the ice"
    assert "What does the narrator say about penguins?" not in questions
    assert [item.answer for item in items if item.type == "title"] == ["SCENE 1", "SCENE 2"]
