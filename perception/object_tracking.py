"""Everyday objects through a video: COCO detections on the sampled frames, tracked with ByteTrack.

The detector (models.adapters.objects) runs on each frame the visual pass hands over; every detection counts for
the frame's per-class counts and scores (`ObjectSightings`: "how many cups at once", "when is a cup shown"), and
ByteTrack (ultralytics' implementation, already the person tracker's) links them into `Track`s with a best
crop. A track keeps the class it was seen as most often; one ByteTrack instance per class keeps a cup from
taking over a bowl's track when the detector wavers between them.
"""

from __future__ import annotations

import time
from argparse import Namespace
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from core.types import ObjectSightings, Track

if TYPE_CHECKING:
    from models.adapters.objects import ObjectBox, ObjectDetector

TRACKER_ARGS = Namespace(
    track_high_thresh=0.35, track_low_thresh=0.2, new_track_thresh=0.35, track_buffer=6, match_thresh=0.8,
    fuse_score=True,
)  # fmt: skip
"""ByteTrack's settings for objects sampled at a few frames a second: a new track needs the detector's own
threshold (models.adapters.objects.MIN_SCORE); a lost track is kept 6 sampled frames (3 s at 2 fps)."""


class _Detections:
    """The detections of one frame in the shape ultralytics' BYTETracker reads (conf, cls, xywh, masks)."""

    def __init__(self, xyxy: np.ndarray, conf: np.ndarray, cls: np.ndarray) -> None:
        self.xyxy, self.conf, self.cls = xyxy, conf, cls

    @property
    def xywh(self) -> np.ndarray:
        centre = (self.xyxy[:, :2] + self.xyxy[:, 2:]) / 2
        return np.concatenate([centre, self.xyxy[:, 2:] - self.xyxy[:, :2]], axis=1)

    def __len__(self) -> int:
        return len(self.conf)

    def __getitem__(self, mask: Any) -> _Detections:
        return _Detections(self.xyxy[mask], self.conf[mask], self.cls[mask])


@dataclass
class _Record:
    labels: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)


