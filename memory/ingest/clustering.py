"""Cross-temporal scene clustering: segments grouped by what they show and say, across the whole timeline.

A scene that recurs (shown, then others, then shown again with another framing) lands in one
cluster however far apart its appearances are, so a question about it finds all of them. Each
segment is described by its visual vector (CLIP segment vectors, or without CLIP the colour
histogram of its frames, Hellinger-mapped) joined with a lighter text vector (its speech and
captions, embedded). Agglomerative clustering with average linkage on cosine distance; the
number of clusters is chosen by silhouette score unless the settings fix it, and a video whose
best split is not clearly better than none stays one scene. Each scene's showings are cut at every
shot boundary (cut or dissolve, never budgeted), so the scene list shows the video's whole structure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from core.types import format_timestamp
from memory.records import ClusterResult, SceneCluster
from memory.segments import speech_within
from perception.triggers import segment_index, shot_boundaries

CLUSTERING_VERSION = 3  # 3: showings cut at every shot boundary
TEXT_WEIGHT = 0.3
"""Share of the squared descriptor norm given to the text part when a segment has speech or captions."""
MIN_SILHOUETTE = 0.25
"""Below this best silhouette score the video counts as one scene (no split is convincing)."""
SILHOUETTE_TOLERANCE = 0.03
"""The fewest clusters whose silhouette is within this fraction of the best win: a reframed showing of a
scene is far closer to it than other scenes are, but not identical, and splitting it off barely raises
the score (2% on the recurring-scene video); a real scene boundary raises it by more (10% on the sample)."""
MIN_SCENE_DISTANCE = 0.02
"""Segments closer than this (cosine distance, average linkage) are never split into two scenes: within one
shot segments differ by ~0.003, a reframed showing of the same place by ~0.05, different places by 0.2+."""
MAX_CLUSTERS = 24
LABEL_CHARS = 120


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


def visual_descriptors(memory: Any, bounds: list[tuple[float, float]]) -> tuple[np.ndarray | None, str]:
    """(segments, D) unit visual vectors: CLIP frame vectors pooled per segment joined with the segment's
    colour histogram (Hellinger-mapped); either alone when the other is missing."""
    parts, kinds = [], []
    times, vectors = memory.frame_vectors()
    if vectors is not None and len(vectors):
        parts.append(_pool(times, vectors, bounds, hellinger=False))
        kinds.append("clip")
    features = memory.frame_features()
    if len(features):
        parts.append(_pool(features.times, features.hists, bounds, hellinger=True))
        kinds.append("hsv-histogram")
    if not parts:
        return None, "none"
    return np.concatenate(parts, axis=1) / np.sqrt(len(parts)), "+".join(kinds)


def _pool(times: np.ndarray, rows: np.ndarray, bounds: list[tuple[float, float]], hellinger: bool) -> np.ndarray:
    """Mean of the rows whose time falls in each segment (nearest row for an empty segment), unit length."""
    pooled = np.zeros((len(bounds), rows.shape[1]), dtype=np.float64)
    for index, (t0, t1) in enumerate(bounds):
        inside = (times >= t0) & (times < t1)
        chosen = rows[inside] if inside.any() else rows[[int(np.argmin(np.abs(times - (t0 + t1) / 2)))]]
        pooled[index] = chosen.mean(axis=0)
    if hellinger:
        pooled = np.sqrt(np.clip(pooled, 0.0, None))
    return _unit_rows(pooled)


def segment_texts(memory: Any, bounds: list[tuple[float, float]]) -> list[str]:
    """What each segment says and is described as: its speech, then its captions (unless random models
    wrote them: their words mean nothing and would only scatter the clusters)."""
    spans = memory.transcript()
    meaningful = not memory.summary("captions").get("random_weights", False)
    captions = {c.index: c for c in memory.captions()} if meaningful else {}
    texts = []
    for index, (t0, t1) in enumerate(bounds):
        caption = captions.get(index)
        parts = [speech_within(spans, t0, t1)]
        if caption is not None:
            parts += [caption.dense, caption.caption]
        texts.append(" ".join(p for p in parts if p).strip())
    return texts


def descriptors(visual: np.ndarray | None, text: np.ndarray | None, has_text: np.ndarray) -> np.ndarray:
    """Visual and text parts joined; the text part weighs TEXT_WEIGHT where a segment has text, nothing elsewhere."""
    parts = []
    if visual is not None:
        parts.append(visual * np.sqrt(1.0 - (TEXT_WEIGHT if text is not None else 0.0)))
    if text is not None:
        parts.append(_unit_rows(text) * np.sqrt(TEXT_WEIGHT if visual is not None else 1.0) * has_text[:, None])
    return np.concatenate(parts, axis=1) if parts else np.zeros((len(has_text), 0))


def choose_clusters(
    vectors: np.ndarray, fixed: int | None = None
) -> tuple[np.ndarray, float | None, str, dict[int, float]]:
    """Cluster ids (0..k-1, numbered by first appearance), the silhouette, how k was chosen, scores per k."""
    count = len(vectors)
    if count < 3 or not np.isfinite(vectors).all() or vectors.shape[1] == 0:
        return np.zeros(count, dtype=np.int64), None, "too few segments", {}
    from sklearn.metrics import silhouette_score

    distances = np.clip(1.0 - _unit_rows(vectors) @ _unit_rows(vectors).T, 0.0, 2.0)
    np.fill_diagonal(distances, 0.0)
    if fixed is not None:
        labels = _agglomerative(distances, min(fixed, count))
        score = float(silhouette_score(distances, labels, metric="precomputed")) if 1 < len(set(labels)) < count else None
        return _by_first_appearance(labels), score, "settings", {}
    distinct = _distinct_groups(distances)
    if distinct < 2:
        return np.zeros(count, dtype=np.int64), None, "one scene (all segments alike)", {}
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
    """Renumber clusters 0, 1, 2... in the order their first segment appears."""
    mapping: dict[int, int] = {}
    for label in labels:
        mapping.setdefault(int(label), len(mapping))
    return np.array([mapping[int(label)] for label in labels], dtype=np.int64)


def showings(
    bounds: list[tuple[float, float]], labels: Sequence[int], boundaries: Sequence[float] = ()
) -> list[tuple[float, float, int]]:
    """The timeline as (t0, t1, cluster) showings: runs of one cluster's segments, cut at every shot boundary.

    A boundary inside a segment splits it; the smaller piece is part of the neighbouring segment's shot,
    so it takes that segment's cluster (unless a boundary lies between them too).
    """
    if not bounds:
        return []
    cuts = {round(float(b), 3) for b in boundaries if bounds[0][0] < b < bounds[-1][1]}
    edges = sorted({t for span in bounds for t in span} | cuts)
    pieces: list[tuple[float, float, int]] = []
    for t0, t1 in zip(edges, edges[1:]):
        index = segment_index(bounds, (t0 + t1) / 2)
        s0, s1 = bounds[index]
        label = int(labels[index])
        if t1 - t0 < 0.5 * (s1 - s0) and (t0 == s0 or t1 == s1):
            neighbour, junction = (index - 1, s0) if t0 == s0 else (index + 1, s1)
            if 0 <= neighbour < len(bounds) and junction not in cuts:
                label = int(labels[neighbour])
        if pieces and pieces[-1][2] == label and t0 not in cuts:
            pieces[-1] = (pieces[-1][0], t1, label)
        else:
            pieces.append((t0, t1, label))
    return pieces


def build_clusters(
    labels: np.ndarray,
    vectors: np.ndarray,
    bounds: list[tuple[float, float]],
    texts: list[str],
    keyframes: list[float],
    boundaries: Sequence[float] = (),
) -> list[SceneCluster]:
    """Clusters with their showings (cut at shot boundaries), most central segment (highest mean similarity
    to the rest) and label."""
    pieces = showings(bounds, [int(v) for v in labels], boundaries)
    clusters = []
    unit = _unit_rows(vectors) if vectors.shape[1] else vectors
    for cluster_id in range(int(labels.max()) + 1 if len(labels) else 0):
        members = [int(i) for i in np.flatnonzero(labels == cluster_id)]
        if unit.shape[1]:
            block = unit[members] @ unit[members].T
            central = members[int(np.argmax(block.mean(axis=1)))]
        else:
            central = members[len(members) // 2]
        spans = [(t0, t1) for t0, t1, label in pieces if label == cluster_id]
        clusters.append(
            SceneCluster(
                cluster_id, _label(cluster_id, central, members, texts, spans), tuple(members), tuple(spans), central,
                tuple(keyframes[i] for i in [central] + [m for m in members if m != central][:3]),
            )
        )  # fmt: skip
    return clusters


def _label(cluster_id: int, central: int, members: list[int], texts: list[str], spans: list[tuple[float, float]]) -> str:
    """The central segment's caption or speech (or the nearest member's that has text), else a time label."""
    for index in [central] + sorted(members, key=lambda m: abs(m - central)):
        if texts[index]:
            text = texts[index]
            return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 3].rstrip() + "..."
    where = ", ".join(f"{format_timestamp(a)}-{format_timestamp(b)}" for a, b in spans[:4])
    return f"shown {where}{', ...' if len(spans) > 4 else ''}"


def cluster_video(memory: Any, models: Any, fixed: int | None = None) -> ClusterResult:
    """Cluster one video's segments (the text embedder, when present, reads speech and captions) and cut
    their showings at every shot boundary."""
    segments = memory.segments()
    bounds = [(s.t0, s.t1) for s in segments]
    keyframes = [s.keyframe for s in segments]
    visual, visual_kind = visual_descriptors(memory, bounds)
    texts = segment_texts(memory, bounds)
    has_text = np.array([bool(t) for t in texts], dtype=np.float64)
    embedder = models.text_embedder() if has_text.any() else None
    text_vectors = None
    if embedder is not None:
        text_vectors = np.zeros((len(bounds), embedder.dim), dtype=np.float64)
        chosen = [i for i, t in enumerate(texts) if t]
        text_vectors[chosen] = embedder.encode([texts[i] for i in chosen])
    vectors = descriptors(visual, text_vectors, has_text)
    labels, silhouette, chosen_by, scores = choose_clusters(vectors, fixed)
    kind = visual_kind + ("+text" if text_vectors is not None else "")
    boundaries = shot_boundaries(memory.frame_features())
    clusters = build_clusters(labels, vectors, bounds, texts, keyframes, boundaries)
    rounded = round(silhouette, 4) if silhouette is not None else None
    return ClusterResult([int(v) for v in labels], clusters, descriptor=kind, silhouette=rounded,
                         chosen_by=chosen_by, scores=scores, boundaries=boundaries)  # fmt: skip
