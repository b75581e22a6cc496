"""The stored format of the actor graph: networkx node-link JSON, versioned by GRAPH_VERSION; a missing,
damaged or foreign file raises MemoryCorrupt on loading."""

from __future__ import annotations

from pathlib import Path

import networkx as nx

from core.errors import MemoryCorrupt
from memory.layout import read_json, write_json_atomic

GRAPH_VERSION = 3  # 3: object nodes from the objects stage (coco:<track id>)


def save_graph(graph: nx.MultiDiGraph, path: Path) -> None:
    """Write the graph as networkx node-link JSON, atomically."""
    write_json_atomic(Path(path), nx.node_link_data(graph, edges="edges"))


def load_graph(path: Path) -> nx.MultiDiGraph:
    """Read a graph written by `save_graph`; a missing, damaged or foreign file raises MemoryCorrupt."""
    path = Path(path)
    try:
        data = read_json(path)
    except OSError as error:
        raise MemoryCorrupt(
            f"{path}: actor graph cannot be read ({error.strerror or error}); re-ingest the video"
        ) from error
    try:
        graph = nx.node_link_graph(data, directed=True, multigraph=True, edges="edges")
        version = graph.graph["version"]
        _check_nodes(graph)
    except (KeyError, TypeError, ValueError, AttributeError, nx.NetworkXError) as error:
        raise MemoryCorrupt(
            f"{path}: actor graph is damaged ({error.__class__.__name__}); re-ingest the video"
        ) from error
    if not isinstance(graph, nx.MultiDiGraph) or version != GRAPH_VERSION:
        raise MemoryCorrupt(f"{path}: actor graph has an unknown format (version {version!r}); re-ingest the video")
    return graph


def _check_nodes(graph: nx.MultiDiGraph) -> None:
    """Raise KeyError/TypeError/ValueError when a node lacks what the queries read."""
    for _, data in graph.nodes(data=True):
        if data["kind"] == "speech":
            float(data["t0"]), float(data["t1"]), str(data["text"]), float(data["speaker_confidence"])
        else:
            [(float(a), float(b)) for a, b in data["intervals"]]
            [(float(t), float(x), float(y)) for t, x, y in data["trajectory"]]
            float(data["screen_time"]), float(data["keyframe"])
