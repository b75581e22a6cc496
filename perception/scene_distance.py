"""How different two stretches of video look, from the cheap per-frame descriptors (and CLIP vectors when loaded).

Scene clustering compares stretches (shot pieces) by each descriptor pooled over the stretch's frames: colour
(HSV histogram, Hellinger-mapped, cosine distance), texture (gradient energy per scale, log, mean absolute
difference), layout (blurred grey thumbnail, 1 - correlation) and CLIP (cosine distance). Each distance is
divided by its scale, so the descriptors count alike, and two stretches are as far apart as their LEAST alike
descriptor: one place has to agree in colour AND texture AND layout. An average would let a descriptor that
cannot tell two places apart hide one that can: greyscale photos all have the same colour histogram, so on a
slideshow of them colour alone (or colour averaged with the rest) put five different photos in one scene.

The scales come from measurements on eight slideshows of scikit-image photos (320x180 down to 160x90, a gentle
zoom and pan, titles that come and go, narration) and on the recurring-scene test video (one showing reframed at a
1.35x zoom, shifted and noisy). Scenes came out the same with any one scale halved or doubled, so nothing hinges
on the exact numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.adapters.frame_features import FrameFeatures

COLOUR_SCALE = 0.03
"""Colour distance between showings of one photo: 0.017 at the 90th percentile (0.05 for the reframed, noisy one);
different photos 0.32 at the median, but two greyscale photos only 0.005-0.09: colour alone cannot part those."""
TEXTURE_SCALE = 0.1
"""Texture distance between showings of one photo: 0.11 at the 90th percentile (0.19 when a title covers part of
one); different greyscale photos 0.49 at the 10th percentile, gravel and grass the closest at 0.12."""
LAYOUT_SCALE = 0.5
"""Layout distance between showings of one photo: 0.2 at the 90th percentile (0.42 at the 1.35x zoom); different
photos 0.72 at the median, but two full-frame textures (gravel, grass) 0.004. The loosest descriptor: a moving
camera changes the layout most."""
CLIP_SCALE = 0.15
"""CLIP ViT-B/32 frame vectors of one place usually differ by 0.05-0.15 in cosine distance; generous, so CLIP
splits only what it sees as clearly different (not measured here: no CLIP weights are reachable offline)."""
LAYOUT_BLUR = 1.0
"""Gaussian blur (in thumbnail pixels) before comparing layouts, so a small zoom or pan barely moves them."""
TEXTURE_FLOOR = 1e-3
"""Added before taking logarithms: a flat frame has no gradient at all."""


@dataclass(frozen=True)
class AppearanceDistances:
    """Pairwise distances (n, n) between stretches, in units of each descriptor's scale, and the descriptors used."""

    matrix: np.ndarray
    kinds: tuple[str, ...]

    @property
    def descriptor(self) -> str:
        """The descriptors joined, e.g. `hsv-histogram+texture+layout`; `none` when there were none."""
        return "+".join(self.kinds) or "none"


def pool(times: np.ndarray, rows: np.ndarray, spans: list[tuple[float, float]]) -> np.ndarray:
    """Mean of the rows whose time falls in each [t0, t1) span (the nearest row for a span with none): (n, ...)."""
    pooled = np.zeros((len(spans), *rows.shape[1:]), dtype=np.float64)
    for index, (t0, t1) in enumerate(spans):
        inside = (times >= t0) & (times < t1)
        chosen = rows[inside] if inside.any() else rows[[int(np.argmin(np.abs(times - (t0 + t1) / 2)))]]
        pooled[index] = chosen.mean(axis=0)
    return pooled


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


def cosine_distances(vectors: np.ndarray) -> np.ndarray:
    """1 - cosine similarity between rows, clipped to [0, 2], with an exact zero diagonal."""
    unit = unit_rows(np.asarray(vectors, dtype=np.float64))
    distances = np.clip(1.0 - unit @ unit.T, 0.0, 2.0)
    np.fill_diagonal(distances, 0.0)
    return distances


def colour_distances(hists: np.ndarray) -> np.ndarray:
    """Between pooled HSV histograms, Hellinger-mapped (square roots) so that small bins count too."""
    return cosine_distances(np.sqrt(np.clip(hists, 0.0, None)))


def texture_distances(textures: np.ndarray) -> np.ndarray:
    """Mean absolute difference of log gradient energies: a ratio, so as telling in a dark frame as in a bright one."""
    logs = np.log(np.clip(textures, 0.0, None) + TEXTURE_FLOOR)
    return np.abs(logs[:, None, :] - logs[None, :, :]).mean(axis=2)


def layout_distances(thumbs: np.ndarray) -> np.ndarray:
    """1 - correlation between blurred grey thumbnails: where light and dark lie, whatever the overall brightness."""
    import cv2

    blurred = np.stack([cv2.GaussianBlur(t.astype(np.float32), (0, 0), LAYOUT_BLUR) for t in thumbs])
    flat = blurred.reshape(len(thumbs), -1).astype(np.float64)
    return cosine_distances(flat - flat.mean(axis=1, keepdims=True))


def appearance_distances(
    features: FrameFeatures,
    spans: list[tuple[float, float]],
    clip_times: np.ndarray | None = None,
    clip_vectors: np.ndarray | None = None,
) -> AppearanceDistances:
    """Distances between the spans: per pair, the largest of the scaled descriptor distances (see module doc).

    Descriptors with no frames are left out (textures read from a memory saved before they were stored are NaN);
    with none at all the matrix is all zeros and `kinds` is empty."""
    parts: list[np.ndarray] = []
    kinds: list[str] = []
    if clip_vectors is not None and clip_times is not None and len(clip_vectors):
        parts.append(cosine_distances(pool(clip_times, clip_vectors, spans)) / CLIP_SCALE)
        kinds.append("clip")
    if len(features):
        parts.append(colour_distances(pool(features.times, features.hists, spans)) / COLOUR_SCALE)
        kinds.append("hsv-histogram")
        if np.isfinite(features.textures).all():
            parts.append(texture_distances(pool(features.times, features.textures, spans)) / TEXTURE_SCALE)
            kinds.append("texture")
        parts.append(layout_distances(pool(features.times, features.thumbs, spans)) / LAYOUT_SCALE)
        kinds.append("layout")
    if not parts:
        return AppearanceDistances(np.zeros((len(spans), len(spans))), ())
    matrix = np.maximum.reduce(parts)
    return AppearanceDistances((matrix + matrix.T) / 2.0, tuple(kinds))
