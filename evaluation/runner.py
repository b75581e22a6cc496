"""Running a QA set through the system under test: each question's video is found, answered, scored
and appended to results.jsonl as soon as it is done; a re-run skips what is already there."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import InvalidRequest
from evaluation.datasets.item import Dataset, QAItem
from evaluation.prediction import Prediction
from evaluation.results import RESULTS_NAME, ResultsWriter, latest_rows
from evaluation.scoring import DEFAULT_TOLERANCE_S, Judge, score
from evaluation.video_files import VideoIndex, VideoOutsideRoot

RUN_NAME = "run.json"
"""The run's dataset and configuration, and one entry per session (start, end, what it ran)."""
FAILED = ("error", "missing_video")
"""Statuses `retry_failed` runs again."""

AnswerFn = Callable[[Path, QAItem], Any]
"""answer_fn(video file, item) -> Prediction (or an agent answer, read with `Prediction.from_answer`)."""
ProgressFn = Callable[[int, int, dict[str, Any]], None]
"""progress(done, total, row) after each finished question."""


@dataclass(frozen=True)
class RunResult:
    """What a run did: the results file, and how many questions it ran, skipped, found missing or failed."""

    out_dir: Path
    results_path: Path
    total: int
    """Questions in this run (after `limit`)."""
    ran: int
    """Questions answered (or failed) in this session."""
    skipped: int
    """Questions already in results.jsonl from an earlier session."""
    missing: int
    """Questions of this session whose video file was not found."""
    errors: int
    """Questions of this session whose answer raised."""
    rows: list[dict[str, Any]]
    """The latest row of every question of the run that has one, in dataset order."""


def run_evaluation(
    items: Iterable[QAItem],
    answer_fn: AnswerFn,
    out_dir: Path | str,
    *,
    video_root: Path | str | None = None,
    workers: int = 1,
    judge: Judge | None = None,
    limit: int | None = None,
    progress: bool | ProgressFn | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    retry_failed: bool = False,
    config: Mapping[str, Any] | None = None,
    allow_outside_paths: bool = False,
) -> RunResult:
    """Answer and score every question not yet in `out_dir/results.jsonl`.

    Videos are looked up under `video_root` (by default relative to the dataset's folder when `items`
    is a `Dataset`, else the current folder); a missing one gives a `missing_video` row. An exception
    from `answer_fn` gives an `error` row; KeyboardInterrupt stops the run with every finished row kept.
    `limit` keeps the first questions only; `retry_failed` runs those whose earlier row is an error or a
    missing video again (the newest row counts). `workers` > 1 answers that many questions at once in
    threads. `progress` is True for a progress bar or a `ProgressFn`. `config` (models, settings) is
    recorded in run.json for the report. A prediction with no latency of its own gets the wall time.
    A row naming a video outside the video root (or the dataset's folder) is an `error` row and is never
    opened, unless `allow_outside_paths`.
    """
    if workers < 1:
        raise InvalidRequest(f"workers must be >= 1, got {workers}")
    if limit is not None and limit < 0:
        raise InvalidRequest(f"limit must be >= 0, got {limit}")
    dataset = items if isinstance(items, Dataset) else None
    selected = list(items)[:limit] if limit is not None else list(items)
    _check_unique(selected)
    index = _video_index(video_root, dataset, allow_outside_paths)
    out_dir = Path(out_dir)
    _check_same_dataset(out_dir, dataset)
    out_dir.mkdir(parents=True, exist_ok=True)
    results_path = out_dir / RESULTS_NAME
    previous = latest_rows(results_path)
    done = {qid for qid, row in previous.items() if not (retry_failed and row.get("status") in FAILED)}
    todo = [item for item in selected if item.qid not in done]
    skipped = len(selected) - len(todo)
    session = _start_session(out_dir, dataset, video_root, workers, limit, judge, tolerance_s, config,
                             allow_outside_paths)  # fmt: skip
    counts = {"ran": 0, "missing_video": 0, "error": 0}
    interrupted = True
    try:
        with ResultsWriter(results_path) as writer, _progress(progress, len(selected), skipped) as report:

            def finish(row: dict[str, Any]) -> None:
                writer.append(row)
                counts["ran"] += 1
                counts[row["status"]] = counts.get(row["status"], 0) + 1
                report(row)

            jobs = ((item, locate(item, index)) for item in todo)
            if workers == 1:
                for item, video in jobs:
                    finish(answer_one(item, video, answer_fn, judge, tolerance_s) if isinstance(video, Path) else video)
            else:
                _run_pool(jobs, workers, answer_fn, judge, tolerance_s, finish)
        interrupted = False
    finally:
        _end_session(out_dir, session, counts["ran"], skipped, interrupted)

    latest = latest_rows(results_path)
    return RunResult(
        out_dir=out_dir,
        results_path=results_path,
        total=len(selected),
        ran=counts["ran"],
        skipped=skipped,
        missing=counts["missing_video"],
        errors=counts["error"],
        rows=[latest[item.qid] for item in selected if item.qid in latest],
    )


