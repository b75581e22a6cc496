"""A picture of an actor graph: people and objects as nodes, who was with whom as edges, as a PNG.

People are blue circles labelled "actor N" with their screen time (and how often they came back),
objects are orange squares; node area grows with screen time. Co-presence edges are grey, wider for
longer, labelled with the seconds together; sustained close interactions are red dashed arcs; returns
after an absence are purple loops; speech edges (dotted green) go from one "speech" node to the people
who were the likely speaker of at least one line. Nodes sit on a circle in order of first appearance,
which stays readable from 2 to ~30 actors; with many edges only the longest get a label.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch

from core.types import format_timestamp

if TYPE_CHECKING:
    import networkx as nx

    from memory.actor_graph.query import ActorGraph

ACTOR_COLOUR = "#4a7fc1"
OBJECT_COLOUR = "#e69b3a"
SPEECH_COLOUR = "#3a9a5b"
EDGE_STYLES: dict[str, dict[str, Any]] = {
    "spatial": {"color": "#8a8a8a", "linestyle": "-", "label": "on screen together (seconds)"},
    "interaction": {"color": "#d0453a", "linestyle": "--", "label": "close interaction (seconds)"},
    "temporal": {"color": "#8a4fb5", "linestyle": "-", "label": "loop: left and came back"},
    "speech": {"color": SPEECH_COLOUR, "linestyle": ":", "label": "likely speaker of some lines"},
}
MAX_EDGE_LABELS = 24
"""Only the longest co-presence edges (and half as many interactions) are labelled when there are more."""
LABEL_SPOTS = (0.5, 0.38, 0.62)
"""Where along a co-presence edge its label goes (by rank, cycling)."""
SHOW_FIRST_UP_TO = 10
"""With this many nodes or fewer, co-presence labels also say when the two were first together."""
MAX_EDGES = 90
"""At most this many edges of one kind are drawn (the longest); the title says when some were left out."""
DPI = 110


def _as_graph(graph: nx.MultiDiGraph | ActorGraph) -> nx.MultiDiGraph:
    """The networkx graph itself, or the one an ActorGraph wraps."""
    return graph if hasattr(graph, "nodes") else graph.graph  # type: ignore[union-attr]


def _layout(nodes: list[str]) -> dict[str, tuple[float, float]]:
    """Nodes on a circle in the given order, anticlockwise from just left of the top, so the top of the
    circle (where the speech node goes) is between two nodes; one node sits at the centre, two side by side."""
    count = len(nodes)
    if count <= 1:
        return {node: (0.0, 0.0) for node in nodes}
    if count == 2:
        return {nodes[0]: (-1.0, 0.0), nodes[1]: (1.0, 0.0)}
    step = 2 * math.pi / count
    angles = [math.pi / 2 + step / 2 + i * step for i in range(count)]
    return {node: (math.cos(a), math.sin(a)) for node, a in zip(nodes, angles)}


def _curve_mid(a: tuple[float, float], b: tuple[float, float], rad: float) -> tuple[float, float]:
    """Midpoint of matplotlib's arc3 curve from a to b with curvature `rad`."""
    mx, my = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
    dx, dy = b[0] - a[0], b[1] - a[1]
    return mx + rad * dy / 2, my - rad * dx / 2


def _edge(
    ax: Any,
    a: tuple[float, float],
    b: tuple[float, float],
    kind: str,
    width: float,
    rad: float,
    shrink: tuple[float, float],
) -> None:
    style = EDGE_STYLES[kind]
    ax.add_patch(
        FancyArrowPatch(
            a,
            b,
            arrowstyle="-",
            connectionstyle=f"arc3,rad={rad}",
            color=style["color"],
            linestyle=style["linestyle"],
            linewidth=width,
            shrinkA=shrink[0],
            shrinkB=shrink[1],
            alpha=0.85,
            zorder=1,
        )
    )


def _label(ax: Any, xy: tuple[float, float], text: str, colour: str, size: float) -> None:
    ax.text(
        *xy,
        text,
        fontsize=size,
        color=colour,
        ha="center",
        va="center",
        zorder=4,
        bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": colour, "linewidth": 0.6, "alpha": 0.9},
    )


