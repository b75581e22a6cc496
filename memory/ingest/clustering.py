"""Cross-temporal scene clustering: stretches of video grouped by what they show, across the whole timeline.

A scene that recurs (shown, then others, then shown again with another framing) lands in one cluster however
far apart its appearances are, so a question about it finds all of them. What is clustered are shot pieces:
the timeline cut at every segment edge and at every shot boundary (cut or dissolve, never budgeted), so each
piece shows one shot. Whole segments would not do: a segment with a cut inside pools two shots, and a mix of
two photos is close to both, which glued a narrated slideshow's photos into two scenes.

Pieces are compared by how they look (`perception.scene_distance`: colour AND texture AND layout, and CLIP
when loaded). Speech does not decide scenes, it names them: a place shown twice is narrated differently each
time, and lines about related things go with different places, so even a small share of text in the distance
glued different photos together. Agglomerative clustering with average linkage; the number of clusters is
chosen by silhouette score unless the settings fix it, and a video whose best split is not clearly better than
none stays one scene. Each segment takes the cluster of the piece that covers most of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.types import format_timestamp
from memory.records import ClusterResult, SceneCluster
from memory.segments import speech_within
from perception.scene_distance import appearance_distances
from perception.triggers import shot_boundaries

CLUSTERING_VERSION = 4  # 3: showings cut at every shot boundary; 4: shot pieces, colour AND texture AND layout, no text
MIN_PIECE_S = 0.5
"""A piece shorter than this (a segment edge just before or after a cut) joins its neighbour in the same shot:
two or three frames are too few to describe it. A whole shot this short stays a piece of its own."""
MIN_SILHOUETTE = 0.25
"""Below this best silhouette score the video counts as one scene (no split is convincing)."""
SILHOUETTE_TOLERANCE = 0.03
"""The fewest clusters whose silhouette is within this fraction of the best win: a reframed showing of a
scene is far closer to it than other scenes are, but not identical, and splitting it off barely changes the
score (0.955 either way on the recurring-scene video); a real scene boundary raises it by more (0.74 to 0.91 on
the sample video, 3 to 4 scenes)."""
MIN_SCENE_DISTANCE = 0.5
"""Pieces closer than this (in descriptor scales, average linkage) are never split into two scenes. Measured on the
slideshows: pieces of one shot differ by 0.34 at the median, showings of one photo by 0.64, different photos by 12
(the closest pair, gravel and grass, by 1.2)."""
MAX_CLUSTERS = 24
LABEL_CHARS = 120


@dataclass(frozen=True)
class Piece:
    """A stretch [t0, t1) inside one shot, and the segment it overlaps most."""

    t0: float
    t1: float
    segment: int


def shot_pieces(bounds: Sequence[tuple[float, float]], boundaries: Sequence[float] = ()) -> list[Piece]:
    """The segments cut at every shot boundary inside them, in time order. A piece shorter than MIN_PIECE_S joins
    the piece before or after it when no shot boundary lies between them."""
    if not bounds:
        return []
    cuts = {round(float(b), 3) for b in boundaries if bounds[0][0] < b < bounds[-1][1]}
    edges = sorted({float(t) for span in bounds for t in span} | cuts)
    spans: list[list[float]] = []
    for t0, t1 in zip(edges, edges[1:]):
        if t1 <= t0:
            continue
        previous_short = bool(spans) and spans[-1][1] - spans[-1][0] < MIN_PIECE_S
        if spans and t0 not in cuts and (t1 - t0 < MIN_PIECE_S or previous_short):
            spans[-1][1] = t1
        else:
            spans.append([t0, t1])
    return [Piece(t0, t1, _most_overlapped(bounds, t0, t1)) for t0, t1 in spans]


def _most_overlapped(bounds: Sequence[tuple[float, float]], t0: float, t1: float) -> int:
    overlaps = [min(t1, s1) - max(t0, s0) for s0, s1 in bounds]
    return int(np.argmax(overlaps))


def choose_clusters(
    distances: np.ndarray, fixed: int | None = None
) -> tuple[np.ndarray, float | None, str, dict[int, float]]:
    """Cluster ids (0..k-1, numbered by first appearance) from a distance matrix, the silhouette, how k was
    chosen, and the silhouette per k tried."""
    count = len(distances)
    if count < 3 or not np.isfinite(distances).all():
        return np.zeros(count, dtype=np.int64), None, "too few pieces", {}
    from sklearn.metrics import silhouette_score

    distances = np.clip((distances + distances.T) / 2.0, 0.0, None)
    np.fill_diagonal(distances, 0.0)
    if fixed is not None:
        labels = _agglomerative(distances, min(fixed, count))
        score = float(silhouette_score(distances, labels, metric="precomputed")) if 1 < len(set(labels)) < count else None
        return _by_first_appearance(labels), score, "settings", {}
    distinct = _distinct_groups(distances)
    if distinct < 2:
        return np.zeros(count, dtype=np.int64), None, "one scene (all pieces alike)", {}
    scores: dict[int, float] = {}
    candidates: dict[int, np.ndarray] = {}
    for k in range(2, min(MAX_CLUSTERS, count - 1, distinct) + 1):
        labels = _agglomerative(distances, k)
        if len(set(labels)) < 2:
            continue
        scores[k] = round(float(silhouette_score(distances, labels, metric="precomputed")), 4)
        candidates[k] = labels
    if not scores or max(scores.values()) < MIN_SILHOUETTE:
        best = max(scores.values()) if scores else None
        return np.zeros(count, dtype=np.int64), best, "one scene (no convincing split)", scores
    top = max(scores.values())
    k = min(k for k, score in scores.items() if score >= top * (1.0 - SILHOUETTE_TOLERANCE))
    return _by_first_appearance(candidates[k]), scores[k], "silhouette", scores


def _distinct_groups(distances: np.ndarray) -> int:
    """How many groups remain once every pair closer than MIN_SCENE_DISTANCE (average linkage) is merged."""
    from sklearn.cluster import AgglomerativeClustering

    model = AgglomerativeClustering(
        n_clusters=None, metric="precomputed", linkage="average", distance_threshold=MIN_SCENE_DISTANCE
    )
    return int(model.fit(distances).n_clusters_)


def _agglomerative(distances: np.ndarray, k: int) -> np.ndarray:
    from sklearn.cluster import AgglomerativeClustering

    model = AgglomerativeClustering(n_clusters=k, metric="precomputed", linkage="average")
    return model.fit_predict(distances)


def _by_first_appearance(labels: np.ndarray) -> np.ndarray:
    """Renumber clusters 0, 1, 2... in the order their first piece appears."""
    mapping: dict[int, int] = {}
    for label in labels:
        mapping.setdefault(int(label), len(mapping))
    return np.array([mapping[int(label)] for label in labels], dtype=np.int64)


def showings(
    pieces: Sequence[Piece], labels: Sequence[int], boundaries: Sequence[float] = ()
) -> list[tuple[float, float, int]]:
    """The timeline as (t0, t1, cluster) showings: runs of one cluster's pieces, cut at every shot boundary."""
    cuts = {round(float(b), 3) for b in boundaries}
    runs: list[tuple[float, float, int]] = []
    for piece, label in zip(pieces, labels):
        if runs and runs[-1][2] == int(label) and round(piece.t0, 3) not in cuts:
            runs[-1] = (runs[-1][0], piece.t1, int(label))
        else:
            runs.append((piece.t0, piece.t1, int(label)))
    return runs


