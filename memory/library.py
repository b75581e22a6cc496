"""The library: every video ingested under one data dir, searched together or filtered to a few.

Chroma collections (one per kind and embedding model; each row's metadata names its video and the
run that wrote it, and readers keep only the runs the manifests name):

| collection            | one row per                 | embedding              | metadata                                   |
|-----------------------|-----------------------------|------------------------|--------------------------------------------|
| `segments-<model>`    | 4 s segment                 | TempMe CLIP vector     | video_id, run_id, segment, t0, t1, keyframe |
| `transcript-<model>`  | speech span (a sentence)    | text embedder          | video_id, run_id, span, t0, t1              |
| `captions-<model>`    | clip or dense caption       | text embedder          | video_id, run_id, segment, t0, t1, kind     |
| `actors-<model:dim>`  | actor (re-identified person)| appearance descriptor  | video_id, run_id, actor_id, label, t0, t1,  |
|                       |                             | (CLIP crops or colour) | screen_time, keyframe                       |

Row ids are `<video_id>:<run_id>:<n>` (the video id is the file's content hash; `n` counts in time
order). Hybrid search runs every channel that exists (CLIP text->image, text vectors of speech and
captions, BM25 over speech and captions), applies the filters (videos, time range, actors on
screen) and fuses the rankings by reciprocal rank fusion.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import InvalidRequest
from core.settings import Settings
from core.types import Evidence, format_timestamp
from memory.layout import DataLayout, read_json, write_json_atomic
from memory.locks import hash_cache_lock, video_lock
from memory.manifest import STAGES, Manifest
from memory.retrieval import DENSE_MIN_SIMILARITY, SCREEN_TEXT_MIN_SIMILARITY, VISUAL_MIN_SIMILARITY
from memory.store import VectorStore
from memory.text_search import KeywordIndex, reciprocal_rank_fusion
from memory.video_memory import VideoMemory
from models.cache import ModelCache

CANDIDATES = 50
"""Results each channel contributes before fusion."""
MAX_CACHED_ROWS = 200_000
"""Up to this many rows a collection's vectors are searched exactly in memory (a 10k-row matrix product
takes ~1 ms where a filtered Chroma query takes 15-70 ms); beyond it, Chroma's HNSW index answers."""


class _RowCache:
    """The rows of one collection for a set of (video, run), as a unit-vector matrix, loaded once."""

    def __init__(self, store: VectorStore, name: str, runs: dict[str, str]) -> None:
        embeddings, self.documents, self.metadatas = store.rows(name, {"video_id": {"$in": sorted(runs)}})
        keep = [i for i, m in enumerate(self.metadatas) if runs.get(m.get("video_id")) == m.get("run_id")]
        self.documents = [self.documents[i] for i in keep]
        self.metadatas = [self.metadatas[i] for i in keep]
        matrix = embeddings[keep] if len(keep) else np.zeros((0, embeddings.shape[1] if embeddings.ndim == 2 else 0))
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        self.matrix = (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32)
        import torch  # the query encoders' thread pool: numpy's BLAS threads would spin against it

        self._tensor = torch.from_numpy(self.matrix)
        self.t0 = np.array([float(m["t0"]) for m in self.metadatas], dtype=np.float64)
        self.t1 = np.array([float(m["t1"]) for m in self.metadatas], dtype=np.float64)

    def nearest(self, vector: np.ndarray, k: int, t_range: tuple[float, float] | None) -> list[tuple[int, float]]:
        """(row, cosine) of the k nearest rows overlapping t_range, best first."""
        if not len(self.metadatas):
            return []
        import torch

        query = vector.astype(np.float32) / max(float(np.linalg.norm(vector)), 1e-12)
        with torch.inference_mode():
            scores = torch.mv(self._tensor, torch.from_numpy(query)).numpy().astype(np.float64)
        if t_range is not None:
            scores = np.where((self.t0 <= t_range[1]) & (self.t1 >= t_range[0]), scores, -np.inf)
        count = min(k, int(np.isfinite(scores).sum()))
        if count == 0:
            return []
        best = np.argpartition(-scores, count - 1)[:count]
        return [(int(i), float(scores[i])) for i in best[np.argsort(-scores[best], kind="stable")]]


