"""Cheap per-frame descriptors for trigger detection and scene clustering: HSV colour histograms, small
grayscale thumbnails and gradient textures, computed in batches from decoded RGB frames (no model, a few ms
per frame).

Histograms are nearly blind to camera motion but change wholesale at a cut, so they drive shot
boundaries and novelty; thumbnails keep the layout, so a dissolve shows up as a straight line
between its two shots. Textures (how much fine, middle and coarse detail a frame has, and in which
direction) tell apart places whose colours are alike, such as two greyscale photos. All are saved
beside other ingest outputs as one `.npz`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import MemoryCorrupt

HSV_BINS = (8, 4, 4)
"""Hue, saturation, value bins: 128 in all; hue gets most, it separates scenes best."""
HIST_DIM = HSV_BINS[0] * HSV_BINS[1] * HSV_BINS[2]
THUMB_SIZE = (32, 18)
"""(width, height) of the grayscale thumbnail, whatever the frame's aspect ratio."""
TEXTURE_SCALES = 3
"""Pyramid levels of the texture descriptor: the working frame, then halved twice (fine, middle, coarse detail)."""
TEXTURE_DIM = 3 * TEXTURE_SCALES
"""Per scale: mean gradient magnitude, mean |horizontal gradient|, mean |vertical gradient|."""
FRAME_FEATURES_VERSION = 2
"""Bumped when the stored descriptors change, so older memories recompute them. 2: gradient textures."""
WORK_WIDTH = 160
"""Frames are shrunk to this width (area-averaged) before histogramming: 16x fewer pixels at 640 wide."""
_HUE_RANGE = 180
"""OpenCV's 8-bit hue runs 0..179."""


@dataclass(frozen=True)
class FrameFeatures:
    """Descriptors of sampled frames: times (N,), histograms (N, 128) summing to 1, thumbnails (N, 18, 32) in
    [0, 1] and gradient textures (N, 9), non-negative."""

    times: np.ndarray
    hists: np.ndarray
    thumbs: np.ndarray
    textures: np.ndarray

    def __post_init__(self) -> None:
        if not (len(self.times) == len(self.hists) == len(self.thumbs) == len(self.textures)):
            raise ValueError(f"{len(self.times)} times, {len(self.hists)} histograms, {len(self.thumbs)} thumbnails, "
                             f"{len(self.textures)} textures")  # fmt: skip

    def __len__(self) -> int:
        return len(self.times)

    @property
    def fps(self) -> float:
        """Sampling rate estimated from the median time step (0 for fewer than two frames)."""
        if len(self.times) < 2:
            return 0.0
        return float(1.0 / max(np.median(np.diff(self.times)), 1e-6))

    @classmethod
    def empty(cls) -> "FrameFeatures":
        """No frames: the identity of `concat`."""
        return cls(
            np.zeros(0, np.float64),
            np.zeros((0, HIST_DIM), np.float32),
            np.zeros((0, THUMB_SIZE[1], THUMB_SIZE[0]), np.float32),
            np.zeros((0, TEXTURE_DIM), np.float32),
        )

    @classmethod
    def concat(cls, parts: Iterable["FrameFeatures"]) -> "FrameFeatures":
        """Join batches in time order into one FrameFeatures."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        return cls(
            np.concatenate([p.times for p in parts]),
            np.concatenate([p.hists for p in parts]),
            np.concatenate([p.thumbs for p in parts]),
            np.concatenate([p.textures for p in parts]),
        )

    def save(self, path: Path | str) -> None:
        """Write to `.npz` atomically (a partial file never replaces a good one)."""
        path = Path(path)
        partial = path.with_name(f".{path.name}.partial.npz")
        np.savez_compressed(partial, times=self.times, hists=self.hists, thumbs=self.thumbs, textures=self.textures)
        partial.replace(path)

    @classmethod
    def load(cls, path: Path | str) -> "FrameFeatures":
        """Read a `.npz` written by `save`; a missing, corrupt or foreign file raises MemoryCorrupt. A file saved
        before textures were stored (a stale memory, still readable) has NaN textures: unknown, not zero."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                times, hists = data["times"].astype(np.float64), data["hists"]
                missing = np.full((len(times), TEXTURE_DIM), np.nan, np.float32)
                textures = data["textures"] if "textures" in data.files else missing
                features = cls(times, hists, data["thumbs"], textures)
        except (OSError, KeyError, ValueError) as error:
            raise MemoryCorrupt(f"{path}: unreadable frame features ({_short(error)})") from error
        expected = [(HIST_DIM,), (THUMB_SIZE[1], THUMB_SIZE[0]), (TEXTURE_DIM,)]
        if [features.hists.shape[1:], features.thumbs.shape[1:], features.textures.shape[1:]] != expected:
            shapes = f"{features.hists.shape}, {features.thumbs.shape}, {features.textures.shape}"
            raise MemoryCorrupt(f"{path}: frame features of unexpected shape {shapes}")
        return features