def segment_labels(bounds: Sequence[tuple[float, float]], pieces: Sequence[Piece], labels: Sequence[int]) -> list[int]:
    """Each segment's cluster: that of the piece covering most of it."""
    result = []
    for s0, s1 in bounds:
        overlaps = [min(s1, p.t1) - max(s0, p.t0) for p in pieces]
        result.append(int(labels[int(np.argmax(overlaps))]))
    return result


def showing_texts(
    memory: Any, runs: Sequence[tuple[float, float, int]], bounds: Sequence[tuple[float, float]]
) -> list[str]:
    """What each showing says and is described as: its speech, then the captions of the segments it mostly covers
    (unless random models wrote them: their words mean nothing)."""
    spans = memory.transcript()
    meaningful = not memory.summary("captions").get("random_weights", False)
    captions = {c.index: c for c in memory.captions()} if meaningful else {}
    texts = []
    for t0, t1, _ in runs:
        parts = [speech_within(spans, t0, t1)]
        for index, (s0, s1) in enumerate(bounds):
            caption = captions.get(index)
            if caption is not None and min(t1, s1) - max(t0, s0) >= 0.5 * (s1 - s0):
                parts += [caption.dense, caption.caption]
        texts.append(" ".join(p for p in parts if p).strip())
    return texts


