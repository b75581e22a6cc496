"""One picture of a video's structure over time: scene clusters, triggers, speech and who is on screen.

Lanes, top to bottom: segments coloured by scene cluster (a recurring scene has one colour wherever
it appears), trigger moments marked by cause, speech spans, and one lane per actor with the
intervals they are on screen. The x axis is video time in mm:ss.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.types import format_timestamp

MAX_ACTOR_LANES = 24
REASON_COLOURS = {
    "shot_cut": "#d62728", "dissolve": "#ff7f0e", "novelty": "#9467bd", "actor_enter": "#2ca02c",
    "actor_exit": "#8c564b", "speech_onset": "#1f77b4", "trained_head": "#e377c2",
}  # fmt: skip


def draw_timeline(memory: Any, out_path: Path) -> Path:
    """Write the timeline PNG of one video's memory to `out_path` and return the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    duration = max(memory.ref.duration, 1e-3)
    segments = memory.segments()
    clusters = memory.clusters()
    actors = memory.actors()[:MAX_ACTOR_LANES]
    lanes = ["scenes", "triggers", "speech"] + [f"actor {a.actor_id}" for a in actors]
    height = 1.6 + 0.42 * len(lanes)
    figure, axis = plt.subplots(figsize=(12, height), dpi=110)
    colours = plt.get_cmap("tab20")
    y = {name: len(lanes) - 1 - i for i, name in enumerate(lanes)}

    for segment in segments:
        cluster = clusters.labels[segment.index] if segment.index < len(clusters.labels) else None
        colour = colours(cluster % 20) if cluster is not None else "#cccccc"
        axis.broken_barh([(segment.t0, segment.t1 - segment.t0)], (y["scenes"] - 0.4, 0.8),
                         facecolors=colour, edgecolors="white", linewidth=0.8)  # fmt: skip
        if cluster is not None and segment.t1 - segment.t0 > duration / 60:
            axis.text((segment.t0 + segment.t1) / 2, y["scenes"], str(cluster), ha="center", va="center", fontsize=7)
    for trigger in memory.triggers():
        reason = trigger.reasons[0] if trigger.reasons else "novelty"
        axis.plot([trigger.timestamp] * 2, [y["triggers"] - 0.4, y["triggers"] + 0.4],
                  color=REASON_COLOURS.get(reason, "black"), linewidth=2)  # fmt: skip
    speech = [(s.t0, max(s.t1 - s.t0, 0.05)) for s in memory.transcript()]
    axis.broken_barh(speech, (y["speech"] - 0.3, 0.6), facecolors="#1f77b4", alpha=0.8)
    for actor in actors:
        bars = [(a, max(b - a, 0.05)) for a, b in actor.intervals]
        axis.broken_barh(bars, (y[f"actor {actor.actor_id}"] - 0.3, 0.6), facecolors="#2ca02c")

    axis.set_yticks([y[name] for name in lanes], lanes)
    axis.set_xlim(0, duration)
    axis.set_ylim(-0.7, len(lanes) - 0.3)
    ticks = axis.get_xticks()
    axis.set_xticks(ticks, [format_timestamp(t) for t in ticks])
    axis.set_xlim(0, duration)
    axis.grid(axis="x", alpha=0.3)
    axis.set_xlabel("video time")
    axis.set_title(f"{memory.ref.path.name}: {len(segments)} segments, {clusters.count} scenes, "
                   f"{len(memory.triggers())} triggers, {len(memory.actors())} actors", loc="left", fontsize=10)  # fmt: skip
    legend = [Patch(color=colours(c.cluster_id % 20), label=f"scene {c.cluster_id}: {c.label[:40]}")
              for c in clusters.clusters[:10]]  # fmt: skip
    used = sorted({t.reasons[0] for t in memory.triggers() if t.reasons})
    legend += [Patch(color=REASON_COLOURS.get(r, "black"), label=f"trigger: {r.replace('_', ' ')}") for r in used]
    if legend:
        axis.legend(handles=legend, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    figure.tight_layout()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out_path)
    plt.close(figure)
    return out_path
