"""Segment vectors at ingest: each segment's sampled frames go through the TempMe-STOP encoder together.

Frames arrive in time order from the single decode pass; they are preprocessed at once, held until
their segment is complete, and encoded a batch of segments at a time, so memory holds only a few
segments' pixels whatever the video's length.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.retrieval.segment_encoder import SegmentEncoder


@dataclass
class EncodedSegments:
    """Per-frame unit vectors with their times, and one unit vector per segment (merged encoding)."""

    frame_times: np.ndarray
    frame_vectors: np.ndarray
    segment_vectors: np.ndarray


@dataclass
class SegmentAccumulator:
    """Collects a video's CLIP frames per segment and encodes full batches of segments as they complete."""

    encoder: SegmentEncoder
    bounds: list[tuple[float, float]]
    batch_segments: int = 8
    _pending: list[tuple[int, list[float], list[Any]]] = field(default_factory=list)
    _current: int = 0
    _times: list[float] = field(default_factory=list)
    _pixels: list[Any] = field(default_factory=list)
    _frame_times: list[np.ndarray] = field(default_factory=list)
    _frame_vectors: list[np.ndarray] = field(default_factory=list)
    _segment_vectors: dict[int, np.ndarray] = field(default_factory=dict)

    def state(self) -> dict[str, Any]:
        """What has been collected and encoded so far (everything but the encoder), for `restore`."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "encoder"}

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from a `state` taken in another process."""
        for name, value in state.items():
            setattr(self, name, value)

    def add(self, times: np.ndarray, frames: np.ndarray) -> None:
        """Frames (N, H, W, 3) at `times` (ascending, after everything added before)."""
        import torch

        with torch.inference_mode():
            pixels = self.encoder.clip._preprocess(frames)
        for t, row in zip(times.tolist(), pixels):
            while self._current < len(self.bounds) - 1 and t >= self.bounds[self._current][1]:
                self._close_segment()
            self._times.append(t)
            self._pixels.append(row)
        if len(self._pending) >= self.batch_segments:
            self._encode_pending()

    def finish(self) -> EncodedSegments:
        """Encode what is left; a segment without frames borrows its nearest frame's vector."""
        self._close_segment()
        self._encode_pending()
        times = np.concatenate(self._frame_times) if self._frame_times else np.zeros(0)
        vectors = np.concatenate(self._frame_vectors) if self._frame_vectors else np.zeros((0, 0), np.float32)
        segment_vectors = []
        for index, (t0, t1) in enumerate(self.bounds):
            if index in self._segment_vectors:
                segment_vectors.append(self._segment_vectors[index])
            elif len(times):
                segment_vectors.append(vectors[int(np.argmin(np.abs(times - (t0 + t1) / 2)))])
        stacked = np.stack(segment_vectors).astype(np.float32) if segment_vectors else np.zeros((0, 0), np.float32)
        return EncodedSegments(times, vectors, stacked)

    def _close_segment(self) -> None:
        if self._pixels:
            self._pending.append((self._current, self._times, self._pixels))
        self._times, self._pixels = [], []
        self._current += 1 if self._current < len(self.bounds) else 0

    def _encode_pending(self) -> None:
        """Encode pending segments, batched by frame count (segments of equal length batch together)."""
        import torch

        by_count: dict[int, list[tuple[int, list[float], list[Any]]]] = {}
        for item in self._pending:
            by_count.setdefault(len(item[2]), []).append(item)
        self._pending = []
        with torch.inference_mode():
            for group in by_count.values():
                for start in range(0, len(group), self.batch_segments):
                    chunk = group[start : start + self.batch_segments]
                    pixels = torch.stack([torch.stack(item[2]) for item in chunk])
                    segments, frames = self.encoder.forward(pixels)
                    for (index, times, _), segment, frame in zip(chunk, segments.cpu().numpy(), frames.cpu().numpy()):
                        self._segment_vectors[index] = segment.astype(np.float32)
                        self._frame_times.append(np.asarray(times))
                        self._frame_vectors.append(frame.astype(np.float32))
        if self._frame_times:
            order = np.argsort(np.concatenate(self._frame_times), kind="stable")
            self._frame_times = [np.concatenate(self._frame_times)[order]]
            self._frame_vectors = [np.concatenate(self._frame_vectors)[order]]
