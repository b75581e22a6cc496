"""Moment retrieval with the TempMe-STOP encoder: the seed's `extract_video_embedding`,
`retrieve_event` and `batch_retrieve_events`.

A video is cut into windows (at least `num_segments`, none longer than `max_window_seconds`);
each window's `max_frames` frames are decoded once, encoded together (token merging), and give a
window vector plus per-frame vectors. A query (text, or an example image) is scored against both:
a frame's score is the mean of its own relevance and its window's, so the best frames lie in the
best-matching moment. Results are frame indices of the video file with their times.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import InvalidRequest, ModelUnavailable, VidsageError
from core.types import VideoRef
from models.adapters.video import frame_indices, iter_frames, probe
from models.retrieval.config import UnifiedModelConfig, load_config
from models.retrieval.segment_encoder import SegmentEncoder

Query = str | np.ndarray
Progress = Callable[[float, float], None]
#: How many encoded videos a retriever keeps, so several queries on one video encode it once.
CACHED_VIDEOS = 8


@dataclass(frozen=True)
class Hit:
    """One retrieved frame: its index in the video file, its time (s), its score, and its window."""

    frame_index: int
    time: float
    score: float
    window_start: float
    window_end: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "frame_index": self.frame_index,
            "time": round(self.time, 3),
            "score": round(self.score, 4),
            "window": [round(self.window_start, 3), round(self.window_end, 3)],
        }


@dataclass
class VideoEncoding:
    """A video's windows: bounds (W, 2), frame times/indices (W, N), window (W, D) and frame (W, N, D) vectors."""

    video: VideoRef
    bounds: np.ndarray
    frame_times: np.ndarray
    frame_indices: np.ndarray
    window_vectors: np.ndarray
    frame_vectors: np.ndarray
    seconds: float

    @property
    def embedding(self) -> np.ndarray:
        """The whole video as one unit vector: the normalised mean of its window vectors."""
        mean = self.window_vectors.mean(axis=0)
        return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)

    def window_scores(self, query: np.ndarray) -> np.ndarray:
        return self.window_vectors @ query

    def frame_scores(self, query: np.ndarray) -> np.ndarray:
        """(W, N): the mean of each frame's own relevance and its window's."""
        return 0.5 * (self.frame_vectors @ query) + 0.5 * self.window_scores(query)[:, None]