class ObjectTracking:
    """Incremental object tracking of one video: `update` with frame batches in time order, then `finish`."""

    def __init__(self, detector: ObjectDetector) -> None:
        self.detector = detector
        self._trackers: dict[str, Any] = {}
        self._records: dict[tuple[str, int], _Record] = {}
        self._times: list[float] = []
        self._counts: list[Counter[str]] = []
        self._scores: list[dict[str, float]] = []
        self._last = -np.inf
        self.seconds = 0.0
        """Wall time spent detecting and tracking (the stage's own share of the visual pass)."""

    def update(self, times: Sequence[float], frames: np.ndarray) -> list[list[ObjectBox]]:
        """Detect on a batch of RGB uint8 frames (N, H, W, 3) at `times` (increasing); returns each frame's boxes."""
        times = [float(t) for t in times]
        if len(times) != len(frames):
            raise ValueError(f"{len(times)} times for {len(frames)} frames")
        if times and (times[0] <= self._last or any(b <= a for a, b in zip(times, times[1:]))):
            raise ValueError("frames must arrive in strictly increasing time order")
        started = time.perf_counter()
        found = self.detector.detect(list(frames))
        for moment, boxes in zip(times, found):
            self._add(moment, boxes)
        self.seconds += time.perf_counter() - started
        if times:
            self._last = times[-1]
        return found

    def _add(self, moment: float, boxes: Sequence[ObjectBox]) -> None:
        self._times.append(round(moment, 3))
        self._counts.append(Counter(b.label for b in boxes))
        best: dict[str, float] = {}
        for box in boxes:
            best[box.label] = max(best.get(box.label, 0.0), box.confidence)
        self._scores.append(best)
        labels = {b.label for b in boxes} | {label for label, tracker in self._trackers.items() if _has_tracks(tracker)}
        for label in sorted(labels):
            mine = [b for b in boxes if b.label == label]
            xyxy = np.array([b.box for b in mine], dtype=np.float32).reshape(-1, 4)
            conf = np.array([b.confidence for b in mine], dtype=np.float32)
            rows = self._tracker(label).update(_Detections(xyxy, conf, np.zeros(len(mine), dtype=np.float32)))
            for row in rows:
                index = int(row[7])
                if not 0 <= index < len(mine):
                    continue
                record = self._records.setdefault((label, int(row[4])), _Record())
                record.labels.append(label)
                record.times.append(round(moment, 3))
                record.boxes.append(tuple(round(float(v), 1) for v in mine[index].box))  # type: ignore[arg-type]
                record.confidences.append(round(mine[index].confidence, 4))

    def _tracker(self, label: str) -> Any:
        if label not in self._trackers:
            from ultralytics.trackers.byte_tracker import BYTETracker

            self._trackers[label] = BYTETracker(TRACKER_ARGS)
        return self._trackers[label]

    def finish(self) -> tuple[list[Track], ObjectSightings]:
        """The tracks (by first appearance, numbered from 0) and the per-frame sightings."""
        records = sorted(self._records.values(), key=lambda r: (r.times[0], r.labels[0]))
        tracks = [
            Track(i, Counter(r.labels).most_common(1)[0][0], tuple(r.times), tuple(r.boxes), tuple(r.confidences))
            for i, r in enumerate(records)
        ]
        return tracks, sightings_of(self._times, self._counts, self._scores, self.detector.classes)

    def snapshot(self) -> dict[str, Any]:
        """Everything seen so far, picklable, for `restore` when a killed ingest resumes."""
        return {"trackers": self._trackers, "records": self._records, "times": self._times, "counts": self._counts,
                "scores": self._scores, "last": self._last, "seconds": self.seconds}  # fmt: skip

    def restore(self, state: dict[str, Any]) -> None:
        self._trackers, self._records = state["trackers"], state["records"]
        self._times, self._counts, self._scores, self._last = (
            state["times"], state["counts"], state["scores"], state["last"]
        )
        self.seconds = state.get("seconds", 0.0)


def _has_tracks(tracker: Any) -> bool:
    """Whether a class's tracker still follows something (it must see the frames where its class is missing)."""
    return bool(tracker.tracked_stracks or tracker.lost_stracks)


def sightings_of(
    times: Sequence[float], counts: Sequence[Counter[str]], scores: Sequence[dict[str, float]], classes: Sequence[str]
) -> ObjectSightings:
    """Per-class columns over the sampled frames, from per-frame counts and best scores."""
    labels = sorted({label for frame in counts for label in frame})
    return ObjectSightings(
        tuple(times),
        {label: tuple(frame.get(label, 0) for frame in counts) for label in labels},
        {label: tuple(round(frame.get(label, 0.0), 4) for frame in scores) for label in labels},
        tuple(classes),
    )


def objects_from_tracks(
    tracks: Sequence[Track], times: Sequence[float], classes: Sequence[str]
) -> tuple[list[Track], ObjectSightings]:
    """The objects a COCO person-and-object detector already tracked (the real profile's one ultralytics pass):
    its tracks of classes other than `person`, and per sampled frame (`times`, the detector's grid) the count and
    best score of each class among them."""
    objects = [t for t in tracks if t.label != "person"]
    frame_of = {round(float(t), 3): i for i, t in enumerate(times)}
    counts: list[Counter[str]] = [Counter() for _ in times]
    scores: list[dict[str, float]] = [{} for _ in times]
    for track in objects:
        for moment, confidence in zip(track.times, track.confidences):
            index = frame_of.get(round(moment, 3))
            if index is not None:
                counts[index][track.label] += 1
                scores[index][track.label] = max(scores[index].get(track.label, 0.0), confidence)
    return objects, sightings_of([round(float(t), 3) for t in times], counts, scores, classes)
