"""Searches over one video's memory that return timestamped Evidence.

Transcript search fuses BM25 (keywords, numbers normalised) with dense text-embedding similarity
by reciprocal rank fusion; a span is a candidate only if it shares a content word with the query
or is semantically close, so an unrelated question gets no evidence rather than a weak guess.
"""

from __future__ import annotations

import numpy as np

from core.types import Actor, Evidence, format_timestamp
from memory.store import VectorStore, run_filter
from memory.text_search import bm25_scores, content_tokens, reciprocal_rank_fusion
from memory.video_memory import VideoMemory
from models.cache import ModelCache

DENSE_MIN_SIMILARITY = 0.35
"""all-MiniLM-L6-v2 cosine above which a transcript span counts as about the query (paraphrases
score 0.4-0.7, unrelated sentences below 0.2)."""
SCREEN_TEXT_MIN_SIMILARITY = 0.5
"""The same for on-screen text: short reads ("HOME", "AWAY") score 0.35-0.45 against unrelated queries, so
meaning alone needs more; words found in the letters rank them anyway."""
VISUAL_MIN_SIMILARITY = 0.22
"""CLIP ViT-B-32 text-image cosine above which a segment counts as showing the query."""


def _dense_similarities(
    memory: VideoMemory, stage: str, query: str, models: ModelCache, count: int, model_key: str = "model"
) -> dict[int, float]:
    """Item index -> cosine similarity from a stage's text vectors in Chroma (the transcript's, the screen text's)."""
    summary = memory.summary(stage)
    run_id = memory.run_id(stage)
    embedder = models.text_embedder()
    if not summary.get("collection") or run_id is None or embedder is None:
        return {}
    if summary.get(model_key) != embedder.spec.description:
        return {}
    vector = embedder.encode([query])[0]
    store = VectorStore(memory.settings)
    hits = store.query(summary["collection"], vector, count, run_filter(memory.video_id, run_id))
    return {int(hit.metadata["span"]): hit.similarity for hit in hits}


def _hybrid_best(
    texts: list[str],
    dense: dict[int, float],
    query: str,
    starts: list[float],
    top_k: int,
    spaced: bool = True,
    min_similarity: float = DENSE_MIN_SIMILARITY,
) -> tuple[list[int], dict[int, float]]:
    """The `top_k` best items by keywords and meaning fused, and the fused scores. Text that may have lost its
    spaces (`spaced=False`: OCR often reads "MAIN STREET" as "MAINSTREET") also ranks by query words found
    inside its letters."""
    keyword = bm25_scores(query, texts)
    keyword_rank = [int(i) for i in np.argsort(-keyword, kind="stable") if keyword[i] > 0]
    dense_rank = [i for i, s in sorted(dense.items(), key=lambda kv: -kv[1]) if s >= min_similarity]
    rankings = [keyword_rank, dense_rank]
    if not spaced:
        rankings.append(_letters_rank(query, texts))
    fused = reciprocal_rank_fusion(rankings)
    return sorted(fused, key=lambda i: (-fused[i], starts[i]))[:top_k], fused


def _letters_rank(query: str, texts: list[str]) -> list[int]:
    """Texts holding the query's words within their letters (spaces and punctuation ignored, and 0 read as O: OCR
    confuses them in monospace fonts), most words first."""
    words = [w.replace("0", "o") for w in content_tokens(query) if len(w) >= 3]
    squeezed = ["".join(ch for ch in text.lower() if ch.isalnum()).replace("0", "o") for text in texts]
    hits = {i: sum(w in letters for w in words) for i, letters in enumerate(squeezed)}
    return [i for i, n in sorted(hits.items(), key=lambda kv: -kv[1]) if n > 0]


def search_transcript(memory: VideoMemory, query: str, models: ModelCache, top_k: int = 5) -> list[Evidence]:
    """The transcript spans about `query`, best first."""
    spans = memory.transcript()
    if not spans:
        return []
    dense = _dense_similarities(memory, "transcript_index", query, models, len(spans))
    best, fused = _hybrid_best([span.text for span in spans], dense, query, [span.t0 for span in spans], top_k)
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


def search_screen_text(memory: VideoMemory, query: str, models: ModelCache, top_k: int = 5) -> list[Evidence]:
    """The on-screen texts about `query` (titles, captions, signs), best first, by keywords and meaning."""
    items = memory.screen_text()
    if not items:
        return []
    dense = _dense_similarities(memory, "ocr", query, models, len(items), model_key="embedder")
    texts, starts = [item.text for item in items], [item.t0 for item in items]
    best, fused = _hybrid_best(texts, dense, query, starts, top_k, spaced=False, min_similarity=SCREEN_TEXT_MIN_SIMILARITY)
    return [screen_text_evidence(memory, i, score=round(fused[i], 5)) for i in best]


def screen_text_evidence(memory: VideoMemory, index: int, score: float = 1.0) -> Evidence:
    """Evidence of one on-screen text item: what it says and while it is shown."""
    item = memory.screen_text()[index]
    return Evidence(kind="screen_text", video_id=memory.video_id, t0=item.t0, t1=item.t1, text=item.text,
                    score=score, source="", keyframe=round((item.t0 + item.t1) / 2, 3))  # fmt: skip


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