def window_bounds(duration: float, config: UnifiedModelConfig, num_frames: int | None = None) -> np.ndarray:
    """Equal windows covering the video: `num_segments` of them, more if they would be too long,
    fewer if a short video has not `max_frames` distinct frames for each."""
    duration = max(float(duration), 1e-3)
    count = max(config.num_segments, int(np.ceil(duration / config.max_window_seconds)))
    if num_frames is not None:
        count = max(1, min(count, num_frames // config.max_frames))
    edges = np.linspace(0.0, duration, count + 1)
    return np.stack([edges[:-1], edges[1:]], axis=1)


def window_frame_times(bounds: np.ndarray, frames: int) -> np.ndarray:
    """`frames` timestamps per window at the centres of equal sub-intervals (TSN-style sampling)."""
    offsets = (np.arange(frames) + 0.5) / frames
    return bounds[:, :1] + (bounds[:, 1:] - bounds[:, :1]) * offsets[None, :]


class UnifiedRetriever:
    """The seed's `UnifiedTempMeSTOPModel`: embeddings and moment retrieval over video files."""

    def __init__(self, encoder: SegmentEncoder) -> None:
        self.encoder = encoder
        self.config = encoder.config
        self._cache: OrderedDict[str, VideoEncoding] = OrderedDict()

    # -- encoding ------------------------------------------------------------------------------
    def encode_video(self, video: Path | str | VideoRef, on_progress: Progress | None = None) -> VideoEncoding:
        """Decode each sampled frame once and encode every window (cached per video content)."""
        ref = video if isinstance(video, VideoRef) else probe(video)
        if ref.content_hash in self._cache:
            self._cache.move_to_end(ref.content_hash)
            return self._cache[ref.content_hash]
        started = time.perf_counter()
        per_window = self.config.max_frames
        bounds = window_bounds(ref.duration, self.config, ref.num_frames)
        times = window_frame_times(bounds, per_window)
        indices = frame_indices(ref, times.ravel()).reshape(times.shape)
        window_vectors, frame_vectors = [], []
        for done, batch in self._window_batches(ref, indices):
            out = self.encoder.forward(batch)
            window_vectors.append(out[0].float().cpu().numpy())
            frame_vectors.append(out[1].float().cpu().numpy())
            if on_progress is not None:
                on_progress(float(bounds[done - 1, 1]), float(ref.duration))
        encoding = VideoEncoding(
            ref,
            bounds,
            indices / ref.fps,
            indices,
            np.concatenate(window_vectors),
            np.concatenate(frame_vectors),
            time.perf_counter() - started,
        )
        self._cache[ref.content_hash] = encoding
        while len(self._cache) > CACHED_VIDEOS:
            self._cache.popitem(last=False)
        return encoding

    def _window_batches(self, ref: VideoRef, indices: np.ndarray) -> Iterator[tuple[int, Any]]:
        """Yield (windows done, pixels (B, N, 3, S, S)) as soon as a batch of windows is decoded.

        Decoded frames are preprocessed at once and dropped when no later window needs them, so
        memory holds about one batch of windows whatever the video's length.
        """
        import torch

        clip = self.encoder.clip
        unique = np.unique(indices)
        batch_windows = self.config.batch_windows
        buffer: Any = None
        buffer_start = 0  # position in `unique` of the buffer's first row
        decoded = 0
        next_window = 0
        with torch.inference_mode():
            for _, frames in iter_frames(ref, unique / ref.fps, batch_size=max(16, clip.batch_size)):
                pixels = clip._preprocess(frames)
                buffer = pixels if buffer is None else torch.cat([buffer, pixels])
                decoded += len(frames)
                ready = unique[decoded - 1]
                stop = next_window
                while stop < len(indices) and indices[stop].max() <= ready:
                    stop += 1
                while stop - next_window >= batch_windows or (stop == len(indices) and next_window < stop):
                    end = min(stop, next_window + batch_windows)
                    rows = np.searchsorted(unique, indices[next_window:end].ravel()) - buffer_start
                    chosen = buffer[torch.from_numpy(rows).to(buffer.device)]
                    yield end, chosen.view(end - next_window, indices.shape[1], *chosen.shape[1:])
                    next_window = end
                    if next_window < len(indices):
                        keep_from = int(np.searchsorted(unique, indices[next_window].min()))
                        buffer = buffer[keep_from - buffer_start :]
                        buffer_start = keep_from
        if next_window < len(indices):
            raise InvalidRequest(f"{ref.path}: fewer frames could be decoded than the video states")

    def extract_video_embedding(self, video: Path | str) -> np.ndarray:
        """The seed's call: one unit vector (D,) float32 for the whole video."""
        return self.encode_video(video).embedding

    # -- queries -------------------------------------------------------------------------------
    def query_vector(self, query: Query) -> np.ndarray:
        """A unit vector for a text query, or for an example image (H, W, 3 uint8) in the same space."""
        if isinstance(query, np.ndarray):
            if query.ndim != 3 or query.shape[-1] != 3:
                raise InvalidRequest(f"an image query must be (H, W, 3) RGB, got shape {query.shape}")
            return self.encoder.clip.encode_images(query[None].astype(np.uint8))[0]
        text = str(query).strip()
        if not text:
            raise InvalidRequest("the query is empty")
        return self.encoder.encode_text([text])[0]

    def forward(self, video: Path | str, query: Query) -> tuple[np.ndarray, np.ndarray]:
        """The seed's `model.forward(video, query)`: (scores, frame indices) of every sampled frame, best first."""
        encoding = self.encode_video(video)
        scores = encoding.frame_scores(self.query_vector(query)).ravel()
        order = np.argsort(-scores, kind="stable")
        return scores[order], encoding.frame_indices.ravel()[order]

    def rank_windows(self, video: Path | str, query: Query) -> list[tuple[float, float, float]]:
        """Windows (start, end, score), best first: which moment of the video matches."""
        encoding = self.encode_video(video)
        scores = encoding.window_scores(self.query_vector(query))
        return [(float(encoding.bounds[w, 0]), float(encoding.bounds[w, 1]), float(scores[w])) for w in np.argsort(-scores, kind="stable")]

    def retrieve_event(self, video: Path | str, query: Query, top_k: int | None = None) -> list[Hit]:
        """The `top_k` most relevant distinct frames, best first."""
        top_k = self.config.top_k if top_k is None else top_k
        if top_k < 1:
            raise InvalidRequest(f"top_k must be >= 1, got {top_k}")
        encoding = self.encode_video(video)
        scores = encoding.frame_scores(self.query_vector(query))
        hits: list[Hit] = []
        seen: set[int] = set()
        for flat in np.argsort(-scores.ravel(), kind="stable"):
            window, slot = divmod(int(flat), scores.shape[1])
            index = int(encoding.frame_indices[window, slot])
            if index in seen:
                continue
            seen.add(index)
            start, end = encoding.bounds[window]
            hits.append(Hit(index, float(encoding.frame_times[window, slot]), float(scores[window, slot]), float(start), float(end)))
            if len(hits) == top_k:
                break
        return hits

    def batch_retrieve_events(self, video_queries: Iterable[dict[str, Any]], top_k: int | None = None) -> list[dict[str, Any]]:
        """The seed's batch call: one result dict per request; a failing video does not affect the others."""
        results: list[dict[str, Any]] = []
        for request in video_queries:
            results.append(self._one_request(request, top_k))
        return results

    def _one_request(self, request: Any, top_k: int | None) -> dict[str, Any]:
        started = time.perf_counter()
        video = request.get("video_path") if isinstance(request, dict) else None
        query = request.get("query") if isinstance(request, dict) else None
        result: dict[str, Any] = {"video_path": video, "query": query}
        try:
            if not isinstance(video, str) or not video or not isinstance(query, str):
                raise InvalidRequest(f"request {request!r}: needs a 'video_path' and a 'query' string")
            hits = self.retrieve_event(video, query, top_k)
        except VidsageError as error:
            result.update(frames=[], times=[], scores=[], status="error", error=str(error))
        else:
            result.update(
                frames=[h.frame_index for h in hits],
                times=[round(h.time, 3) for h in hits],
                scores=[round(h.score, 4) for h in hits],
                status="success",
            )
        result["inference_time"] = round(time.perf_counter() - started, 3)
        return result


def create_unified_model(
    config: UnifiedModelConfig | Path | str | None = None, settings: Any = None, models: Any = None
) -> UnifiedRetriever:
    """Build the retriever on the profile's CLIP (the seed's `create_unified_model(config_path)`).

    Raises ModelUnavailable when the profile has no CLIP weights (never random weights outside `tiny`).
    """
    from core.settings import Settings
    from models.cache import ModelCache

    if not isinstance(config, UnifiedModelConfig):
        config = load_config(config)
    settings = settings or Settings()
    models = models or ModelCache.for_settings(settings)
    clip = models.clip()
    if clip is None:
        raise ModelUnavailable(
            "no CLIP weights available: embedding and retrieval need one (set VIDSAGE_CLIP_MODEL="
            "ViT-B-32:/path/to/open_clip_model.safetensors, or use --profile tiny for a random test model)"
        )
    return UnifiedRetriever(SegmentEncoder.for_clip(clip, config))


def extract_video_embedding(video: Path | str, config: UnifiedModelConfig | Path | str | None = None, settings: Any = None) -> np.ndarray:
    """One unit vector for a video file."""
    return create_unified_model(config, settings).extract_video_embedding(video)


def retrieve_event(
    video: Path | str, query: Query, top_k: int = 5, config: UnifiedModelConfig | Path | str | None = None, settings: Any = None
) -> list[Hit]:
    """The `top_k` frames of `video` that best match `query` (text or an example image)."""
    return create_unified_model(config, settings).retrieve_event(video, query, top_k)


def batch_retrieve_events(
    video_queries: Iterable[dict[str, Any]],
    config_path: UnifiedModelConfig | Path | str | None = None,
    top_k: int = 5,
    device: str | None = None,
    settings: Any = None,
) -> list[dict[str, Any]]:
    """The seed's batch call: `[{"video_path", "query"}, ...]` -> result dicts with `status`."""
    if device is not None:
        from core.settings import Settings

        settings = (settings or Settings()).model_copy(update={"device": device})
    return create_unified_model(config_path, settings).batch_retrieve_events(video_queries, top_k)