def _run_pool(
    jobs: Iterator[tuple[QAItem, Path | dict[str, Any]]],
    workers: int,
    answer_fn: AnswerFn,
    judge: Judge | None,
    tolerance_s: float,
    finish: Callable[[dict[str, Any]], None],
) -> None:
    """Answer in `workers` threads; rows are written here, in the calling thread, as answers finish."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vidsage-eval")
    try:
        futures: list[Future[dict[str, Any]]] = []
        for item, video in jobs:
            if isinstance(video, Path):
                futures.append(pool.submit(answer_one, item, video, answer_fn, judge, tolerance_s))
            else:
                finish(video)
        for future in as_completed(futures):
            finish(future.result())
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


# --- rows -------------------------------------------------------------------------------------


def _item_fields(item: QAItem, video: Path | None) -> dict[str, Any]:
    """The question's side of a row."""
    return {
        "qid": item.qid,
        "video": item.video,
        "video_path": str(video) if video else None,
        "question": item.question,
        "type": item.type,
        "options": item.options,
        "gold": item.answer,
        "gold_index": item.answer_index,
        "needs": item.extra.get("needs"),
        "group": item.extra.get("group"),
    }


_EMPTY_ANSWER = {
    "prediction": None,
    "choice": None,
    "correct": None,
    "exact": None,
    "f1": None,
    "method": None,
    "scored_choice": None,
    "time_error_s": None,
    "latency_s": None,
    "tool_calls": 0,
    "vlm_calls": 0,
    "prompt_tokens": 0,
    "completion_tokens": 0,
    "tokens": 0,
    "images": 0,
    "abstained": False,
    "forced": False,
    "confidence": None,
    "limitations": [],
    "plan": [],
}


def answer_one(
    item: QAItem, video: Path, answer_fn: AnswerFn, judge: Judge | None, tolerance_s: float
) -> dict[str, Any]:
    """Answer and score one question; an exception (not an interrupt) becomes an `error` row."""
    started = time.perf_counter()
    stage = "answer"
    try:
        result = answer_fn(video, item)
        prediction = result if isinstance(result, Prediction) else Prediction.from_answer(result)
        stage = "score"
        verdict = score(item, prediction, tolerance_s=tolerance_s, judge=judge)
        if prediction.abstained:  # an answer that claims nothing is never right, whatever words it contains
            verdict = dataclasses.replace(verdict, correct=False, exact=False, method="abstained")
    except Exception as error:  # noqa: BLE001 - any failure of the system under test is a result row
        lines = str(error).strip().splitlines()
        message = f"{stage}: {type(error).__name__}" + (f": {lines[0]}" if lines else "")
        return {
            **_item_fields(item, video),
            **_EMPTY_ANSWER,
            "wall_s": round(time.perf_counter() - started, 4),
            "status": "error",
            "error": message,
        }
    wall_s = time.perf_counter() - started
    return {
        **_item_fields(item, video),
        "prediction": prediction.text,
        "choice": prediction.choice,
        "correct": verdict.correct,
        "exact": verdict.exact,
        "f1": round(verdict.f1, 4),
        "method": verdict.method,
        "scored_choice": verdict.choice,
        "time_error_s": verdict.time_error_s,
        "latency_s": round(prediction.latency_s if prediction.latency_s > 0 else wall_s, 4),
        "tool_calls": prediction.tool_calls,
        "vlm_calls": prediction.vlm_calls,
        "prompt_tokens": prediction.prompt_tokens,
        "completion_tokens": prediction.completion_tokens,
        "tokens": prediction.tokens,
        "images": prediction.images,
        "abstained": prediction.abstained,
        "forced": prediction.forced,
        "confidence": prediction.confidence,
        "limitations": prediction.limitations,
        "plan": prediction.plan,
        "wall_s": round(wall_s, 4),
        "timings": prediction.timings,
        "evidence": prediction.evidence,
        "status": "error" if prediction.errors else "ok",  # a failed source is retried, never scored as wrong
        "error": "; ".join(prediction.errors) or None,
    }


def locate(item: QAItem, index: VideoIndex) -> Path | dict[str, Any]:
    """The item's video file, or the finished row saying why it has none (missing, or outside the root)."""
    try:
        video = index.find(item.video)
    except VideoOutsideRoot as refused:
        return refused_row(item, str(refused))
    return video if video is not None else missing_row(item, index)


