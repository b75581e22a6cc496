"""The objects stage's share of the visual pass: the COCO detector runs on its frames in a background thread,
overlapped with the pass's other models (its runtime, TFLite on XNNPACK, releases the GIL), and its output is
written as the stage's file and one search row per track. Where the person detector is itself a COCO model (the
real profile's YOLO), its tracks of other classes are the objects: one pass serves both.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from memory.ingest.indexing import index_texts

if TYPE_CHECKING:
    from core.types import ObjectSightings, Track, VideoRef
    from memory.store import VectorStore
    from memory.video_memory import VideoMemory
    from models.adapters.objects import ObjectDetector
    from models.cache import ModelCache

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
    """The stage file's content (tracks and per-frame sightings) and its summary from the COCO TFLite's pass."""
    objects.drain()
    tracking = objects.tracking
    tracks, sightings = tracking.finish()
    summary = {"model": tracking.detector.spec.description, "detector_seconds": round(tracking.seconds, 3)}
    return _outputs(tracks, sightings, summary, store, embedder, ref, run_id)


def objects_of_tracks(
    tracks: Sequence[Track], times: Sequence[float], detector: Any, store: VectorStore, embedder: Any | None,
    ref: VideoRef, run_id: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The same from a COCO person detector's tracks (one pass served people and objects: no second detector)."""
    from perception.object_tracking import objects_from_tracks

    found, sightings = objects_from_tracks(tracks, times, list(detector.names.values()))
    summary = {"model": f"{detector.spec.description}, the person detector's own pass", "detector_seconds": 0.0}
    return _outputs(found, sightings, summary, store, embedder, ref, run_id)


def _outputs(
    tracks: Sequence[Track], sightings: ObjectSightings, summary: dict[str, Any], store: VectorStore,
    embedder: Any | None, ref: VideoRef, run_id: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The stage file (tracks, per-frame sightings) and summary; one text row per track (its class name, embedded)
    goes into the `objects` collection for library search."""
    data = {"tracks": [t.to_dict() for t in tracks], "sightings": sightings.to_dict()}
    summary = {**summary, "frames": len(sightings.times), "tracks": len(tracks), "labels": sorted(sightings.counts)}
    if embedder is not None and tracks:
        index = index_texts(store, embedder, ref, run_id, "objects", [(t.t0, t.t1, t.label) for t in tracks])
        summary.update(collection=index["collection"], rows=index["rows"], embedder=index["model"])
    return data, summary


def stage_output(
    objects: BackgroundObjects | None, tracks: Sequence[Track] | None, memory: VideoMemory, models: ModelCache,
    store: VectorStore, run_id: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The objects stage's file content and summary: the COCO TFLite's pass; else, where the person detector is a
    COCO model, its tracks (this pass's `tracks`, else those in memory) on its sampling grid; else disabled."""
    from models.adapters.video import sample_times

    embedder = models.text_embedder()
    if objects is not None:
        return object_outputs(objects, store, embedder, memory.ref, run_id)
    if models.plan.detector_sees_objects() and (detector := models.detector()) is not None:
        times = sample_times(memory.ref.duration, memory.settings.detector_fps)
        found = tracks if tracks is not None else memory.raw_tracks()
        return objects_of_tracks(found, times, detector, store, embedder, memory.ref, run_id)
    return {"tracks": [], "sightings": None}, {"disabled": True}