def _short(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text[:160]


def _shrink(frames: np.ndarray) -> np.ndarray:
    """Area-average each RGB frame to `WORK_WIDTH` wide (keeping aspect): (N, h, w, 3) uint8."""
    import cv2

    height, width = frames.shape[1:3]
    if width <= WORK_WIDTH:
        return np.ascontiguousarray(frames)
    size = (WORK_WIDTH, max(1, round(height * WORK_WIDTH / width)))
    return np.stack([cv2.resize(frame, size, interpolation=cv2.INTER_AREA) for frame in frames])


def _soft_bins(values: np.ndarray, bins: int, span: int, circular: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear (soft) binning: each value splits its weight between its two nearest bin centres.

    Hard bins make a dissolve look like a string of cuts (a whole image crossing a bin edge at once);
    soft bins change as smoothly as the pixels do.
    """
    position = values.astype(np.float32) * (bins / span) - 0.5
    low = np.floor(position)
    weight_high = position - low
    low = low.astype(np.int64)
    high = low + 1
    if circular:
        low, high = low % bins, high % bins
    else:
        low, high = np.clip(low, 0, bins - 1), np.clip(high, 0, bins - 1)
    return low, high, weight_high


def hsv_histograms(small: np.ndarray) -> np.ndarray:
    """Normalised, softly binned 8x4x4 HSV histograms of a batch of RGB uint8 frames: (N, 128) float32."""
    import cv2

    count, height, width = small.shape[:3]
    hsv = cv2.cvtColor(small.reshape(count * height, width, 3), cv2.COLOR_RGB2HSV).reshape(count, -1, 3)
    axes = [
        _soft_bins(hsv[..., 0], HSV_BINS[0], _HUE_RANGE, circular=True),
        _soft_bins(hsv[..., 1], HSV_BINS[1], 256, circular=False),
        _soft_bins(hsv[..., 2], HSV_BINS[2], 256, circular=False),
    ]
    offsets = np.arange(count, dtype=np.int64)[:, None] * HIST_DIM
    hists = np.zeros(count * HIST_DIM, dtype=np.float64)
    for corner in range(8):
        picks = [(axis[1], axis[2]) if corner >> k & 1 else (axis[0], 1.0 - axis[2]) for k, axis in enumerate(axes)]
        (hue, w_hue), (sat, w_sat), (val, w_val) = picks
        bins = (hue * HSV_BINS[1] + sat) * HSV_BINS[2] + val + offsets
        hists += np.bincount(bins.ravel(), weights=(w_hue * w_sat * w_val).ravel(), minlength=count * HIST_DIM)
    return (hists.reshape(count, HIST_DIM) / (height * width)).astype(np.float32)


def thumbnails(small: np.ndarray) -> np.ndarray:
    """Grayscale `THUMB_SIZE` thumbnails in [0, 1] of a batch of RGB uint8 frames: (N, 18, 32) float32."""
    import cv2

    gray = [cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) for frame in small]
    thumbs = [cv2.resize(g, THUMB_SIZE, interpolation=cv2.INTER_AREA) for g in gray]
    return np.stack(thumbs).astype(np.float32) / 255.0


def gradient_textures(small: np.ndarray) -> np.ndarray:
    """Gradient textures of a batch of RGB uint8 frames: (N, 9) float32, per scale (fine to coarse) the mean
    gradient magnitude and the mean absolute horizontal and vertical gradients, grey levels in [0, 1].

    Two greyscale photos with the same grey levels and layout (gravel and grass, a page of text and a
    portrait) still differ in how much detail they have at each scale and in which direction it runs."""
    import cv2

    rows = np.zeros((len(small), TEXTURE_DIM), dtype=np.float32)
    for index, frame in enumerate(small):
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
        for scale in range(TEXTURE_SCALES):
            gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
            gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
            rows[index, 3 * scale : 3 * scale + 3] = (np.hypot(gx, gy).mean(), np.abs(gx).mean(), np.abs(gy).mean())
            if min(gray.shape) >= 2:
                gray = cv2.pyrDown(gray)
    return rows


def compute_frame_features(times: Sequence[float] | np.ndarray, frames: np.ndarray) -> FrameFeatures:
    """Descriptors of one batch of decoded RGB NHWC uint8 frames taken at `times`."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be RGB NHWC uint8, got shape {frames.shape} dtype {frames.dtype}")
    times = np.asarray(times, dtype=np.float64)
    if len(times) != len(frames):
        raise ValueError(f"{len(times)} times for {len(frames)} frames")
    if len(frames) == 0:
        return FrameFeatures.empty()
    small = _shrink(frames)
    return FrameFeatures(times, hsv_histograms(small), thumbnails(small), gradient_textures(small))


def hist_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Total-variation distance between histograms (last axis), in [0, 1]: 1 means no colour in common."""
    return 0.5 * np.abs(a - b).sum(axis=-1)


def thumb_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean absolute grayscale difference between thumbnails (last two axes), in [0, 1]."""
    return np.abs(a - b).mean(axis=(-2, -1))
