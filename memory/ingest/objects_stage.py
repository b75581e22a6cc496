"""The objects stage's share of the visual pass: the COCO detector runs on its frames in a background thread,
overlapped with the pass's other models (its runtime, TFLite on XNNPACK, releases the GIL), and its output is
written as the stage's file and one search row per track.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from memory.ingest.indexing import index_texts

if TYPE_CHECKING:
    from core.types import VideoRef
    from memory.store import VectorStore
    from models.adapters.objects import ObjectDetector

MAX_QUEUED = 2
"""Batches handed to the detector thread and not yet done: one running, one waiting, so it is never idle."""


class BackgroundObjects:
    """Object tracking fed in time order from the visual pass, one batch at a time on one worker thread."""

    def __init__(self, detector: ObjectDetector) -> None:
        from perception.object_tracking import ObjectTracking

        self.tracking = ObjectTracking(detector)
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="vidsage-objects")
        self._queued: list[Future[Any]] = []

    def submit(self, times: np.ndarray, frames: np.ndarray) -> None:
        """Queue a batch (the arrays must not change afterwards: the pass hands over masked copies). With
        MAX_QUEUED batches waiting, wait for the oldest first: a detector slower than decoding must not pile up
        a long video's frames in memory."""
        while len(self._queued) >= MAX_QUEUED:
            self._queued.pop(0).result()
        self._queued.append(self._worker.submit(self.tracking.update, times, frames))

    def drain(self) -> None:
        """Wait for every queued batch; a failure in one is raised here, in the pass's thread."""
        queued, self._queued = self._queued, []
        for future in queued:
            future.result()

    def snapshot(self) -> dict[str, Any]:
        self.drain()
        return self.tracking.snapshot()

    def restore(self, state: dict[str, Any]) -> None:
        self.tracking.restore(state)

    def close(self) -> None:
        """Stop the worker; batches not started are dropped (the pass failed or was interrupted)."""
        self._worker.shutdown(wait=True, cancel_futures=True)


def object_outputs(
    objects: BackgroundObjects, store: VectorStore, embedder: Any | None, ref: VideoRef, run_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The stage file's content (tracks and per-frame sightings) and its summary; one text row per track (its
    class name, embedded) goes into the `objects` collection for library search."""
    objects.drain()
    tracking = objects.tracking
    tracks, sightings = tracking.finish()
    data = {"tracks": [t.to_dict() for t in tracks], "sightings": sightings.to_dict()}
    summary: dict[str, Any] = {"model": tracking.detector.spec.description, "frames": len(sightings.times),
                               "tracks": len(tracks), "labels": sorted(sightings.counts),
                               "detector_seconds": round(tracking.seconds, 3)}  # fmt: skip
    if embedder is not None and tracks:
        index = index_texts(store, embedder, ref, run_id, "objects", [(t.t0, t.t1, t.label) for t in tracks])
        summary.update(collection=index["collection"], rows=index["rows"], embedder=index["model"])
    return data, summary