def _strongest(graph: nx.MultiDiGraph, kind: str, pos: dict[str, Any], notes: list[str]) -> list[tuple[str, str, Any]]:
    """Edges of one kind between drawn nodes, longest first; past MAX_EDGES only those, with a note saying so."""
    edges = [(a, b, d) for a, b, d in graph.edges(data=True) if d.get("kind") == kind and a in pos and b in pos]
    edges.sort(key=lambda e: (-float(e[2]["seconds"]), e[0], e[1]))
    if len(edges) > MAX_EDGES:
        notes.append(f"(the {MAX_EDGES} longest of {len(edges)} {kind} edges shown)")
    return edges[:MAX_EDGES]


def _outward(xy: tuple[float, float]) -> tuple[float, float]:
    """Unit vector from the centre through a node (straight down for a node at the centre)."""
    norm = math.hypot(*xy)
    return (xy[0] / norm, xy[1] / norm) if norm > 1e-9 else (0.0, -1.0)


def _node_text(graph: nx.MultiDiGraph, node: str, spoken: int) -> str:
    """`actor N` (or `<label> N` for objects), screen time, visits and lines spoken."""
    data = graph.nodes[node]
    number = data.get("actor_id")
    is_actor = data["kind"] == "actor"
    name = (f"actor {number}" if is_actor else f"{data['label']} {number}") if number is not None else data["label"]
    parts = [f"{float(data['screen_time']):.1f} s"]
    if len(data["intervals"]) > 1:
        parts.append(f"{len(data['intervals'])} visits")
    text = f"{name}\n{', '.join(parts)}"
    return text + (f"\nspoke {spoken} line{'s' * (spoken != 1)}" if spoken else "")


