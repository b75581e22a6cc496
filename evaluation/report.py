"""Reports of an evaluation run (report.json, report.md, two PNG charts) and ablation tables across runs."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import InvalidRequest
from evaluation.plots import plot_accuracy_by_type, plot_latency
from evaluation.results import RESULTS_NAME, latest_rows
from evaluation.runner import RUN_NAME

UNTYPED = "(untyped)"
COST_KEYS = ("tool_calls", "vlm_calls", "tokens", "prompt_tokens", "completion_tokens", "images")
LISTED_PROBLEMS = 20
"""How many missing videos and errors report.md lists by name."""


@dataclass(frozen=True)
class ReportFiles:
    """The files `write_reports` wrote."""

    json: Path
    markdown: Path
    accuracy_plot: Path
    latency_plot: Path


# --- numbers ----------------------------------------------------------------------------------


def distribution(values: Sequence[float]) -> dict[str, float | None]:
    """mean, p50, p95, max and total of the values (all None when there are none)."""
    if not values:
        return {"mean": None, "p50": None, "p95": None, "max": None, "total": None}
    array = np.asarray(values, dtype=float)
    return {
        "mean": float(array.mean()),
        "p50": float(np.percentile(array, 50)),
        "p95": float(np.percentile(array, 95)),
        "max": float(array.max()),
        "total": float(array.sum()),
    }


def _accuracy(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """scored, correct and accuracy of the answered rows among `rows`."""
    answered = [row for row in rows if row.get("status") == "ok"]
    correct = sum(bool(row.get("correct")) for row in answered)
    abstained = [row for row in answered if row.get("abstained")]
    forced = [row for row in answered if row.get("forced")]
    forced_right = sum(bool(row.get("correct")) for row in forced)
    return {
        "scored": len(answered), "correct": correct, "accuracy": correct / len(answered) if answered else None,
        "abstained": len(abstained), "wrong": len(answered) - correct - len(abstained),
        "forced": len(forced), "forced_correct": forced_right,
        "forced_accuracy": forced_right / len(forced) if forced else None,
    }  # fmt: skip


def summarize(rows: Sequence[dict[str, Any]], run: dict[str, Any] | None = None) -> dict[str, Any]:
    """The numbers of report.json: accuracy overall and per type, statuses, latency and cost."""
    answered = [row for row in rows if row.get("status") == "ok"]
    errors = [row for row in rows if row.get("status") == "error"]
    overall = _accuracy(rows)
    attempted = len(answered) + len(errors)
    by_type: dict[str, dict[str, Any]] = {}
    for name in sorted({row.get("type") or UNTYPED for row in rows}):
        typed = [row for row in rows if (row.get("type") or UNTYPED) == name]
        latency = distribution([row["latency_s"] for row in typed if row.get("status") == "ok"])
        by_type[name] = {
            "questions": len(typed),
            **_accuracy(typed),
            "latency_p50": latency["p50"],
            "latency_mean": latency["mean"],
        }
    run = run or {}
    return {
        "dataset": run.get("dataset"),
        "settings": run.get("settings"),
        "config": run.get("config"),
        "sessions": len(run.get("sessions", [])),
        "questions": len(rows),
        "status": dict(Counter(row.get("status", "unknown") for row in rows)),
        **overall,
        "accuracy_counting_errors": overall["correct"] / attempted if attempted else None,
        "by_type": by_type,
        "by_method": dict(Counter(row["method"] for row in answered if row.get("method"))),
        "latency_s": distribution([row["latency_s"] for row in answered]),
        "cost_per_question": {key: distribution([row.get(key) or 0 for row in answered]) for key in COST_KEYS},
        "missing_videos": [
            {"qid": row["qid"], "video": row["video"]} for row in rows if row.get("status") == "missing_video"
        ],
        "errors": [{"qid": row["qid"], "error": row.get("error")} for row in errors],
    }


def load_run(run_dir: Path | str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The latest row per question and the run.json of a run folder."""
    run_dir = Path(run_dir)
    results = run_dir / RESULTS_NAME
    if not results.is_file():
        raise InvalidRequest(f"{run_dir}: no {RESULTS_NAME} (not an evaluation run folder)")
    run_path = run_dir / RUN_NAME
    run = json.loads(run_path.read_text(encoding="utf-8")) if run_path.is_file() else {}
    return list(latest_rows(results).values()), run


