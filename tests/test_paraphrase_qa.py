"""The paraphrase dev set asks every type in at least five new wordings with golds taken from the video
specs, and the outcome tables classify rows, compute the offline rates and flag inconsistent paraphrases."""

from __future__ import annotations

import ast
import itertools
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest

from evaluation import generated_qa
from evaluation.datasets.native import load_native, write_native
from evaluation.outcomes import claim, consistency, outcome, rates, tally
from evaluation.outcomes import main as outcomes_main
from evaluation.paraphrase_qa import DEV_NAME, FORMS, NEEDS, build_dev_set, build_questions, main, showings
from evaluation.paraphrase_videos import (
    LIBRARY_MOVE,
    OBSERVATORY,
    PHOTOS,
    RIDING_SCHOOL,
    SPECS,
    VideoSpec,
    check_rendered,
    matches_spec,
)
from evaluation.prediction import Prediction
from evaluation.sample_video import DEFAULT_NARRATION, NarrationLine, SampleVideo, make_sample_video, plan_scenes
from evaluation.scoring import score
from evaluation.speech_synthesis import espeak_available

TYPES = {
    "speech",
    "speech_time",
    "first_appearance",
    "order",
    "recurrence",
    "co_occurrence",
    "absence",
    "summary",
    "count",
    "general",
}


def _grams(text: str, n: int = 4) -> set[tuple[str, ...]]:
    """Word n-grams of a template or question, any {placeholder} as one token."""
    words = ["{}" if w.startswith("{") else w for w in re.findall(r"\{[^}]*\}|[\w']+", text.lower())]
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _generated_qa_texts() -> list[str]:
    """Every string literal of evaluation/generated_qa.py (its templates, fixed questions and f-string parts)."""
    tree = ast.parse(Path(generated_qa.__file__).read_text(encoding="utf-8"))
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def _default_video() -> SampleVideo:
    """The default sample video's description, without rendering it."""
    lines = tuple(NarrationLine(text=text, t0=t0, t1=t0 + 3.0) for t0, text in DEFAULT_NARRATION)
    return SampleVideo(
        path=Path("sample.mp4"),
        duration=28.0,
        fps=10.0,
        width=160,
        height=90,
        narration=lines,
        scenes=plan_scenes(list(DEFAULT_NARRATION), 28.0, default_titles=True),
    )


def test_every_type_is_asked_in_at_least_five_wordings() -> None:
    items = build_dev_set()
    assert {item.type for item in items} == TYPES
    wordings: dict[str, set[str]] = defaultdict(set)
    for item in items:
        wordings[item.type].add(item.extra["phrasing"])
    assert all(len(used) >= 5 for used in wordings.values()), {kind: len(used) for kind, used in wordings.items()}
    assert all(len(form.phrasings) >= 5 and len(set(form.phrasings)) == len(form.phrasings) for form in FORMS.values())
    groups: dict[str, set[str]] = defaultdict(set)
    for item in items:
        groups[item.extra["group"]].add(item.question)
    assert sum(len(questions) > 1 for questions in groups.values()) >= 0.8 * len(groups)
    assert len({item.qid for item in items}) == len(items)
    assert build_dev_set() == items  # deterministic


def test_no_wording_is_shared_with_generated_qa() -> None:
    theirs = set().union(*(_grams(text) for text in _generated_qa_texts()))
    for form in FORMS.values():
        for phrasing in form.phrasings:
            assert not _grams(phrasing) & theirs, phrasing
    their_questions = {item.question for item in generated_qa.build_questions(_default_video())}
    ours = {item.question for item in build_dev_set()}
    assert their_questions and not ours & their_questions
    asked = set().union(*(_grams(question, 5) for question in their_questions))
    assert not any(_grams(question, 5) & asked for question in ours)


def test_specs_hold_the_cases_the_set_needs() -> None:
    topics = " ".join(cue.text.lower() for spec in SPECS for cue in spec.cues)
    assert not any(word in topics for word in ("harbor", "bridge", "museum", "garden"))
    for spec in SPECS:
        assert 30 <= spec.duration <= 60
        assert all(cue.photo in PHOTOS for cue in spec.cues)
        assert any(showings(spec, photo) > 1 for photo in PHOTOS), spec.name
        first = next(i for i, cue in enumerate(spec.cues) if cue.person)
        assert first > 0, "a person first appears part-way in"
        assert any(cue.title for cue in spec.cues) and any(not cue.title for cue in spec.cues)
    cues = [cue for spec in SPECS for cue in spec.cues]
    assert any("o'clock" in cue.text and cue.photo == "clock" for cue in cues)
    assert any(not any(word in cue.text.lower() for word in PHOTOS[cue.photo].accept) for cue in cues)
    assert any(cue.photo == "chelsea" and not cue.person for cue in cues)


def _by_form(spec: VideoSpec, form: str) -> list:
    return [item for item in build_questions(spec) if item.extra["phrasing"].startswith(f"{form}/")]


