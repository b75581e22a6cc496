"""Appearance of person crops for re-identification when no CLIP image encoder is available.

The descriptor is cheap and batched: the box is cut into horizontal stripes (head to feet), and each
stripe gets a hue/saturation histogram (plus grey levels for unsaturated pixels) and a gradient-orientation
histogram for texture, pixels weighted towards the box's centre line. Every block is a Hellinger-mapped
histogram (square root of a distribution), so the cosine of two descriptors is a mean Bhattacharyya
coefficient in [0, 1].

Measured on vtest.avi (64 tracks at 5 fps): the two halves of one pedestrian's track score 0.88-0.99
(5th-95th percentile), two pedestrians on screen together 0.80 median, 0.91 at the 90th percentile;
ROC AUC 0.947. Two halves (upper/lower body) instead of six stripes gave AUC 0.936. The hardest
negatives are different people in the same dark jacket and blue jeans: colour alone cannot tell them apart.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DESCRIPTOR_CROP = (48, 96)
"""(width, height) every box is resized to before its histograms are taken: cheap, and enough pixels."""
CENTRE_COLUMNS = (0.2, 0.8)
"""Fractions of the box width kept: the sides of a person box are mostly background."""
BODY_ROWS = (0.1, 0.95)
"""Fractions of the box height described: below the top of the head, above the soles."""
STRIPES = 6
"""Horizontal stripes of the body, each described on its own (shirt, belt, trousers... keep their place)."""
HUE_BINS = 8
SATURATION_BINS = 3
GREY_BINS = 8
CHROMA_MIN = 40
"""Pixels with saturation or value below this (0..255) have no reliable hue: they go to the grey bins."""
ORIENTATION_BINS = 8
TEXTURE_WEIGHT = 1.0
"""Weight of a stripe's texture block against its colour block (0.5 and 1.5 both did worse on vtest)."""
COLOUR_BINS = HUE_BINS * SATURATION_BINS + GREY_BINS
DESCRIPTOR_DIM = STRIPES * (COLOUR_BINS + ORIENTATION_BINS)


def _as_boxes(boxes: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """Boxes as an (M, 5) float array of (frame index, x1, y1, x2, y2)."""
    return np.asarray(boxes, dtype=np.float64).reshape(-1, 5)


def _expand_to_aspect(boxes: np.ndarray, aspect: float) -> np.ndarray:
    """Widen or heighten (M, 4) boxes about their centres so width / height equals `aspect`."""
    x1, y1, x2, y2 = boxes.T
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    width, height = np.maximum(x2 - x1, 1.0), np.maximum(y2 - y1, 1.0)
    width, height = np.maximum(width, height * aspect), np.maximum(height, width / aspect)
    return np.stack([cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2], axis=1)


def crops(
    frames: np.ndarray,
    boxes: np.ndarray | Sequence[Sequence[float]],
    size: tuple[int, int] = DESCRIPTOR_CROP,
    *,
    keep_aspect: bool = False,
) -> np.ndarray:
    """Cut each (frame index, x1, y1, x2, y2) box out of NHWC RGB `frames`, resized to `size` (w, h).

    `keep_aspect` widens the box to the target aspect first (outside the frame is black), which is what
    an image encoder such as CLIP should see; the colour descriptor uses the box as it is.
    """
    import cv2

    width, height = size
    table = _as_boxes(boxes)
    out = np.zeros((len(table), height, width, 3), dtype=np.uint8)
    if not len(table):
        return out
    rects = _expand_to_aspect(table[:, 1:], width / height) if keep_aspect else table[:, 1:]
    frame_h, frame_w = frames.shape[1], frames.shape[2]
    for row, (index, rect) in enumerate(zip(table[:, 0].astype(int), np.rint(rects).astype(int))):
        x1, y1, x2, y2 = rect
        x2, y2 = max(x2, x1 + 1), max(y2, y1 + 1)
        patch = np.zeros((y2 - y1, x2 - x1, 3), dtype=np.uint8)
        sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x2, frame_w), min(y2, frame_h)
        if sx2 > sx1 and sy2 > sy1:
            patch[sy1 - y1 : sy2 - y1, sx1 - x1 : sx2 - x1] = frames[index, sy1:sy2, sx1:sx2]
        out[row] = cv2.resize(patch, (width, height), interpolation=cv2.INTER_AREA)
    return out


