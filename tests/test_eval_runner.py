"""The batch runner writes one row per question as it finishes, resumes after an interrupt without
repeating work, reports missing videos and failures per row, and its reports and ablations add up."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from core.errors import InvalidRequest
from core.types import Answer, Evidence
from evaluation.datasets import Dataset, QAItem, load_dataset
from evaluation.prediction import Prediction
from evaluation.report import compare_runs, write_reports
from evaluation.runner import run_evaluation

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ROWS = [
    {"qid": "c1", "video": "a.mp4", "question": "What colour is the car?", "answer": "red", "type": "color"},
    {"qid": "c2", "video": "b", "question": "What colour is the sky?", "answer": "blue", "type": "color"},
    {"qid": "n1", "video": "a.mp4", "question": "How many dogs?", "answer": "three", "type": "count"},
    {"qid": "n2", "video": "gone", "question": "How many cats?", "answer": "2", "type": "count"},
    {
        "qid": "m1",
        "video": "b",
        "question": "Which vehicle?",
        "options": ["car", "bus", "bike"],
        "answer": 1,
        "type": "choice",
    },
    {
        "qid": "m2",
        "video": "sub/c",
        "question": "Which fruit?",
        "options": ["apple", "pear"],
        "answer": "pear",
        "type": "choice",
    },
    {"qid": "t1", "video": "b", "question": "When is the car shown?", "answer": "00:12", "type": "time"},
    {"qid": "x1", "video": "a.mp4", "question": "Why?", "answer": "because", "type": "color"},
]
ANSWERS = {
    "c1": Prediction(
        text="The car is red [00:03].",
        latency_s=1.0,
        tool_calls=2,
        vlm_calls=1,
        prompt_tokens=100,
        completion_tokens=20,
        images=2,
    ),
    "c2": Prediction(
        text="It is grey.", latency_s=2.0, tool_calls=1, vlm_calls=1, prompt_tokens=80, completion_tokens=10, images=1
    ),
    "n1": Prediction(
        text="There are 3 dogs.", latency_s=3.0, tool_calls=3, vlm_calls=0, prompt_tokens=50, completion_tokens=5
    ),
    "m1": Prediction(
        text="bus",
        choice=1,
        latency_s=4.0,
        tool_calls=1,
        vlm_calls=2,
        prompt_tokens=200,
        completion_tokens=30,
        images=4,
    ),
    "m2": Prediction(text="A", latency_s=5.0, tool_calls=1),
    "t1": Prediction(
        text="At 00:13.", latency_s=6.0, tool_calls=2, vlm_calls=1, prompt_tokens=120, completion_tokens=12, images=3
    ),
}
"""c1, n1, m1, t1 right; c2, m2 wrong; n2 has no video; x1 raises."""


class FakeSystem:
    """A deterministic answer_fn with canned answers that counts its calls (x1 always fails)."""

    def __init__(
        self, answers: dict[str, Prediction] = ANSWERS, *, interrupt_on: int | None = None, delay_s: float = 0.0
    ):
        self.answers = answers
        self.interrupt_on = interrupt_on
        self.delay_s = delay_s
        self.calls: list[str] = []
        self.videos: dict[str, Path] = {}
        self.running = 0
        self.most_running = 0
        self._lock = threading.Lock()

    def __call__(self, video: Path, item: QAItem) -> Prediction:
        with self._lock:
            self.calls.append(item.qid)
            self.videos[item.qid] = video
            if self.interrupt_on is not None and len(self.calls) == self.interrupt_on:
                raise KeyboardInterrupt
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        try:
            time.sleep(self.delay_s)
            if item.qid == "x1":
                raise RuntimeError("backend went away\nsecond line of detail")
            return self.answers[item.qid]
        finally:
            with self._lock:
                self.running -= 1


@pytest.fixture
def dataset(tmp_path: Path) -> Dataset:
    """The questions above, as a native file with its videos (all but `gone`) beside it."""
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    for name in ("a.mp4", "b.mkv", "sub/c.webm"):
        (root / name).write_bytes(b"not really a video")
    path = root / "qa.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    return load_dataset(path)


def rows_of(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def comparable(rows: list[dict]) -> dict[str, dict]:
    """Rows by qid without the wall-clock time (the one field that differs between runs)."""
    return {row["qid"]: {k: v for k, v in row.items() if k != "wall_s"} for row in rows}


def test_run_writes_a_row_per_question(dataset: Dataset, tmp_path: Path) -> None:
    system = FakeSystem()
    result = run_evaluation(dataset, system, tmp_path / "run", video_root=dataset.source.parent)
    rows = {row["qid"]: row for row in rows_of(tmp_path / "run")}
    assert list(rows) == ["c1", "c2", "n1", "n2", "m1", "m2", "t1", "x1"]
    assert (result.total, result.ran, result.skipped, result.missing, result.errors) == (8, 8, 0, 1, 1)
    assert sorted(system.calls) == ["c1", "c2", "m1", "m2", "n1", "t1", "x1"]
    assert system.videos["c2"] == dataset.source.parent / "b.mkv"
    assert system.videos["m2"] == dataset.source.parent / "sub" / "c.webm"
    assert {qid: row["correct"] for qid, row in rows.items() if row["status"] == "ok"} == {
        "c1": True,
        "c2": False,
        "n1": True,
        "m1": True,
        "m2": False,
        "t1": True,
    }
    assert rows["t1"]["method"] == "time" and rows["t1"]["time_error_s"] == 1.0
    assert rows["m2"]["scored_choice"] == 0 and rows["m1"]["gold"] == "bus"
    assert rows["c1"]["tokens"] == 120 and rows["c1"]["latency_s"] == 1.0 and rows["c1"]["type"] == "color"
    assert rows["n2"]["status"] == "missing_video" and rows["n2"]["correct"] is None
    assert "no video file for 'gone' under" in rows["n2"]["error"]
    assert rows["x1"]["status"] == "error"
    assert rows["x1"]["error"] == "answer: RuntimeError: backend went away"


def test_interrupted_run_resumes_without_repeating(dataset: Dataset, tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = FakeSystem(interrupt_on=4)
    with pytest.raises(KeyboardInterrupt):
        run_evaluation(dataset, first, out, video_root=dataset.source.parent)
    assert first.calls == ["c1", "c2", "n1", "m1"]
    assert [row["qid"] for row in rows_of(out)] == ["c1", "c2", "n1", "n2"]
    with (out / "results.jsonl").open("a") as handle:
        handle.write('{"qid": "m1", "status": "ok", "corr')  # killed mid-write

    second = FakeSystem()
    result = run_evaluation(dataset, second, out, video_root=dataset.source.parent)
    assert second.calls == ["m1", "m2", "t1", "x1"]
    assert (result.ran, result.skipped) == (4, 4)
    qids = [row["qid"] for row in rows_of(out)]
    assert sorted(qids) == sorted(row["qid"] for row in ROWS) and len(qids) == len(set(qids))
    assert [row["qid"] for row in result.rows] == [row["qid"] for row in ROWS]

    third = FakeSystem()
    assert run_evaluation(dataset, third, out, video_root=dataset.source.parent).ran == 0 and third.calls == []
    sessions = json.loads((out / "run.json").read_text())["sessions"]
    assert [s["interrupted"] for s in sessions] == [True, False, False]
    assert [s["ran"] for s in sessions] == [4, 4, 0]


def test_two_workers_give_the_same_results(dataset: Dataset, tmp_path: Path) -> None:
    one, two = FakeSystem(delay_s=0.05), FakeSystem(delay_s=0.05)
    run_evaluation(dataset, one, tmp_path / "one", video_root=dataset.source.parent, workers=1)
    run_evaluation(dataset, two, tmp_path / "two", video_root=dataset.source.parent, workers=2)
    assert comparable(rows_of(tmp_path / "one")) == comparable(rows_of(tmp_path / "two"))
    assert (one.most_running, two.most_running) == (1, 2)


def test_interrupt_with_workers_keeps_the_file_whole(dataset: Dataset, tmp_path: Path) -> None:
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run_evaluation(
            dataset, FakeSystem(interrupt_on=3, delay_s=0.02), out, video_root=dataset.source.parent, workers=2
        )
    done = {row["qid"] for row in rows_of(out)}
    second = FakeSystem()
    run_evaluation(dataset, second, out, video_root=dataset.source.parent, workers=2)
    assert not done & set(second.calls)
    assert sorted(row["qid"] for row in rows_of(out)) == sorted(row["qid"] for row in ROWS)


def test_default_video_root_is_the_dataset_folder_and_limit(dataset: Dataset, tmp_path: Path) -> None:
    system = FakeSystem()
    result = run_evaluation(dataset, system, tmp_path / "run", limit=3)
    assert result.total == 3 and system.calls == ["c1", "n1"]
    assert [row["status"] for row in result.rows] == ["ok", "missing_video", "ok"]  # "b" is only a stem


def test_retry_failed_reruns_missing_and_errors(dataset: Dataset, tmp_path: Path) -> None:
    out = tmp_path / "run"
    run_evaluation(dataset, FakeSystem(), out, video_root=dataset.source.parent)
    (dataset.source.parent / "gone.mp4").write_bytes(b"now here")
    answers = {**ANSWERS, "n2": Prediction(text="two"), "x1": Prediction(text="because it rained")}
    again = FakeSystem(answers)
    again_result = run_evaluation(dataset, again, out, video_root=dataset.source.parent, retry_failed=True)
    assert again.calls == ["n2", "x1"]  # x1 still raises in FakeSystem
    latest = {row["qid"]: row for row in again_result.rows}
    assert latest["n2"]["status"] == "ok" and latest["n2"]["correct"] is True
    assert latest["x1"]["status"] == "error"


def test_progress_callback_and_bar(dataset: Dataset, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[tuple[int, int, str]] = []
    run_evaluation(
        dataset,
        FakeSystem(),
        tmp_path / "a",
        video_root=dataset.source.parent,
        progress=lambda done, total, row: seen.append((done, total, row["qid"])),
    )
    assert [(done, total) for done, total, _ in seen] == [(n, 8) for n in range(1, 9)]
    run_evaluation(dataset, FakeSystem(), tmp_path / "b", video_root=dataset.source.parent, progress=True)
    assert "8/8" in capsys.readouterr().err


def test_answers_from_the_agent_are_read_by_attribute(dataset: Dataset, tmp_path: Path) -> None:
    evidence = Evidence(
        kind="transcript", video_id="v", t0=3.0, t1=4.0, text="red car", score=0.9, source="search_transcript"
    )
    answer = Answer(
        question="q", text="The car is red [00:03].", evidence=[evidence], timings={"plan": 0.5, "answer": 1.0}
    )
    prediction = Prediction.from_answer(answer)
    assert (prediction.text, prediction.choice, prediction.latency_s, prediction.tool_calls) == (
        "The car is red [00:03].",
        None,
        1.5,
        0,
    )
    assert prediction.evidence == [evidence.to_dict()]
    richer = SimpleNamespace(
        text="B",
        choice=1,
        timings={"total": 2.5, "plan": 1.0},
        evidence=[],
        usage={"tool_calls": 3, "vlm_calls": 2, "images": 5, "prompt_tokens": 10, "completion_tokens": 4},
    )
    listed = SimpleNamespace(text="x", evidence=[], timings={}, tool_calls=[{"name": "search_transcript"}] * 2)
    assert (Prediction.from_answer(listed).tool_calls, Prediction.from_answer(listed).choice) == (2, None)
    read = Prediction.from_answer(richer)
    assert (read.choice, read.latency_s, read.tool_calls, read.vlm_calls, read.images, read.tokens) == (
        1,
        2.5,
        3,
        2,
        5,
        14,
    )

    result = run_evaluation(
        dataset, lambda video, item: answer, tmp_path / "run", video_root=dataset.source.parent, limit=1
    )
    assert result.rows[0]["correct"] is True and result.rows[0]["evidence"][0]["source"] == "search_transcript"


def test_reports(dataset: Dataset, tmp_path: Path) -> None:
    out = tmp_path / "run"
    run_evaluation(dataset, FakeSystem(), out, video_root=dataset.source.parent, config={"profile": "tiny"})
    files = write_reports(out)
    report = json.loads(files.json.read_text())
    assert (report["questions"], report["scored"], report["correct"]) == (8, 6, 4)
    assert report["accuracy"] == pytest.approx(4 / 6)
    assert report["accuracy_counting_errors"] == pytest.approx(4 / 7)
    assert report["status"] == {"ok": 6, "missing_video": 1, "error": 1}
    assert report["by_type"]["color"] | {} == {
        "questions": 3,
        "scored": 2,
        "correct": 1,
        "accuracy": 0.5,
        "latency_p50": 1.5,
        "latency_mean": 1.5,
        "abstained": 0,
        "wrong": 1,
        "forced": 0,
        "forced_correct": 0,
        "forced_accuracy": None,
    }
    assert report["by_type"]["choice"]["accuracy"] == 0.5 and report["by_type"]["time"]["accuracy"] == 1.0
    assert report["latency_s"]["p50"] == 3.5 and report["latency_s"]["mean"] == 3.5
    assert report["latency_s"]["p95"] == pytest.approx(5.75)
    assert report["cost_per_question"]["tool_calls"]["mean"] == pytest.approx(10 / 6)
    assert report["cost_per_question"]["tokens"]["total"] == 120 + 90 + 55 + 230 + 132
    assert report["dataset"]["format"] == "native" and report["config"] == {"profile": "tiny"}
    assert report["missing_videos"] == [{"qid": "n2", "video": "gone"}]

    markdown = files.markdown.read_text()
    assert "| Accuracy | 66.7% (4/6) |" in markdown
    assert "## Accuracy by type" in markdown
    assert "| color | 3 | 2 | 1 | 0 | 1 | 50.0% | - | 1.50 s | 1.50 s |" in markdown
    assert "| count | 2 | 1 | 1 | 0 | 0 | 100.0% | - | 3.00 s | 3.00 s |" in markdown
    assert "| tool calls | 1.7 | 1.5 | 2.8 | 10.0 |" in markdown
    assert "- missing video: `n2` (gone)" in markdown
    assert "- error: `x1`: answer: RuntimeError: backend went away" in markdown
    for plot in (files.accuracy_plot, files.latency_plot):
        data = plot.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 5_000


def test_compare_runs(dataset: Dataset, tmp_path: Path) -> None:
    run_evaluation(dataset, FakeSystem(), tmp_path / "baseline", video_root=dataset.source.parent)
    better = {
        **ANSWERS,
        "c2": Prediction(text="blue", latency_s=1.0, tool_calls=4),
        "m2": Prediction(text="pear", latency_s=2.0),
    }
    run_evaluation(dataset, FakeSystem(better), tmp_path / "more-tools", video_root=dataset.source.parent)
    table = compare_runs([tmp_path / "baseline", tmp_path / "more-tools"])
    lines = table.splitlines()
    assert lines[0] == "| Metric | baseline | more-tools |"
    assert "| Accuracy | 66.7% | 100.0% (+33.3 pp) |" in lines
    assert "| Accuracy: color | 50.0% | 100.0% (+50.0 pp) |" in lines
    assert "| Accuracy: count | 100.0% | 100.0% (+0.0 pp) |" in lines
    assert "| Latency p50 | 3.50 s | 2.50 s (-1.00 s) |" in lines
    assert "| Tool calls / question | 1.7 | 2.0 (+0.3) |" in lines
    assert "| Questions scored | 6 | 6 (+0) |" in lines


def test_a_run_folder_holds_one_dataset(dataset: Dataset, tmp_path: Path) -> None:
    out = tmp_path / "run"
    run_evaluation(dataset, FakeSystem(), out, video_root=dataset.source.parent, limit=1)
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps(ROWS[0]) + "\n")
    with pytest.raises(
        InvalidRequest, match="holds results for .*qa.jsonl, not .*other.jsonl; pick another output folder"
    ):
        run_evaluation(load_dataset(other), FakeSystem(), out)
    with pytest.raises(InvalidRequest, match="workers must be >= 1"):
        run_evaluation(dataset, FakeSystem(), out, workers=0)
    duplicated = [*dataset.items, dataset.items[0]]
    with pytest.raises(InvalidRequest, match="question id 'c1' appears twice"):
        run_evaluation(duplicated, FakeSystem(), tmp_path / "dup")


def test_an_answer_whose_sources_failed_is_an_error_row_and_retried(dataset: Dataset, tmp_path: Path) -> None:
    failed = Prediction(text="Cannot answer: search_transcript failed", errors=["search_transcript failed: store is damaged"])
    broken = FakeSystem({**ANSWERS, "c1": failed})
    out = tmp_path / "run"
    run_evaluation(dataset, broken, out, video_root=dataset.source.parent)
    row = next(r for r in rows_of(out) if r["qid"] == "c1")
    assert row["status"] == "error" and row["error"] == "search_transcript failed: store is damaged"
    repaired = FakeSystem()
    run_evaluation(dataset, repaired, out, video_root=dataset.source.parent, retry_failed=True)
    latest = [r for r in rows_of(out) if r["qid"] == "c1"][-1]  # rows are appended; the last one counts
    assert "c1" in repaired.calls and latest["status"] == "ok" and latest["correct"] is True


def test_abstentions_are_never_right_and_forced_picks_are_counted_apart(dataset: Dataset, tmp_path: Path) -> None:
    """An answer that claims nothing scores as abstained even when its words look right; a forced pick is
    counted with its own accuracy, beside the picks the evidence made."""
    answers = dict(ANSWERS)
    answers["c1"] = Prediction(text="I can't tell. It may be red.", abstained=True, limitations=["no pictures"])
    answers["m1"] = Prediction(text="B. bus (a forced pick)", choice=1, forced=True, plan=["search_transcript"])
    answers["m2"] = Prediction(text="A. apple (a forced pick)", choice=0, forced=True)
    run_evaluation(dataset, FakeSystem(answers), tmp_path / "run", video_root=dataset.source.parent)
    rows = {row["qid"]: row for row in rows_of(tmp_path / "run")}
    assert rows["c1"]["correct"] is False and rows["c1"]["method"] == "abstained" and rows["c1"]["abstained"]
    assert rows["m1"]["forced"] and rows["m1"]["plan"] == ["search_transcript"]
    report = json.loads(write_reports(tmp_path / "run").json.read_text())
    assert (report["abstained"], report["forced"], report["forced_correct"]) == (1, 2, 1)
    assert report["by_type"]["color"]["abstained"] == 1 and report["by_type"]["color"]["wrong"] == 1
    markdown = (tmp_path / "run" / "report.md").read_text()
    assert "Forced picks (no evidence; right / all) | 1/2" in markdown