def refused_row(item: QAItem, reason: str) -> dict[str, Any]:
    """The `error` row of a question whose video may not be opened (it names a file outside the root)."""
    return {**_item_fields(item, None), **_EMPTY_ANSWER, "wall_s": 0.0, "status": "error", "error": reason}


def missing_row(item: QAItem, index: VideoIndex) -> dict[str, Any]:
    """The row of a question whose video file is not under the video root."""
    where = f"under {index.root}" if index.root else f"at {index.base / item.video}"
    return {
        **_item_fields(item, None),
        **_EMPTY_ANSWER,
        "wall_s": 0.0,
        "status": "missing_video",
        "error": f"no video file for {item.video!r} {where}",
    }


# --- setup and bookkeeping --------------------------------------------------------------------


def _check_unique(items: list[QAItem]) -> None:
    """Results are resumed by qid, so two questions may not share one."""
    seen: set[str] = set()
    for item in items:
        if item.qid in seen:
            raise InvalidRequest(f"question id {item.qid!r} appears twice; ids must be unique to resume a run")
        seen.add(item.qid)


def _check_same_dataset(out_dir: Path, dataset: Dataset | None) -> None:
    """Refuse to resume a run folder that holds the results of another dataset file."""
    path = out_dir / RUN_NAME
    if dataset is None or not path.is_file():
        return
    earlier = (json.loads(path.read_text(encoding="utf-8")).get("dataset") or {}).get("source")
    if earlier and Path(earlier).resolve() != dataset.source.resolve():
        raise InvalidRequest(f"{out_dir} holds results for {earlier}, not {dataset.source}; pick another output folder")


def _video_index(video_root: Path | str | None, dataset: Dataset | None, allow_outside: bool) -> VideoIndex:
    """The index for this run: the given root, or plain paths relative to the dataset's folder."""
    if video_root is not None:
        root = Path(video_root).expanduser()
        if not root.is_dir():
            raise InvalidRequest(f"video root {root} is not a folder")
        return VideoIndex(root, allow_outside=allow_outside)
    return VideoIndex(None, base=dataset.source.parent if dataset else Path.cwd(), allow_outside=allow_outside)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _start_session(
    out_dir: Path,
    dataset: Dataset | None,
    video_root: Path | str | None,
    workers: int,
    limit: int | None,
    judge: Judge | None,
    tolerance_s: float,
    config: Mapping[str, Any] | None,
    allow_outside_paths: bool,
) -> dict[str, Any]:
    """Record the run's configuration and a new session in run.json; return the session entry."""
    path = out_dir / RUN_NAME
    run = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    if dataset is not None:
        run["dataset"] = {
            "format": dataset.format,
            "title": dataset.title,
            "source": str(dataset.source),
            "questions": len(dataset),
            "skipped": dataset.skipped,
            "skipped_reason": dataset.skipped_reason,
        }
    run.setdefault("dataset", None)
    run["settings"] = {
        "video_root": str(video_root) if video_root is not None else None,
        "workers": workers,
        "limit": limit,
        "judge": judge is not None,
        "tolerance_s": tolerance_s,
        "allow_outside_paths": allow_outside_paths,
    }
    run["config"] = dict(config or run.get("config") or {})
    session = {"started": _now(), "finished": None, "ran": 0, "skipped": 0, "interrupted": None}
    run.setdefault("sessions", []).append(session)
    _write_json(path, run)
    return session


def _end_session(out_dir: Path, session: dict[str, Any], ran: int, skipped: int, interrupted: bool) -> None:
    """Close this session's entry in run.json."""
    path = out_dir / RUN_NAME
    run = json.loads(path.read_text(encoding="utf-8"))
    run["sessions"][-1] = {**session, "finished": _now(), "ran": ran, "skipped": skipped, "interrupted": interrupted}
    _write_json(path, run)


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write JSON atomically (a kill mid-write leaves the old file)."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    partial.replace(path)


@contextmanager
def _progress(progress: bool | ProgressFn | None, total: int, done: int) -> Iterator[Callable[[dict[str, Any]], None]]:
    """A per-row callback: a rich progress bar with running accuracy, the caller's function, or nothing."""
    if not progress:
        yield lambda row: None
        return
    if callable(progress):
        state = {"done": done}

        def call(row: dict[str, Any]) -> None:
            state["done"] += 1
            progress(state["done"], total, row)

        yield call
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    tally = {"scored": 0, "correct": 0}
    columns = (
        TextColumn("[bold]eval"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[accuracy]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("eval", total=total, completed=done, accuracy="")

        def advance(row: dict[str, Any]) -> None:
            if row.get("status") == "ok":
                tally["scored"] += 1
                tally["correct"] += bool(row.get("correct"))
            accuracy = f"acc {tally['correct'] / tally['scored']:.1%}" if tally["scored"] else ""
            bar.update(task, advance=1, accuracy=accuracy)

        yield advance
