"""Rows the ingest adds to the vector store beside its files: caption texts and actor appearances."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from core.types import VideoRef
from memory.store import VectorStore, collection_name
from models.cache import ModelCache


def index_captions(store: VectorStore, models: ModelCache, ref: VideoRef, run_id: str, segments: list[Any]) -> dict[str, Any]:
    """Text-embed the captions into Chroma (one row per caption kind) when a text embedder exists."""
    rows = [
        (s, kind, text) for s in segments for kind, text in (("caption", s.caption), ("dense", s.dense)) if text
    ]
    embedder = models.text_embedder() if rows else None
    if embedder is None:
        return {}
    name = collection_name("captions", embedder.spec.key)
    store.add(
        name,
        ids=[f"{ref.video_id}:{run_id}:{s.index}:{kind}" for s, kind, _ in rows],
        embeddings=embedder.encode([text for _, _, text in rows]),
        documents=[text for _, _, text in rows],
        metadatas=[
            {
                "video_id": ref.video_id,
                "run_id": run_id,
                "segment": s.index,
                "t0": s.t0,
                "t1": s.t1,
                "kind": kind,
            }
            for s, kind, _ in rows
        ],
    )
    return {"collection": name, "rows": len(rows)}


def index_actors(store: VectorStore, models: ModelCache, ref: VideoRef, run_id: str, memory: Any) -> dict[str, Any]:
    """Put each actor's appearance (its tracks' descriptors, weighted by length) in Chroma, so the same
    person can be found in other videos; one collection per descriptor kind and size."""
    from memory.retrieval import describe_actor

    tracks = {t.track_id: t for t in memory.tracks()}
    rows = []
    for actor in memory.actors():
        members = [tracks[i] for i in actor.track_ids if i in tracks and tracks[i].appearance]
        if not members:
            continue
        weights = np.array([len(t.times) for t in members], dtype=np.float64)
        vector = (np.array([t.appearance for t in members], dtype=np.float64) * weights[:, None]).sum(axis=0)
        if np.linalg.norm(vector) > 0:
            rows.append((actor, vector / np.linalg.norm(vector)))
    if not rows:
        return {}
    dim = len(rows[0][1])
    name = collection_name("actors", f"{models.plan.key('clip')}:{dim}")
    store.add(
        name,
        ids=[f"{ref.video_id}:{run_id}:{actor.actor_id}" for actor, _ in rows],
        embeddings=np.stack([vector for _, vector in rows]),
        documents=[describe_actor(actor) for actor, _ in rows],
        metadatas=[
            {
                "video_id": ref.video_id,
                "run_id": run_id,
                "actor_id": actor.actor_id,
                "label": actor.label,
                "t0": actor.t0,
                "t1": actor.t1,
                "screen_time": round(actor.screen_time, 3),
                "keyframe": actor.keyframe if actor.keyframe is not None else actor.t0,
            }
            for actor, _ in rows
        ],
    )
    return {"collection": name, "actors_indexed": len(rows), "appearance_dim": dim}


def index_texts(
    store: VectorStore, embedder: Any, ref: VideoRef, run_id: str, kind: str, items: Sequence[tuple[float, float, str]]
) -> dict[str, Any]:
    """Text-embed timed texts (transcript spans, on-screen text) into the `kind` collection, one row per item
    (`span` = its index in the stage's file), so search can rank them by meaning beside keywords."""
    name = collection_name(kind, embedder.spec.key)
    store.add(
        name,
        ids=[f"{ref.video_id}:{run_id}:{i}" for i in range(len(items))],
        embeddings=embedder.encode([text for _, _, text in items]),
        documents=[text for _, _, text in items],
        metadatas=[
            {"video_id": ref.video_id, "run_id": run_id, "span": i, "t0": t0, "t1": t1}
            for i, (t0, t1, _) in enumerate(items)
        ],
    )
    return {"rows": len(items), "collection": name, "model": embedder.spec.description}


def index_segments(store: VectorStore, clip: Any, ref: VideoRef, run_id: str, records: Sequence[Any], pooled: Any) -> str:
    """The segments' pooled CLIP vectors (TempMe-merged) into the clip model's `segments` collection; its name."""
    name = collection_name("segments", clip.spec.key)
    store.add(
        name,
        ids=[f"{ref.video_id}:{run_id}:{r.index}" for r in records],
        embeddings=pooled,
        documents=["" for _ in records],
        metadatas=[{"video_id": ref.video_id, "run_id": run_id, "segment": r.index, "t0": r.t0, "t1": r.t1,
                    "keyframe": r.keyframe} for r in records],  # fmt: skip
    )
    return name