def draw_actor_graph(graph: nx.MultiDiGraph | ActorGraph, out_path: Path | str, title: str = "") -> Path:
    """Draw the graph (a networkx graph from memory.actor_graph, or an ActorGraph) to a PNG; returns its path."""
    graph = _as_graph(graph)
    out_path = Path(out_path)
    people = [n for n, d in graph.nodes(data=True) if d.get("kind") in ("actor", "object")]
    people.sort(key=lambda n: (graph.nodes[n]["intervals"][0][0] if graph.nodes[n]["intervals"] else 0.0, n))
    speech = [d for _, d in graph.nodes(data=True) if d.get("kind") == "speech"]
    count = len(people)
    pos = _layout(people)
    side = min(14.0, 6.0 + 0.3 * count)
    wide = count <= 2
    fig, ax = plt.subplots(figsize=(side + 3.5, 4.5 if wide else side), dpi=DPI)
    ax.set_xlim(-1.6, 1.6)
    ax.set_ylim(-0.65 if wide else -1.45, (1.0 if speech else 0.7) if wide else (1.75 if speech else 1.45))
    ax.set_aspect("equal")
    ax.axis("off")
    fig.canvas.draw()
    pixels_per_unit = ax.transData.transform((1.0, 0.0))[0] - ax.transData.transform((0.0, 0.0))[0]
    points_per_unit = pixels_per_unit * 72.0 / fig.dpi  # marker sizes and offsets are in points
    font = 10 if count <= 10 else 8 if count <= 20 else 7
    longest = max((float(graph.nodes[n]["screen_time"]) for n in people), default=1.0) or 1.0
    base = min(2400.0, (0.55 * points_per_unit * 2 * math.pi / max(count, 3)) ** 2)  # neighbours never touch
    sizes = {n: base * (0.3 + 0.7 * math.sqrt(float(graph.nodes[n]["screen_time"]) / longest)) for n in people}
    radius_pt = {n: math.sqrt(s) / 2 for n, s in sizes.items()}  # scatter sizes are diameters squared, in points

    shown_notes: list[str] = []
    spatial = _strongest(graph, "spatial", pos, shown_notes)
    most = max((float(d["seconds"]) for _, _, d in spatial), default=1.0) or 1.0
    for rank, (a, b, data) in reversed(list(enumerate(spatial))):  # the longest drawn last, on top
        _edge(
            ax, pos[a], pos[b], "spatial", 0.8 + 4.0 * float(data["seconds"]) / most, 0.0, (radius_pt[a], radius_pt[b])
        )
        if rank < MAX_EDGE_LABELS:  # staggered along the edge so crossing edges' labels do not coincide
            t = LABEL_SPOTS[rank % len(LABEL_SPOTS)]
            spot = (pos[a][0] + t * (pos[b][0] - pos[a][0]), pos[a][1] + t * (pos[b][1] - pos[a][1]))
            since = f", from {format_timestamp(float(data['first']))}" if count <= SHOW_FIRST_UP_TO else ""
            _label(ax, spot, f"{float(data['seconds']):.1f} s{since}", "#555555", font - 1)
    for rank, (a, b, data) in enumerate(_strongest(graph, "interaction", pos, shown_notes)):
        _edge(ax, pos[a], pos[b], "interaction", 2.0, 0.3, (radius_pt[a], radius_pt[b]))
        if rank < MAX_EDGE_LABELS // 2:
            _label(
                ax,
                _curve_mid(pos[a], pos[b], 0.3),
                f"close {float(data['seconds']):.1f} s",
                EDGE_STYLES["interaction"]["color"],
                font - 1,
            )

    for node in people:  # a loop on the outer side of each node that left and came back
        if any(d.get("kind") == "temporal" for _, _, d in graph.edges(node, data=True)):
            ox, oy = _outward(pos[node])
            r = radius_pt[node] / points_per_unit
            centre = (pos[node][0] + ox * r * 1.35, pos[node][1] + oy * r * 1.35)
            ax.add_patch(
                Circle(centre, r * 0.5, fill=False, color=EDGE_STYLES["temporal"]["color"], linewidth=2, zorder=2)
            )

    spoken: dict[int, int] = {}
    for data in speech:
        if data.get("speaker") is not None:
            spoken[int(data["speaker"])] = spoken.get(int(data["speaker"]), 0) + 1
    if speech:
        hub = (0.0, 0.75) if wide else (0.0, 1.4)
        for node in people:
            lines = spoken.get(graph.nodes[node].get("actor_id"), 0) if graph.nodes[node]["kind"] == "actor" else 0
            if lines:
                _edge(ax, hub, pos[node], "speech", 1.6, 0.0, (12, radius_pt[node]))
        ax.scatter(*hub, s=500, marker="D", color=SPEECH_COLOUR, zorder=3, edgecolors="white", linewidths=1.5)
        off = sum(1 for d in speech if d.get("speaker") is None)
        text = f"speech: {len(speech)} line{'s' * (len(speech) != 1)}" + (
            f", {off} with nobody on screen" if off else ""
        )
        ax.annotate(
            text,
            hub,
            xytext=(0, 12),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=font,
            color=SPEECH_COLOUR,
            zorder=5,
        )

    for node in people:
        data = graph.nodes[node]
        is_actor = data["kind"] == "actor"
        ax.scatter(
            *pos[node],
            s=sizes[node],
            marker="o" if is_actor else "s",
            zorder=3,
            edgecolors="white",
            linewidths=1.5,
            color=ACTOR_COLOUR if is_actor else OBJECT_COLOUR,
        )
        ox, oy = _outward(pos[node]) if not wide else (0.0, -1.0)
        gap = (
            radius_pt[node]
            * (2.2 if any(d.get("kind") == "temporal" for _, _, d in graph.edges(node, data=True)) else 1.0)
            + 3
        )
        lines = spoken.get(data.get("actor_id"), 0) if is_actor else 0
        ax.annotate(
            _node_text(graph, node, lines),
            pos[node],
            xytext=(ox * gap, oy * gap),
            textcoords="offset points",
            ha="center" if abs(ox) < 0.5 else "left" if ox > 0 else "right",
            va="center" if abs(oy) < 0.5 else "bottom" if oy > 0 else "top",
            fontsize=font,
            fontweight="bold",
            zorder=5,
        )
    if not people:
        ax.text(0, 0, "nobody on screen", ha="center", va="center", fontsize=12, color="#777777")

    handles = [
        Line2D([], [], marker="o", linestyle="", color=ACTOR_COLOUR, markersize=11, label="person (area: screen time)"),
        Line2D([], [], marker="s", linestyle="", color=OBJECT_COLOUR, markersize=10, label="object"),
        Line2D([], [], marker="D", linestyle="", color=SPEECH_COLOUR, markersize=9, label="speech (transcript)"),
        *(
            Line2D([], [], color=s["color"], linestyle=s["linestyle"], linewidth=2.2, label=s["label"])
            for s in EDGE_STYLES.values()
        ),
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9, frameon=False)
    if title or shown_notes:
        ax.set_title("\n".join([title, *shown_notes]).strip(), fontsize=13)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, bbox_inches="tight")
    plt.close(fig)
    return out_path