def _histograms(bins: np.ndarray, weights: np.ndarray, count: int) -> np.ndarray:
    """Per-crop weighted histograms of (M, P) bin indices in 0..count-1 -> (M, count)."""
    crops_n = bins.shape[0]
    flat = (bins + np.arange(crops_n)[:, None] * count).ravel()
    hist = np.bincount(flat, weights=weights.ravel(), minlength=crops_n * count)
    return hist.reshape(crops_n, count)


def _hellinger(hist: np.ndarray) -> np.ndarray:
    """Histograms -> square roots of their distributions (unit L2 norm; zero rows stay zero)."""
    totals = hist.sum(axis=1, keepdims=True)
    return np.sqrt(np.divide(hist, totals, out=np.zeros_like(hist), where=totals > 0))


def _colour_block(hsv: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(M, h, w, 3) HSV uint8 region and (M, h*w) pixel weights -> (M, COLOUR_BINS) Hellinger histograms."""
    hue, sat, val = (hsv[..., c].reshape(len(hsv), -1).astype(np.int64) for c in range(3))
    chromatic = (sat >= CHROMA_MIN) & (val >= CHROMA_MIN)
    hue_bin = np.minimum(hue * HUE_BINS // 180, HUE_BINS - 1)
    sat_bin = np.minimum((sat - CHROMA_MIN).clip(0) * SATURATION_BINS // (256 - CHROMA_MIN), SATURATION_BINS - 1)
    grey_bin = HUE_BINS * SATURATION_BINS + np.minimum(val * GREY_BINS // 256, GREY_BINS - 1)
    bins = np.where(chromatic, hue_bin * SATURATION_BINS + sat_bin, grey_bin)
    return _hellinger(_histograms(bins, weights, COLOUR_BINS))


def _texture_block(grey: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(M, h, w) float grey region and pixel weights -> (M, ORIENTATION_BINS) Hellinger orientation histograms."""
    gy, gx = np.gradient(grey, axis=(1, 2))
    magnitude = np.hypot(gx, gy).reshape(len(grey), -1) * weights
    angle = np.mod(np.arctan2(gy, gx), np.pi).reshape(len(grey), -1)  # unsigned orientation
    bins = np.minimum((angle * ORIENTATION_BINS / np.pi).astype(np.int64), ORIENTATION_BINS - 1)
    return _hellinger(_histograms(bins, magnitude, ORIENTATION_BINS))


def _span(start: float, stop: float, length: int) -> slice:
    """The pixels a pair of fractions of a length covers."""
    return slice(int(round(start * length)), int(round(stop * length)))


def _column_weights(width: int, columns: slice) -> np.ndarray:
    """Epanechnikov weights of the kept columns: 1 on the box's centre line, less towards its sides."""
    offsets = (np.arange(width) + 0.5) / width - 0.5
    return np.clip(1.0 - (2.0 * offsets) ** 2, 0.0, None)[columns]


def describe_crops(patches: np.ndarray) -> np.ndarray:
    """(M, h, w, 3) RGB uint8 crops -> (M, DESCRIPTOR_DIM) unit-length float32 descriptors."""
    import cv2

    count, height, width = patches.shape[:3]
    if count == 0:
        return np.zeros((0, DESCRIPTOR_DIM), dtype=np.float32)
    columns = _span(*CENTRE_COLUMNS, width)
    column_weights = _column_weights(width, columns)
    stacked = np.ascontiguousarray(patches).reshape(count * height, width, 3)
    hsv = cv2.cvtColor(stacked, cv2.COLOR_RGB2HSV).reshape(count, height, width, 3)
    grey = cv2.cvtColor(stacked, cv2.COLOR_RGB2GRAY).reshape(count, height, width).astype(np.float32)
    edges = np.linspace(BODY_ROWS[0], BODY_ROWS[1], STRIPES + 1)
    blocks = []
    for start, stop in zip(edges[:-1], edges[1:]):
        rows = _span(start, stop, height)
        weights = np.broadcast_to(column_weights, (count, rows.stop - rows.start, len(column_weights)))
        weights = weights.reshape(count, -1)
        blocks.append(_colour_block(hsv[:, rows, columns], weights))
        blocks.append(TEXTURE_WEIGHT * _texture_block(grey[:, rows, columns], weights))
    return normalise(np.concatenate(blocks, axis=1)).astype(np.float32)


def crop_descriptors(frames: np.ndarray, boxes: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """Colour/texture descriptors (M, DESCRIPTOR_DIM) of (frame index, x1, y1, x2, y2) boxes in NHWC RGB frames."""
    return describe_crops(crops(frames, boxes, DESCRIPTOR_CROP))


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 length (zero rows stay zero): cosine similarity becomes a dot product."""
    vectors = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