# --- one run ----------------------------------------------------------------------------------


def write_reports(run_dir: Path | str) -> ReportFiles:
    """Write report.json, report.md, accuracy_by_type.png and latency.png into the run folder."""
    run_dir = Path(run_dir)
    rows, run = load_run(run_dir)
    summary = summarize(rows, run)
    files = ReportFiles(
        json=run_dir / "report.json",
        markdown=run_dir / "report.md",
        accuracy_plot=run_dir / "accuracy_by_type.png",
        latency_plot=run_dir / "latency.png",
    )
    files.json.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    files.markdown.write_text(render_markdown(summary, run_dir.name), encoding="utf-8")
    plot_accuracy_by_type(summary["by_type"], files.accuracy_plot)
    latency = summary["latency_s"]
    answered = [row["latency_s"] for row in rows if row.get("status") == "ok"]
    plot_latency(answered, latency["p50"], latency["p95"], files.latency_plot)
    return files


def _pct(value: float | None) -> str:
    return f"{100 * value:.1f}%" if value is not None else "n/a"


def _secs(value: float | None) -> str:
    return f"{value:.2f} s" if value is not None else "n/a"


def _num(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else "n/a"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Markdown table lines."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(cells) + " |" for cells in rows]


def render_markdown(summary: dict[str, Any], name: str) -> str:
    """report.md: summary, accuracy and latency per type, cost per question, problems, configuration."""
    dataset = summary.get("dataset") or {}
    status = summary["status"]
    latency = summary["latency_s"]
    lines = [f"# Evaluation: {name}", ""]
    summary_rows = [
        ["Dataset", f"{dataset.get('title', 'unknown')} ({dataset.get('source', '?')})" if dataset else "unknown"],
        ["Questions", str(summary["questions"])],
        ["Answered", str(status.get("ok", 0))],
        ["Missing video", str(status.get("missing_video", 0))],
        ["Errors", str(status.get("error", 0))],
        ["Accuracy", f"{_pct(summary['accuracy'])} ({summary['correct']}/{summary['scored']})"],
        ["Accuracy, errors counted wrong", _pct(summary["accuracy_counting_errors"])],
        ["Abstained (said what it cannot see or tell)", str(summary["abstained"])],
        ["Wrong (a claim that is not right)", str(summary["wrong"])],
        ["Forced picks (no evidence; right / all)",
         f"{summary['forced_correct']}/{summary['forced']}" if summary["forced"] else "none"],
        ["Latency p50 / p95 / mean", f"{_secs(latency['p50'])} / {_secs(latency['p95'])} / {_secs(latency['mean'])}"],
    ]
    if dataset.get("skipped"):
        summary_rows.insert(2, ["Skipped by the loader", f"{dataset['skipped']} ({dataset.get('skipped_reason', '')})"])
    lines += ["## Summary", "", *_table(["Measure", "Value"], summary_rows), ""]
    type_rows = [
        [
            name,
            str(s["questions"]),
            str(s["scored"]),
            str(s["correct"]),
            str(s["abstained"]),
            str(s["wrong"]),
            _pct(s["accuracy"]),
            f"{s['forced_correct']}/{s['forced']}" if s["forced"] else "-",
            _secs(s["latency_p50"]),
            _secs(s["latency_mean"]),
        ]
        for name, s in summary["by_type"].items()
    ]
    header = ["Type", "Questions", "Scored", "Correct", "Abstained", "Wrong", "Accuracy", "Forced picks right",
              "Latency p50", "Latency mean"]  # fmt: skip
    lines += ["## Accuracy by type", "", *_table(header, type_rows), ""]
    cost_rows = [
        [key.replace("_", " "), _num(d["mean"]), _num(d["p50"]), _num(d["p95"]), _num(d["total"])]
        for key, d in summary["cost_per_question"].items()
    ]
    lines += ["## Cost per question", "", *_table(["Metric", "Mean", "p50", "p95", "Total"], cost_rows), ""]
    if summary["missing_videos"] or summary["errors"]:
        lines += ["## Problems", ""]
        lines += [f"- missing video: `{m['qid']}` ({m['video']})" for m in summary["missing_videos"][:LISTED_PROBLEMS]]
        lines += [f"- error: `{e['qid']}`: {e['error']}" for e in summary["errors"][:LISTED_PROBLEMS]]
        hidden = sum(max(0, len(summary[key]) - LISTED_PROBLEMS) for key in ("missing_videos", "errors"))
        if hidden:
            lines.append(f"- ... {hidden} more in report.json")
        lines.append("")
    settings = {**(summary.get("settings") or {}), **(summary.get("config") or {})}
    if settings:
        lines += ["## Configuration", "", *[f"- {key}: {value}" for key, value in settings.items()], ""]
    lines += ["![accuracy by type](accuracy_by_type.png)", "", "![latency](latency.png)", ""]
    return "\n".join(lines)


# --- several runs -----------------------------------------------------------------------------


def _names(run_dirs: Sequence[Path]) -> list[str]:
    """Column names: folder names, or whole paths where two folders share a name."""
    names = [path.name or str(path) for path in run_dirs]
    return [str(path) if names.count(name) > 1 else name for path, name in zip(run_dirs, names)]


def _cell(
    value: float | None, first: float | None, render: Callable[[float], str], delta: Callable[[float], str]
) -> str:
    """A value, with its difference from the first run's in brackets."""
    if value is None:
        return "n/a"
    if first is None:
        return render(value)
    return f"{render(value)} ({delta(value - first)})"


def _points(delta: float) -> str:
    return f"{100 * delta:+.1f} pp"


def _delta_secs(delta: float) -> str:
    return f"{delta:+.2f} s"


def _delta_num(delta: float) -> str:
    return f"{delta:+.1f}"


@dataclass(frozen=True)
class _Metric:
    """One row of the ablation table: how to read it from a summary, show it, and show a difference."""

    label: str
    get: Callable[[dict[str, Any]], float | None]
    render: Callable[[float], str]
    delta: Callable[[float], str]


def _metrics(types: Sequence[str]) -> list[_Metric]:
    """The ablation rows: accuracy overall and per type, latency, and calls and tokens per question."""

    def cost(key: str) -> Callable[[dict[str, Any]], float | None]:
        return lambda s: s["cost_per_question"][key]["mean"]

    def typed(name: str) -> Callable[[dict[str, Any]], float | None]:
        return lambda s: (s["by_type"].get(name) or {}).get("accuracy")

    return [
        _Metric("Questions scored", lambda s: s["scored"], str, lambda d: f"{int(d):+d}"),
        _Metric("Accuracy", lambda s: s["accuracy"], _pct, _points),
        *[_Metric(f"Accuracy: {name}", typed(name), _pct, _points) for name in types],
        _Metric("Latency p50", lambda s: s["latency_s"]["p50"], _secs, _delta_secs),
        _Metric("Latency p95", lambda s: s["latency_s"]["p95"], _secs, _delta_secs),
        _Metric("Tool calls / question", cost("tool_calls"), _num, _delta_num),
        _Metric("VLM calls / question", cost("vlm_calls"), _num, _delta_num),
        _Metric("Tokens / question", cost("tokens"), _num, _delta_num),
        _Metric("Images / question", cost("images"), _num, _delta_num),
    ]


def compare_runs(run_dirs: Sequence[Path | str]) -> str:
    """A markdown ablation table, one column per run, differences against the first run in brackets."""
    if not run_dirs:
        raise InvalidRequest("compare needs at least one run folder")
    paths = [Path(d) for d in run_dirs]
    summaries = [summarize(*load_run(path)) for path in paths]
    types = sorted({name for s in summaries for name in s["by_type"]})
    rows = []
    for metric in _metrics(types):
        first = metric.get(summaries[0])
        cells = [metric.render(first) if first is not None else "n/a"]
        cells += [_cell(metric.get(s), first, metric.render, metric.delta) for s in summaries[1:]]
        rows.append([metric.label, *cells])
    return "\n".join(_table(["Metric", *_names(paths)], rows)) + "\n"
