"""The report's PNG charts, drawn with matplotlib's Agg canvas (no pyplot, no display, no global backend)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

_SIZE = (7.0, 4.0)
_DPI = 110


def _figure() -> Any:
    """A blank figure on an Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=_SIZE, dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _empty(axes: Any, message: str) -> None:
    """Say in the chart that there is nothing to draw."""
    axes.text(0.5, 0.5, message, ha="center", va="center", transform=axes.transAxes)
    axes.set_xticks([])
    axes.set_yticks([])


def plot_accuracy_by_type(by_type: Mapping[str, Mapping[str, Any]], path: Path) -> Path:
    """Bar chart of accuracy per question type, each bar labelled with correct/scored."""
    figure = _figure()
    axes = figure.subplots()
    scored = {name: stats for name, stats in by_type.items() if stats.get("scored")}
    if scored:
        names = list(scored)
        values = [100.0 * scored[name]["accuracy"] for name in names]
        bars = axes.bar(names, values, color="#4c72b0")
        labels = [f"{scored[name]['correct']}/{scored[name]['scored']}" for name in names]
        axes.bar_label(bars, labels=labels, padding=2, fontsize=8)
        axes.set_ylim(0, 110)
        axes.set_ylabel("accuracy (%)")
        axes.tick_params(axis="x", labelrotation=30 if len(names) > 4 else 0, labelsize=8)
    else:
        _empty(axes, "no scored questions")
    axes.set_title("Accuracy by question type")
    figure.savefig(path, format="png")
    return path


def plot_latency(latencies: Sequence[float], p50: float | None, p95: float | None, path: Path) -> Path:
    """Histogram of per-question latency with the median and 95th percentile marked."""
    figure = _figure()
    axes = figure.subplots()
    if latencies:
        from matplotlib.ticker import MaxNLocator

        axes.hist(latencies, bins=min(30, max(5, len(latencies) // 2)), color="#55a868", edgecolor="white")
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        for value, label, style in ((p50, "p50", "--"), (p95, "p95", ":")):
            if value is not None:
                axes.axvline(value, color="black", linestyle=style, label=f"{label} {value:.2f} s")
        axes.legend()
        axes.set_xlabel("latency per question (s)")
        axes.set_ylabel("questions")
    else:
        _empty(axes, "no answered questions")
    axes.set_title("Latency")
    figure.savefig(path, format="png")
    return path
