"""One picture of a video's structure over time: scene clusters, triggers, speech and who is on screen.

Lanes, top to bottom: segments coloured by scene cluster (a recurring scene has one colour wherever
it appears) with every shot boundary as a dark line, trigger moments marked by cause, speech spans,
the spans text is shown in the picture ("text on screen", only when some was read), and one lane per
actor with the intervals they are on screen. The x axis is video time in mm:ss.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.types import format_timestamp
from ui.timeline_lanes import REASON_COLOURS, SCREEN_TEXT_COLOUR, scene_colour, timeline_lanes

SHOT_COLOUR = "#222222"
TEXT_LANE = "text on screen"


def draw_timeline(memory: Any, out_path: Path) -> Path:
    """Write the timeline PNG of one video's memory to `out_path` and return the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    lanes = timeline_lanes(memory)
    duration = lanes.duration
    names = ["scenes", "triggers", "speech"] + ([TEXT_LANE] if lanes.screen_text else [])
    names += [f"actor {a.actor_id}" for a in lanes.actors]
    height = 1.6 + 0.42 * len(names)
    figure, axis = plt.subplots(figsize=(12, height), dpi=110)
    y = {name: len(names) - 1 - i for i, name in enumerate(names)}

    for scene in lanes.scenes:
        axis.broken_barh([(scene.t0, scene.t1 - scene.t0)], (y["scenes"] - 0.4, 0.8),
                         facecolors=scene.colour, edgecolors="white", linewidth=0.8)  # fmt: skip
        if scene.cluster is not None and scene.t1 - scene.t0 > duration / 60:
            axis.text((scene.t0 + scene.t1) / 2, y["scenes"], str(scene.cluster), ha="center", va="center", fontsize=7)
    for shot in lanes.shots:
        axis.plot([shot] * 2, [y["scenes"] - 0.45, y["scenes"] + 0.45], color=SHOT_COLOUR, linewidth=1.5)
    for trigger in lanes.triggers:
        axis.plot([trigger.time] * 2, [y["triggers"] - 0.4, y["triggers"] + 0.4], color=trigger.colour, linewidth=2)
    speech = [(t0, max(t1 - t0, 0.05)) for t0, t1 in lanes.speech]
    axis.broken_barh(speech, (y["speech"] - 0.3, 0.6), facecolors="#1f77b4", alpha=0.8)
    if lanes.screen_text:
        shown = [(t0, max(t1 - t0, 0.05)) for t0, t1 in lanes.screen_text]
        axis.broken_barh(shown, (y[TEXT_LANE] - 0.3, 0.6), facecolors=SCREEN_TEXT_COLOUR, edgecolors="white",
                         linewidth=0.8)  # texts shown back to back stay apart
    for actor in lanes.actors:
        bars = [(a, max(b - a, 0.05)) for a, b in actor.intervals]
        axis.broken_barh(bars, (y[f"actor {actor.actor_id}"] - 0.3, 0.6), facecolors="#2ca02c")

    axis.set_yticks([y[name] for name in names], names)
    axis.set_xlim(0, duration)
    axis.set_ylim(-0.7, len(names) - 0.3)
    ticks = axis.get_xticks()
    axis.set_xticks(ticks, [format_timestamp(t) for t in ticks])
    axis.set_xlim(0, duration)
    axis.grid(axis="x", alpha=0.3)
    axis.set_xlabel("video time")
    axis.set_title(f"{lanes.name}: {lanes.summary()}", loc="left", fontsize=10)
    legend = [Patch(color=scene_colour(cluster), label=f"scene {cluster}: {label[:40]}")
              for cluster, label in lanes.scene_labels[:10]]  # fmt: skip
    if lanes.shots:
        legend.append(Patch(color=SHOT_COLOUR, label="shot boundary"))
    used = sorted({t.reason for t in lanes.triggers})
    legend += [Patch(color=REASON_COLOURS.get(r, "black"), label=f"trigger: {r.replace('_', ' ')}") for r in used]
    if legend:
        axis.legend(handles=legend, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    figure.tight_layout()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out_path)
    plt.close(figure)
    return out_path