def test_golds_come_from_the_spec() -> None:
    for spec in SPECS:
        scenes = spec.scenes()
        first_person = next(scene for scene in scenes if scene.shows_person)
        appear = _by_form(spec, "first_appearance")
        assert len(appear) >= 3 and {item.answer for item in appear} == {f"{first_person.t0:g}"}
        assert first_person.t0 == spec.cues[[c.person for c in spec.cues].index(True)].t0 - 0.5
        times = _by_form(spec, "speech_time")
        assert {float(item.answer) for item in times} == {cue.t0 for cue in spec.cues}
        person = _by_form(spec, "person_during_line")
        assert sorted({(item.extra["group"], item.answer) for item in person}) == sorted(
            (f"{spec.name}/person/{i}", "yes" if cue.person else "no") for i, cue in enumerate(spec.cues)
        )
        for item in _by_form(spec, "order_spoken") + _by_form(spec, "order_shown"):
            assert item.options is not None and item.options[item.answer_index] == item.answer
            assert set(spec.decoy_topics + spec.decoy_pictures) & set(item.options)
    assert {item.answer for item in _by_form(OBSERVATORY, "first_appearance")} == {"14.5"}
    counts = {item.question: item.answer for item in _by_form(OBSERVATORY, "recurrence_count")}
    assert {answer for question, answer in counts.items() if "Moon" in question} == {"2"}
    assert {answer for question, answer in counts.items() if "clock" in question} == {"1"}
    recurs = {item.question: item.answer for item in _by_form(RIDING_SCHOOL, "recurrence_yesno")}
    assert {answer for question, answer in recurs.items() if "grass" in question} == {"yes"}
    assert {answer for question, answer in recurs.items() if "cat" in question} == {"no"}
    cat = next(i for i, cue in enumerate(RIDING_SCHOOL.cues) if cue.photo == "chelsea")
    assert {
        item.answer for item in _by_form(RIDING_SCHOOL, "person_during_line") if item.extra["group"].endswith(f"/{cat}")
    } == {"no"}
    clock = [item for item in _by_form(LIBRARY_MOVE, "picture_during_line") if item.answer == "a clock"]
    assert clock and all("clock" not in item.question for item in clock)
    scenes = {item.extra["group"]: item.answer for item in build_questions(LIBRARY_MOVE) if item.type == "count"}
    assert scenes["library_move/count_scenes"] == "6" and scenes["library_move/count_titled"] == "4"


def test_every_row_has_needs_and_perfect_answers_score_right(tmp_path: Path) -> None:
    items = build_dev_set()
    for item in items:
        assert item.extra["needs"] and set(item.extra["needs"]) <= NEEDS, item.qid
    needs = {item.extra["phrasing"].split("/")[0]: set(item.extra["needs"]) for item in items}
    assert needs["speech_time"] == {"speech", "time"} and needs["picture_during_line"] == {"speech", "pictures"}
    assert needs["person_during_line"] == {"speech", "people"} and needs["count_titled"] == {"text", "count"}
    path = tmp_path / DEV_NAME
    write_native(items, path)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert {type(row["answer"]) for row in rows if row["type"] in ("speech_time", "first_appearance")} <= {int, float}
    assert {type(row["answer"]) for row in rows if row["type"] == "count"} == {int}
    loaded = load_native(path)
    assert [item.answer for item in loaded] == [item.answer for item in items]
    for item in loaded:
        right = Prediction(text="", choice=item.answer_index) if item.options else Prediction(text=item.answer)
        assert score(item, right).correct, item.qid
    absent = [item for item in loaded if item.type == "absence"]
    assert absent and all(score(item, "That is never mentioned in the video.").correct for item in absent)
    assert not score(next(i for i in loaded if i.type == "speech_time"), "at 40 seconds").correct


_QIDS = itertools.count(1)


def _row(kind: str, correct: bool | None, **more: object) -> dict[str, object]:
    """A hand-made results row (as the runner writes them, plus the keys under test)."""
    return {"qid": f"q{next(_QIDS)}", "type": kind, "status": "ok", "correct": correct, **more}


def test_outcomes_classify_rows_and_compute_rates() -> None:
    rows = [
        _row("speech", True, needs=["speech"]),
        _row("speech", False, needs=["speech"]),
        _row("speech", None, abstained=True, needs=["speech"]),
        _row("speech_time", True, status="ran", extra={"needs": ["speech", "time"]}),
        _row("co_occurrence", False, needs=["speech", "pictures"]),
        _row("co_occurrence", True, abstained=True, needs=["speech", "pictures"]),
        _row("count", None, status="error", needs=["text", "count"]),
        _row("count", True, forced=True),
        {"qid": "bare", "correct": True},
    ]
    assert [outcome(row) for row in rows] == [
        *("right", "wrong", "abstained", "right", "wrong", "abstained", "error", "right", "right"),
    ]
    table = tally(rows)
    assert table["speech"] == {"right": 1, "abstained": 1, "wrong": 1, "error": 0, "n": 3}
    assert table["count"] == {"right": 1, "abstained": 0, "wrong": 0, "error": 1, "n": 2}
    assert table["all"]["n"] == len(rows) and list(table)[-1] == "all"
    found = rates(rows)
    assert found["abstained_answerable_offline"] == {"count": 1, "n": 4, "rate": 0.25}
    assert found["confident_wrong_pictures_text"] == {"count": 1, "n": 2, "rate": 0.5}
    assert found["forced"] == {"count": 1, "right": 1}


