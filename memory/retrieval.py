"""Searches over one video's memory that return timestamped Evidence.

Transcript search fuses BM25 (keywords, numbers normalised) with dense text-embedding similarity
by reciprocal rank fusion; a span is a candidate only if it shares a content word with the query
or is semantically close, so an unrelated question gets no evidence rather than a weak guess.
"""

from __future__ import annotations

import numpy as np

from core.types import Actor, Evidence, format_timestamp
from memory.store import VectorStore, run_filter
from memory.text_search import bm25_scores, reciprocal_rank_fusion
from memory.video_memory import VideoMemory
from models.cache import ModelCache

DENSE_MIN_SIMILARITY = 0.35
"""all-MiniLM-L6-v2 cosine above which a transcript span counts as about the query (paraphrases
score 0.4-0.7, unrelated sentences below 0.2)."""
VISUAL_MIN_SIMILARITY = 0.22
"""CLIP ViT-B-32 text-image cosine above which a segment counts as showing the query."""


def _dense_similarities(memory: VideoMemory, query: str, models: ModelCache, count: int) -> dict[int, float]:
    """Span index -> cosine similarity from the transcript vectors in Chroma."""
    summary = memory.summary("transcript_index")
    run_id = memory.run_id("transcript_index")
    embedder = models.text_embedder()
    if not summary.get("collection") or run_id is None or embedder is None:
        return {}
    if summary.get("model") != embedder.spec.description:
        return {}
    vector = embedder.encode([query])[0]
    store = VectorStore(memory.settings)
    hits = store.query(summary["collection"], vector, count, run_filter(memory.video_id, run_id))
    return {int(hit.metadata["span"]): hit.similarity for hit in hits}


def search_transcript(memory: VideoMemory, query: str, models: ModelCache, top_k: int = 5) -> list[Evidence]:
    """The transcript spans about `query`, best first."""
    spans = memory.transcript()
    if not spans:
        return []
    keyword = bm25_scores(query, [span.text for span in spans])
    dense = _dense_similarities(memory, query, models, len(spans))
    keyword_rank = [int(i) for i in np.argsort(-keyword, kind="stable") if keyword[i] > 0]
    dense_rank = [i for i, s in sorted(dense.items(), key=lambda kv: -kv[1]) if s >= DENSE_MIN_SIMILARITY]
    fused = reciprocal_rank_fusion([keyword_rank, dense_rank])
    best = sorted(fused, key=lambda i: (-fused[i], spans[i].t0))[:top_k]
    return [
        Evidence(
            kind="transcript",
            video_id=memory.video_id,
            t0=spans[i].t0,
            t1=spans[i].t1,
            text=spans[i].text,
            score=round(fused[i], 5),
            source="",
            keyframe=round((spans[i].t0 + spans[i].t1) / 2, 3),
        )
        for i in best
    ]


def search_segments(memory: VideoMemory, query: str, models: ModelCache, top_k: int = 5) -> list[Evidence]:
    """Segments whose pooled CLIP vector matches the text `query` (needs CLIP)."""
    summary = memory.summary("segments")
    run_id = memory.run_id("segments")
    clip = models.clip()
    if clip is None or run_id is None or not summary.get("collection") or summary.get("model") != clip.spec.description:
        return []
    vector = clip.encode_texts([query])[0]
    store = VectorStore(memory.settings)
    hits = store.query(summary["collection"], vector, top_k, run_filter(memory.video_id, run_id))
    minimum = VISUAL_MIN_SIMILARITY if clip.spec.source != "tiny" else -1.0
    return [
        Evidence(
            kind="segment",
            video_id=memory.video_id,
            t0=float(hit.metadata["t0"]),
            t1=float(hit.metadata["t1"]),
            text=f"looks like {query!r} (CLIP similarity {hit.similarity:.2f})",
            score=round(hit.similarity, 4),
            source="",
            keyframe=float(hit.metadata["keyframe"]),
        )
        for hit in hits
        if hit.similarity >= minimum
    ]


def describe_actor(actor: Actor) -> str:
    """One line about an actor: who, every on-screen interval, and what they do."""
    spans = ", ".join(f"[{format_timestamp(a)}]-[{format_timestamp(b)}]" for a, b in actor.intervals)
    text = f"{actor.label} (actor {actor.actor_id}) on screen {spans}"
    moves = [b for b in actor.behaviours if b.t1 - b.t0 > 0]
    if moves:
        text += "; " + ", ".join(
            f"{b.label.replace('_', ' ')} [{format_timestamp(b.t0)}]-[{format_timestamp(b.t1)}]" for b in moves[:4]
        )
    return text
