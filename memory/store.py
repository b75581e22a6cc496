"""The Chroma vector store: embedded PersistentClient under the data dir, or a Chroma server.

Every row carries `video_id` and `run_id` metadata; readers filter on the run id the manifest
names, so rows of an unfinished or superseded run are never seen and are swept on the next write.
Embeddings are always passed in (no embedding function); telemetry is off.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import BackendUnreachable
from core.settings import Settings
from memory.layout import DataLayout, private_data_dir
from memory.store_errors import damaged_store, store_failures

_ADD_BATCH = 1000


@dataclass(frozen=True)
class VectorHit:
    """One nearest-neighbour result: row id, cosine similarity, document and metadata."""

    id: str
    similarity: float
    document: str
    metadata: dict[str, Any]


def collection_name(kind: str, model_key: str) -> str:
    """One collection per (kind, embedding model), so vector spaces of different models never mix."""
    return f"{kind}-{hashlib.sha256(model_key.encode()).hexdigest()[:12]}"


_OPEN_LOCK = threading.Lock()


class VectorStore:
    """Thin typed wrapper over a Chroma client."""

    def __init__(self, settings: Settings) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        self._local: DataLayout | None = None
        """The data dir of an embedded store, whose writes other processes must not interleave with."""
        if settings.chroma_url:
            from urllib.parse import urlparse

            url = urlparse(settings.chroma_url)
            try:
                self._client = chromadb.HttpClient(
                    host=url.hostname or "127.0.0.1",
                    port=url.port or 8000,
                    ssl=url.scheme == "https",
                    settings=chroma_settings,
                )
                self._client.heartbeat()
            except Exception as error:  # chromadb raises ValueError/ConnectionError/httpx errors
                raise BackendUnreachable(f"Chroma server {settings.chroma_url} does not answer ({error})") from error
        else:
            self._local = DataLayout(settings.data_dir)
            path = self._local.chroma_dir
            private_data_dir(path.parent)  # the data dir itself: 0700 before anything is written in it
            path.mkdir(parents=True, exist_ok=True)
            try:
                # chromadb's shared client cache is not safe to fill from two threads at once, and two processes
                # creating one new store race in its migrations ("table collections already exists")
                with _OPEN_LOCK, self._writing():
                    self._client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
            except Exception as error:  # a damaged sqlite file or index surfaces as various errors
                raise damaged_store(path, error, "opened") from error

    def _collection(self, name: str) -> Any:
        with store_failures(self._client, self._local):
            return self._client.get_or_create_collection(
                name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
            )

    def add(
        self,
        name: str,
        ids: Sequence[str],
        embeddings: np.ndarray,
        documents: Sequence[str],
        metadatas: Sequence[dict[str, Any]],
    ) -> None:
        """Upsert rows in batches."""
        with self._writing():
            collection = self._collection(name)
            for start in range(0, len(ids), _ADD_BATCH):
                stop = start + _ADD_BATCH
                collection.upsert(
                    ids=list(ids[start:stop]),
                    embeddings=embeddings[start:stop].astype(np.float32).tolist(),
                    documents=list(documents[start:stop]),
                    metadatas=list(metadatas[start:stop]),
                )

    def _writing(self) -> AbstractContextManager[None]:
        """Writes to an embedded store hold the data dir's store lock: two processes writing one embedded
        Chroma at once lose vectors from its HNSW index (seen: 2,400 of 3,000 rows findable by query)."""
        if self._local is None:
            return nullcontext()
        from memory.locks import store_lock

        return store_lock(self._local)

    def query(self, name: str, embedding: np.ndarray, top_k: int, where: dict[str, Any]) -> list[VectorHit]:
        """Nearest rows to one query vector among those matching `where`."""
        collection = self._collection(name)
        with store_failures(self._client, self._local):
            count = collection.count()
            if count == 0:
                return []
            result = collection.query(
                query_embeddings=[embedding.astype(np.float32).tolist()],
                n_results=min(top_k, count),
                where=where,
                include=["distances", "documents", "metadatas"],
            )
        hits: list[VectorHit] = []
        for row_id, distance, document, metadata in zip(
            result["ids"][0], result["distances"][0], result["documents"][0], result["metadatas"][0]
        ):
            hits.append(VectorHit(row_id, 1.0 - float(distance), document or "", dict(metadata or {})))
        return hits

    def count(self, name: str) -> int:
        """Rows in a collection (all videos, all runs)."""
        collection = self._collection(name)
        with store_failures(self._client, self._local):
            return int(collection.count())

    def rows(self, name: str, where: dict[str, Any]) -> tuple[np.ndarray, list[str], list[dict[str, Any]]]:
        """Every row matching `where`: (embeddings (N, D) float32, documents, metadatas), for an in-memory index."""
        collection = self._collection(name)
        with store_failures(self._client, self._local):
            result = collection.get(where=where, include=["embeddings", "documents", "metadatas"])
        embeddings = np.asarray(result["embeddings"] if result["embeddings"] is not None else [], dtype=np.float32)
        documents = [d or "" for d in (result["documents"] or [])]
        return embeddings, documents, [dict(m or {}) for m in (result["metadatas"] or [])]

    def fingerprint(self, name: str, video_id: str, run_id: str) -> dict[str, Any]:
        """What one run of one video holds in a collection: its row count and a digest of ids and documents,
        so a reader can tell the rows the manifest promises from rows lost or changed since."""
        collection = self._collection(name)
        with store_failures(self._client, self._local):
            result = collection.get(where=run_filter(video_id, run_id), include=["documents"])
        pairs = sorted(zip(result["ids"], [d or "" for d in (result["documents"] or [])]))
        digest = hashlib.sha256()
        for row_id, document in pairs:
            digest.update(row_id.encode() + b"\0" + document.encode() + b"\0")
        return {"collection": name, "count": len(pairs), "digest": digest.hexdigest()}

    def delete_stale(self, name: str, video_id: str, keep_run_id: str | None) -> None:
        """Remove a video's rows except those of `keep_run_id` (all of them when None)."""
        where: dict[str, Any] = {"video_id": video_id}
        if keep_run_id is not None:
            where = {"$and": [{"video_id": video_id}, {"run_id": {"$ne": keep_run_id}}]}
        with self._writing():
            self._collection(name).delete(where=where)


def run_filter(video_id: str, run_id: str) -> dict[str, Any]:
    """The `where` clause selecting one video's rows of one completed run."""
    return {"$and": [{"video_id": video_id}, {"run_id": run_id}]}