@dataclass(frozen=True)
class Item:
    """One searchable thing: a segment, a speech span or a caption of one video."""

    kind: str
    video_id: str
    t0: float
    t1: float
    text: str
    keyframe: float


OBJECT_MIN_SIMILARITY = 0.6
"""Least cosine of a query to an object row (a class name) for it to be a hit: "a mug" finds the cup rows, a
sentence about a bridge does not."""


@dataclass(frozen=True)
class SearchFilter:
    """Which rows a search may return: videos (ids), a time range (seconds), actors or object classes on screen
    (rows overlapping the on-screen intervals passed to `admits`)."""

    videos: tuple[str, ...] | None = None
    t_range: tuple[float, float] | None = None
    actors: tuple[int, ...] | None = None
    objects: tuple[str, ...] | None = None

    def admits(self, item: Item, intervals: dict[str, list[tuple[float, float]]]) -> bool:
        if self.videos is not None and item.video_id not in self.videos:
            return False
        if self.t_range is not None and not (item.t0 <= self.t_range[1] and item.t1 >= self.t_range[0]):
            return False
        if self.actors is not None or self.objects is not None:
            return any(a <= item.t1 and b >= item.t0 for a, b in intervals.get(item.video_id, []))
        return True


def _intersect(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> list[tuple[float, float]]:
    return [(max(x0, y0), min(x1, y1)) for x0, x1 in a for y0, y1 in b if max(x0, y0) <= min(x1, y1)]


class Library:
    """All videos under `settings.data_dir`; caches the keyword index until a manifest changes."""

    def __init__(self, settings: Settings, models: ModelCache | None = None) -> None:

        self.settings = settings
        self.layout = DataLayout(settings.data_dir)
        self.models = models or ModelCache.for_settings(settings)
        self._memories: dict[str, VideoMemory] = {}
        self._stamps: dict[str, int] = {}
        self._keyword: tuple[tuple[Any, ...], list[Item], KeywordIndex] | None = None
        self._rows: dict[tuple[str, tuple[tuple[str, str], ...]], _RowCache] = {}
        self._store: VectorStore | None = None

    # --- videos -----------------------------------------------------------------------------------

    def video_ids(self, *, unfinished: bool = False) -> list[str]:
        """Ids of the videos search and questions may read (complete or stale); with `unfinished`, every one."""
        ids = self.layout.video_ids()
        return ids if unfinished else [i for i in ids if self.memory(i).manifest.searchable]

    def states(self) -> dict[str, str]:
        """Video id -> complete, unfinished or stale (complete under settings older than the current ones)."""
        from memory.ingest.stage_keys import stage_keys

        keys = stage_keys(self.settings, self.models.plan)
        return {i: self.memory(i).manifest.state(keys) for i in self.layout.video_ids()}

    def memory(self, video_id: str) -> VideoMemory:
        """The memory of one video, reloaded when its manifest changed on disk."""
        path = self.layout.manifest(video_id)
        stamp = path.stat().st_mtime_ns if path.is_file() else -1
        if video_id not in self._memories or self._stamps.get(video_id) != stamp:
            manifest = Manifest.load(self.layout, video_id)
            if manifest is None:
                raise InvalidRequest(f"no video with id {video_id} in {self.settings.data_dir}")
            self._memories[video_id] = VideoMemory(self.settings, manifest)
            self._stamps[video_id] = stamp
        return self._memories[video_id]

    def memories(self, *, unfinished: bool = False) -> list[VideoMemory]:
        return [self.memory(video_id) for video_id in self.video_ids(unfinished=unfinished)]

    def searchable(self, reference: str) -> str:
        """The id of a video search may read; an unfinished one is refused, naming what to run."""
        video_id = self.resolve(reference)
        memory = self.memory(video_id)
        if not memory.manifest.searchable:
            raise InvalidRequest(
                f"{memory.ref.path}: its ingest never finished (stages missing: "
                f"{', '.join(s for s in STAGES if s not in memory.manifest.stages)}); run `main.py ingest` on it"
            )
        return video_id

    def resolve(self, reference: str) -> str:
        """A video id from a path of an ingested file, an id, or a unique id prefix or file name."""
        ids = self.video_ids(unfinished=True)
        if reference in ids:
            return reference
        path = Path(reference).expanduser()
        if path.is_file():
            return VideoMemory.for_path(self.settings, path).video_id
        matches = [i for i in ids if i.startswith(reference)] or [
            i for i in ids if self.memory(i).ref.path.name == reference or str(self.memory(i).ref.path) == reference
        ]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise InvalidRequest(f"{reference}: no such video in the library at {self.settings.data_dir}")
        raise InvalidRequest(f"{reference}: matches {len(matches)} videos ({', '.join(matches[:4])}); be more exact")

    # --- search -----------------------------------------------------------------------------------

    @property
    def store(self) -> VectorStore:
        if self._store is None:
            self._store = VectorStore(self.settings)
        return self._store

    def search(
        self,
        query: str,
        *,
        videos: Sequence[str] | None = None,
        t_range: tuple[float, float] | None = None,
        actors: Sequence[int] | None = None,
        objects: Sequence[str] | None = None,
        top_k: int = 10,
    ) -> list[Evidence]:
        """Hybrid search (CLIP, text vectors, BM25; fused by RRF) over the library or the given videos; `actors`
        (ids) and `objects` (class names, in the user's words: "mug" is a cup) keep what is shown while they are."""
        if not query.strip():
            raise InvalidRequest("an empty search query")
        if top_k < 1:
            raise InvalidRequest(f"top_k must be at least 1, got {top_k}")
        chosen = tuple(self.searchable(v) for v in videos) if videos else tuple(self.video_ids())
        memories = [self.memory(v) for v in chosen]
        flt = SearchFilter(chosen, t_range, tuple(actors) if actors else None, tuple(objects) if objects else None)
        intervals = self._actor_intervals(memories, flt.actors) if flt.actors else {}
        if flt.objects:
            shown = self._object_intervals(memories, flt.objects)
            intervals = shown if not flt.actors else {v: _intersect(intervals.get(v, []), s) for v, s in shown.items()}
        rankings: list[list[Item]] = []
        rankings += self._vector_channels(query, memories, flt, intervals)
        rankings.append(self._keyword_channel(query, memories, flt, intervals))
        order: dict[Item, int] = {}
        for ranking in rankings:
            for item in ranking:
                order.setdefault(item, len(order))
        items = list(order)
        fused = reciprocal_rank_fusion([[order[i] for i in ranking] for ranking in rankings])
        best = sorted(fused, key=lambda i: (-fused[i], items[i].video_id, items[i].t0))[:top_k]
        return [
            Evidence(kind=items[i].kind, video_id=items[i].video_id, t0=items[i].t0, t1=items[i].t1,
                     text=items[i].text, score=round(fused[i], 5), source="search_memory",
                     keyframe=items[i].keyframe)
            for i in best
        ]  # fmt: skip

    def _actor_intervals(
        self, memories: list[VideoMemory], actor_ids: tuple[int, ...]
    ) -> dict[str, list[tuple[float, float]]]:
        """Per video, the on-screen intervals of the named actors (ids are per video)."""
        found: dict[str, list[tuple[float, float]]] = {}
        for memory in memories:
            known = {a.actor_id: a for a in memory.actors()}
            found[memory.video_id] = [tuple(i) for a in actor_ids if a in known for i in known[a].intervals]  # type: ignore[misc]
        if not any(found.values()):
            raise InvalidRequest(f"no actor {', '.join(map(str, actor_ids))} in the chosen videos")
        return found

    def _object_intervals(self, memories: list[VideoMemory], words: tuple[str, ...]) -> dict[str, list[tuple[float, float]]]:
        """Per video, when the object classes `words` name are shown (memory.objects' showings)."""
        from memory.objects import ObjectVocabulary, appearances

        found: dict[str, list[tuple[float, float]]] = {}
        named: set[str] = set()
        for memory in memories:
            sightings = memory.object_sightings()
            if sightings is None:
                continue
            labels = ObjectVocabulary(sightings.classes, self.models.text_embedder()).match(" ".join(words).split())
            named.update(labels)
            found[memory.video_id] = [(a.t0, a.t1) for label in labels
                                      for a in appearances(sightings, label, memory.shot_cuts())]  # fmt: skip
        if not named:
            raise InvalidRequest(f"no object class the detector knows matches {', '.join(words)!r} in the chosen videos")
        return found

    def _vector_channels(
        self, query: str, memories: list[VideoMemory], flt: SearchFilter, intervals: dict[str, list[tuple[float, float]]]
    ) -> list[list[Item]]:
        """Nearest rows per vector collection (CLIP segments, text vectors of speech and captions)."""
        channels: list[list[Item]] = []
        clip = self.models.clip() if any(m.summary("segments").get("collection") for m in memories) else None
        embedder = self.models.text_embedder()
        wanted = [
            ("segments", "segment", clip, VISUAL_MIN_SIMILARITY if clip is not None and clip.spec.source != "tiny" else -1.0, "model"),
            ("transcript_index", "transcript", embedder, DENSE_MIN_SIMILARITY, "model"),
            ("captions", "caption", embedder, DENSE_MIN_SIMILARITY, "model"),
            ("ocr", "screen_text", embedder, SCREEN_TEXT_MIN_SIMILARITY, "embedder"),
            ("objects", "object", embedder, OBJECT_MIN_SIMILARITY, "embedder"),
        ]  # fmt: skip
        vectors: dict[int, np.ndarray] = {}
        for stage, kind, model, minimum, model_key in wanted:
            if model is None:
                continue
            by_collection: dict[str, dict[str, str]] = {}
            for memory in memories:
                summary, run_id = memory.summary(stage), memory.run_id(stage)
                if summary.get("collection") and run_id and summary.get(model_key, model.spec.description) == model.spec.description:
                    by_collection.setdefault(summary["collection"], {})[memory.video_id] = run_id
            for collection, runs in by_collection.items():
                if id(model) not in vectors:
                    encode = model.encode_texts if kind == "segment" else model.encode
                    vectors[id(model)] = encode([query])[0]
                ranking = []
                for meta, document, similarity in self._nearest(collection, runs, vectors[id(model)], flt.t_range):
                    if runs.get(meta.get("video_id")) != meta.get("run_id") or similarity < minimum:
                        continue
                    item = _item(kind, meta, document)
                    if flt.admits(item, intervals):
                        ranking.append(item)
                if ranking:
                    channels.append(ranking)
        return channels

    def _nearest(
        self, collection: str, runs: dict[str, str], vector: np.ndarray, t_range: tuple[float, float] | None
    ) -> list[tuple[dict[str, Any], str, float]]:
        """(metadata, document, cosine) of the nearest rows: exact in memory for collections that fit, else HNSW."""
        key = (collection, tuple(sorted(runs.items())))
        if key not in self._rows and self.store.count(collection) > MAX_CACHED_ROWS:
            hits = self.store.query(collection, vector, CANDIDATES, _where(runs, t_range))
            return [(hit.metadata, hit.document, hit.similarity) for hit in hits]
        cache = self._rows_of(collection, runs)
        return [(cache.metadatas[i], cache.documents[i], score) for i, score in cache.nearest(vector, CANDIDATES, t_range)]

    def _rows_of(self, collection: str, runs: dict[str, str]) -> _RowCache:
        """The in-memory rows of a collection for these (video, run) pairs, loaded once."""
        key = (collection, tuple(sorted(runs.items())))
        if key not in self._rows:
            self._rows = {k: v for k, v in self._rows.items() if k[0] != collection}  # runs changed: drop the old
            self._rows[key] = _RowCache(self.store, collection, runs)
        return self._rows[key]

    def _keyword_channel(
        self, query: str, memories: list[VideoMemory], flt: SearchFilter, intervals: dict[str, list[tuple[float, float]]]
    ) -> list[Item]:
        """BM25 over the speech and captions of the chosen videos (index cached per set of runs)."""
        key = tuple(
            (m.video_id, m.run_id("transcript"), m.run_id("ocr"), m.run_id("captions"), m.summary("captions").get("random_weights"))
            for m in memories
        )
        if self._keyword is None or self._keyword[0] != key:
            items = [item for memory in memories for item in _text_items(memory)]
            self._keyword = (key, items, KeywordIndex([i.text for i in items]))
        _, items, index = self._keyword
        ranking = []
        for position in index.top(query, CANDIDATES * 4):
            if flt.admits(items[position], intervals):
                ranking.append(items[position])
                if len(ranking) == CANDIDATES:
                    break
        return ranking

    def similar_actors(
        self, video: str, actor_id: int, *, videos: Sequence[str] | None = None, top_k: int = 5
    ) -> list[Evidence]:
        """The actors of other videos (or `videos`) who look most like actor `actor_id` of `video`."""
        source = self.memory(self.resolve(video))
        record = source.manifest.stages.get("graph")
        collection = record.summary.get("collection") if record else None
        known = {a.actor_id for a in source.actors()}
        if actor_id not in known:
            raise InvalidRequest(f"no actor {actor_id} in {source.ref.path.name} (actors: {sorted(known) or 'none'})")
        if not collection:
            return []
        chosen = [self.searchable(v) for v in videos] if videos else [v for v in self.video_ids() if v != source.video_id]
        runs = {v: run for v in chosen if (run := self.memory(v).run_id("graph"))}
        runs[source.video_id] = source.run_id("graph")  # type: ignore[assignment]
        cache = self._rows_of(collection, runs)
        mine = [i for i, m in enumerate(cache.metadatas) if m["video_id"] == source.video_id and m["actor_id"] == actor_id]
        if not mine:
            return []
        hits = []
        for row, similarity in cache.nearest(cache.matrix[mine[0]], len(cache.metadatas), None):
            meta = cache.metadatas[row]
            if meta["video_id"] == source.video_id or meta["video_id"] not in chosen:
                continue
            hits.append(Evidence(kind="actor", video_id=meta["video_id"], t0=float(meta["t0"]), t1=float(meta["t1"]),
                                 text=cache.documents[row], score=round(similarity, 4), source="similar_actors",
                                 keyframe=float(meta["keyframe"])))  # fmt: skip
            if len(hits) == top_k:
                break
        return hits

    # --- scenes -----------------------------------------------------------------------------------

    def query_semantic_memory(self, text: str, top_k: int = 5, videos: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """The seed's call: the scene clusters best matching `text`, each with the hits that put it there."""
        hits = self.search(text, videos=videos, top_k=max(top_k * 4, 20))
        scenes: dict[tuple[str, int], dict[str, Any]] = {}
        for hit in hits:
            memory = self.memory(hit.video_id)
            result = memory.clusters()
            index = _segment_at(memory, (hit.t0 + hit.t1) / 2)
            if index is None or index >= len(result.labels):
                continue
            cluster = result.clusters[result.labels[index]]
            entry = scenes.setdefault(
                (hit.video_id, cluster.cluster_id),
                {"video_id": hit.video_id, "video_path": str(memory.ref.path), "cluster_id": cluster.cluster_id,
                 "label": cluster.label, "spans": [list(s) for s in cluster.spans], "score": 0.0, "evidence": []},
            )  # fmt: skip
            entry["score"] = round(entry["score"] + hit.score, 5)
            entry["evidence"].append(hit.to_dict())
        return sorted(scenes.values(), key=lambda s: -s["score"])[:top_k]

    # --- library management ----------------------------------------------------------------------

    def remove(self, reference: str) -> str:
        """Delete one video's memory: its vector rows, files and remembered hashes; other videos untouched."""
        video_id = self.resolve(reference)
        memory = self.memory(video_id)
        with video_lock(self.layout, video_id):  # never under a running ingest of the same video
            for record in memory.manifest.stages.values():
                collection = record.summary.get("collection")
                if collection:
                    self.store.delete_stale(collection, video_id, None)
            directory = self.layout.video_dir(video_id)
            trash = directory.with_name(f".removing-{video_id}")
            directory.rename(trash)  # the manifest disappears first, so a crash never leaves a half video visible
            shutil.rmtree(trash, ignore_errors=True)
        self._forget_hashes(memory.ref.content_hash)
        self._memories.pop(video_id, None)
        self._keyword = None
        self._rows.clear()
        return video_id

    def _forget_hashes(self, content_hash: str) -> None:
        with hash_cache_lock(self.layout):
            if not self.layout.hash_cache.is_file():
                return
            cache = read_json(self.layout.hash_cache)
            kept = {path: entry for path, entry in cache.items() if entry.get("hash") != content_hash}
            if len(kept) != len(cache):
                write_json_atomic(self.layout.hash_cache, kept)

    def listing(self) -> list[dict[str, Any]]:
        """One row per video, unfinished ones too: id, state, path, duration, size, what memory holds."""
        rows = []
        states = self.states()
        for memory in self.memories(unfinished=True):
            ref, stages = memory.ref, memory.manifest.stages
            rows.append({
                "video_id": memory.video_id, "state": states[memory.video_id], "path": str(ref.path),
                "duration": round(ref.duration, 3),
                "width": ref.width, "height": ref.height, "segments": len(memory.segments()),
                "speech_spans": len(memory.transcript()), "actors": len(memory.actors()),
                "triggers": len(memory.triggers()), "scenes": memory.clusters().count,
                "stages": sorted(stages), "ingested_at": max((r.completed_at for r in stages.values()), default=None),
            })  # fmt: skip
        return rows

    def stats(self) -> dict[str, Any]:
        """Totals over the library and the disk it takes."""
        rows = self.listing()
        size = sum(p.stat().st_size for p in self.settings.data_dir.rglob("*") if p.is_file()) if self.settings.data_dir.is_dir() else 0
        return {
            "data_dir": str(self.settings.data_dir), "videos": len(rows),
            "hours": round(sum(r["duration"] for r in rows) / 3600, 4),
            "segments": sum(r["segments"] for r in rows), "speech_spans": sum(r["speech_spans"] for r in rows),
            "actors": sum(r["actors"] for r in rows), "triggers": sum(r["triggers"] for r in rows),
            "scenes": sum(r["scenes"] for r in rows), "disk_bytes": size,
        }  # fmt: skip


def _where(runs: dict[str, str], t_range: tuple[float, float] | None) -> dict[str, Any]:
    """Chroma filter: the chosen videos (their current runs are checked after), overlapping the time range."""
    clauses: list[dict[str, Any]] = [{"video_id": {"$in": sorted(runs)}}]
    if t_range is not None:
        clauses += [{"t0": {"$lte": float(t_range[1])}}, {"t1": {"$gte": float(t_range[0])}}]
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _item(kind: str, meta: dict[str, Any], document: str) -> Item:
    t0, t1 = float(meta["t0"]), float(meta["t1"])
    if kind == "segment":
        text = f"segment [{format_timestamp(t0)}]-[{format_timestamp(t1)}] looks like the query"
        return Item(kind, meta["video_id"], t0, t1, text, float(meta.get("keyframe", (t0 + t1) / 2)))
    if kind == "caption" and meta.get("kind") == "dense":
        kind = "dense_caption"
    return Item(kind, meta["video_id"], t0, t1, document, round((t0 + t1) / 2, 3))


def _text_items(memory: VideoMemory) -> list[Item]:
    """Speech spans, text on screen and (meaningful) captions of one video, as keyword-searchable items."""
    items = [Item("transcript", memory.video_id, s.t0, s.t1, s.text, round((s.t0 + s.t1) / 2, 3)) for s in memory.transcript()]
    items += [Item("screen_text", memory.video_id, i.t0, i.t1, i.text, round((i.t0 + i.t1) / 2, 3))
              for i in memory.screen_text()]  # fmt: skip
    if not memory.summary("captions").get("random_weights", False):
        for caption in memory.captions():
            middle = round((caption.t0 + caption.t1) / 2, 3)
            if caption.caption:
                items.append(Item("caption", memory.video_id, caption.t0, caption.t1, caption.caption, middle))
            if caption.dense:
                items.append(Item("dense_caption", memory.video_id, caption.t0, caption.t1, caption.dense, middle))
    return items


def _segment_at(memory: VideoMemory, t: float) -> int | None:
    for segment in memory.segments():
        if segment.t0 <= t < segment.t1:
            return segment.index
    segments = memory.segments()
    return segments[-1].index if segments and t >= segments[-1].t0 else None