def test_paraphrase_consistency_flags_different_claims_and_plans() -> None:
    options = ["the ticket prices", "a meteor shower", "the last shuttle bus"]
    rows = [
        _row("order", True, group="g/choice", options=options, choice=0, plan=["transcript"]),
        _row("order", False, group="g/choice", options=options, choice=2, plan=["transcript"]),
        _row("order", True, group="g/text", options=options, prediction="B", plan=["a", "b"]),
        _row("order", True, group="g/text", options=options, choice=1, plan=["a", "b"]),
        _row("speech_time", True, group="g/time", gold="14.5", prediction="at 00:14", plan=["a"]),
        _row("speech_time", True, group="g/time", gold="14.5", prediction="about 14.8 seconds in", plan=["b"]),
        _row("speech_time", False, group="g/far", gold="14.5", prediction="at 00:14"),
        _row("speech_time", True, group="g/far", gold="14.5", prediction="00:16"),
        _row("co_occurrence", True, group="g/yes", gold="no", prediction="No, nobody is visible."),
        _row("co_occurrence", True, group="g/yes", gold="no", prediction=None, abstained=True),
        _row("absence", True, group="g/absent", gold="not mentioned", prediction="It is never mentioned."),
        _row("absence", True, group="g/absent", gold="does not appear", prediction="It does not appear."),
        _row("count", None, group="g/error", status="error"),
        _row("count", True, group="g/error", gold="6", prediction="6"),
    ]
    assert claim(rows[2]) == "a meteor shower" and claim(rows[4]) == 14.0
    found = consistency(rows)
    differing = {entry["group"]: entry["differs"] for entry in found["inconsistent"]}
    assert differing == {"g/choice": ["claim"], "g/time": ["plan"], "g/far": ["claim"], "g/yes": ["claim"]}
    assert found["checked"] == 6 and found["claims_differ"] == 3 and found["plans_differ"] == 1


def test_outcomes_cli_fills_needs_from_the_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    items = build_questions(OBSERVATORY)[:4]
    dataset = tmp_path / DEV_NAME
    write_native(items, dataset)
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"dataset": {"format": "native", "source": str(dataset)}}))
    results = [{"qid": item.qid, "type": item.type, "status": "ok", "correct": False} for item in items]
    (run / "results.jsonl").write_text("".join(json.dumps(row) + "\n" for row in results))
    assert outcomes_main([str(run)]) == 0
    out = capsys.readouterr().out
    assert "| **all** | 0 | 0 | 4 | 0 | 4 |" in out
    assert "abstained, answerable offline" in out and "0.0% (0/" in out
    assert outcomes_main([str(run), "--json"]) == 0
    numbers = json.loads(capsys.readouterr().out)[str(run)]
    assert numbers["consistency"]["checked"] >= 1
    assert outcomes_main([str(tmp_path / "nowhere")]) == 2


@pytest.fixture(scope="module")
def small_videos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dev videos rendered tiny and at 1 fps (same narration and scenes), so the CLI finds them written."""
    if not espeak_available():
        pytest.skip("espeak-ng is not installed")
    folder = tmp_path_factory.mktemp("dev")
    for spec in SPECS:
        video = make_sample_video(
            folder / spec.file_name,
            narration=spec.narration(),
            photos=spec.photos(),
            duration=spec.duration,
            size=(64, 36),
            fps=1.0,
            seed=spec.seed,
        )
        assert matches_spec(spec, video)
        check_rendered(spec, video)
    return folder


def test_cli_keeps_matching_videos_and_writes_the_set(small_videos: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = {path.name: path.stat().st_mtime_ns for path in small_videos.glob("*.mp4")}
    assert main([str(small_videos), "--ways", "1"]) == 0
    out = capsys.readouterr().out
    assert out.count("already there") == len(SPECS)
    assert {path.name: path.stat().st_mtime_ns for path in small_videos.glob("*.mp4")} == before
    loaded = load_native(small_videos / DEV_NAME)
    assert {item.video for item in loaded} == {spec.file_name for spec in SPECS}
    assert all((small_videos / item.video).is_file() for item in loaded)
    assert f"wrote {len(loaded)} questions" in out and "  first_appearance  3" in out