def build_clusters(
    labels: np.ndarray,
    distances: np.ndarray,
    pieces: Sequence[Piece],
    runs: Sequence[tuple[float, float, int]],
    texts: Sequence[str],
    keyframes: Sequence[float],
) -> list[SceneCluster]:
    """Clusters with their showings (`runs`, see `showings`), the segments they are shown in, their most central
    piece (least mean distance to the rest) and a label (`texts`: what each showing says)."""
    clusters = []
    for cluster_id in range(int(labels.max()) + 1 if len(labels) else 0):
        members = [int(i) for i in np.flatnonzero(labels == cluster_id)]
        central = members[int(np.argmin(distances[np.ix_(members, members)].mean(axis=1)))]
        shown = [(index, run) for index, run in enumerate(runs) if run[2] == cluster_id]
        segments = tuple(sorted({pieces[m].segment for m in members}))
        chosen = [central] + [m for m in members if m != central][:3]
        frames = tuple(_keyframe_in(pieces[m], keyframes[pieces[m].segment]) for m in chosen)
        spans = tuple((t0, t1) for _, (t0, t1, _) in shown)
        home = next(i for i, (t0, t1, _) in shown if t0 <= pieces[central].t0 < t1)
        label = _label(home, [i for i, _ in shown], texts, spans)
        clusters.append(SceneCluster(cluster_id, label, segments, spans, pieces[central].segment, frames))
    return clusters


def _keyframe_in(piece: Piece, keyframe: float) -> float:
    """The segment's keyframe when it lies in the piece, else the piece's middle."""
    return keyframe if piece.t0 <= keyframe < piece.t1 else round((piece.t0 + piece.t1) / 2, 3)


def _label(home: int, shown: list[int], texts: Sequence[str], spans: Sequence[tuple[float, float]]) -> str:
    """The text of the showing that holds the central piece (or the nearest showing with text), else a time label."""
    for index in sorted(shown, key=lambda i: abs(i - home)):
        if texts[index]:
            text = texts[index]
            return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 3].rstrip() + "..."
    where = ", ".join(f"{format_timestamp(a)}-{format_timestamp(b)}" for a, b in spans[:4])
    return f"shown {where}{', ...' if len(spans) > 4 else ''}"


def cluster_video(memory: Any, fixed: int | None = None) -> ClusterResult:
    """Cluster one video's shot pieces by how they look, label each scene by what its showings say, and give
    each segment the scene of the piece that covers most of it."""
    segments = memory.segments()
    bounds = [(s.t0, s.t1) for s in segments]
    features = memory.frame_features()
    boundaries = shot_boundaries(features)
    pieces = shot_pieces(bounds, boundaries)
    spans = [(p.t0, p.t1) for p in pieces]
    clip_times, clip_vectors = memory.frame_vectors()
    distances = appearance_distances(features, spans, clip_times, clip_vectors)
    labels, silhouette, chosen_by, scores = choose_clusters(distances.matrix, fixed)
    runs = showings(pieces, [int(v) for v in labels], boundaries)
    texts = showing_texts(memory, runs, bounds)
    clusters = build_clusters(labels, distances.matrix, pieces, runs, texts, [s.keyframe for s in segments])
    rounded = round(silhouette, 4) if silhouette is not None else None
    return ClusterResult(segment_labels(bounds, pieces, labels), clusters, descriptor=distances.descriptor,
                         silhouette=rounded, chosen_by=chosen_by, scores=scores, boundaries=boundaries)  # fmt: skip
