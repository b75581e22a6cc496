"""Hard cuts: the sampled frames where one shot ends and the next begins, from cheap per-frame descriptors.

Two rules, either of which finds a cut at the first frame of the new shot:

- `colour`: the histogram step times the layout (thumbnail) step spikes over its neighbourhood. It finds
  every cut whose colours change, and ignores motion, which barely moves a histogram.
- `texture`: the layout step AND the gradient-texture step both jump far above the motion level around
  them, and the change covers most of the picture. It finds cuts between pictures whose colours are
  alike (two greyscale photos: grass and gravel), which the colour rule misses. Motion (a zoom, a pan,
  people walking) changes the picture a little at every step, so no single step stands out; a dissolve
  or a fade spreads its change over several steps; a person or caption popping in changes only part of
  the picture.

`find_cuts` returns both rules' cuts by time; `perception.triggers.detect_cuts` turns them into trigger
candidates and the actors stage stores them as the video's shot cuts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.adapters.frame_features import FrameFeatures, hist_distance

SHOT_CUTS_VERSION = 2
"""Bumped when the cuts found from the same frame features change, so stages that store or use them re-run.
2: the texture rule."""

CUT_THUMB_FULL = 0.2
"""Thumbnail step (mean absolute grey difference) that counts as a complete change of layout."""
CUT_MIN = 0.25
"""Least cut score sqrt(histogram step x layout step). Measured at 5 fps: the scenario's cuts 0.92 and
0.99, Megamind.avi's two same-palette cuts 0.31 and 0.33; a person sliding in <= 0.11, a pedestrian
scene (vtest.avi) far less. The scenario's dissolve has steps up to 0.32, which the neighbour rule rejects."""
CUT_MARGIN = 0.2
"""A cut stands this far above the median step of its `CUT_CONTEXT_S` neighbourhood..."""
CUT_NEIGHBOUR_RATIO = 2.0
"""...and at least this many times above both adjacent steps (a dissolve's steps come in runs of
similar size: 1.1-1.4x their neighbours in the scenario)."""
CUT_CONTEXT_S = 2.0
CUT_FULL = 0.3
"""Margin over the local median that gives strength 1."""

JUMP_MIN = 6.0
"""Texture rule: the layout step and the texture step each stand at least this many times above the larger
of their `CUT_CONTEXT_S` median and both adjacent steps. Measured at 5 fps: the grey-photo cuts the colour
rule missed (grass/gravel/brick, coins/gravel) 14-35x; every step that is not a cut at most 2.7x (Megamind.avi),
1.8x (vtest.avi, people walking), 1.5x (slideshow zooms); people and captions popping in reach 30x but
change too little of the picture (`SPREAD_MIN`)."""
JUMP_FULL = 12.0
"""Jump that gives a texture cut strength 1."""
JUMP_MIN_THUMB = 0.025
"""Least layout step of a texture cut (the weakest measured, grass to gravel, 0.033; a caption popping in 0.011)."""
JUMP_MIN_TEXTURE = 0.08
"""Least texture step of a texture cut (the weakest measured 0.10)."""
THUMB_NOISE = 0.002
"""Layout step below which a picture counts as still: the least motion level a jump is measured against."""
TEXTURE_NOISE = 0.004
"""The same for the texture step."""
TEXTURE_FLOOR = 1e-4
"""Texture values are compared as logarithms (a ratio of detail), floored here so a black frame stays finite."""
CHANGED_CELL = 0.02
"""A thumbnail cell whose grey level moves more than this has changed."""
FLAT_CELL = 0.01
"""A cell whose 3x3 neighbourhood spans less grey than this is flat (a letterbox bar, a plain background)."""
SPREAD_MIN = 0.45
"""Least share of the picture's cells (flat unchanged cells, such as letterbox bars, left out) that change at a
texture cut. Measured: cuts between letterboxed grey photos 0.60-0.79, other cuts 0.75-0.97; a person popping in
0.24, a caption or a title card 0.09-0.30, a score changing on a scoreboard 0.03."""


@dataclass(frozen=True)
class Cut:
    """A hard cut at `time` (the first frame of the new shot), its `strength` in [0, 1] and the rule that found it."""

    time: float
    strength: float
    rule: str


def local_median(values: np.ndarray, radius: int) -> np.ndarray:
    """Median of each value's neighbours within `radius` (itself excluded; edges use what exists)."""
    padded = np.pad(values.astype(np.float64), radius, mode="constant", constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * radius + 1).copy()
    windows[:, radius] = np.nan
    return np.nan_to_num(np.nanmedian(windows, axis=1), nan=0.0)


def _adjacent_max(values: np.ndarray) -> np.ndarray:
    """The larger of each value's two adjacent values (0 past the ends)."""
    return np.maximum(np.r_[0.0, values[:-1]], np.r_[values[1:], 0.0])


def thumb_steps(features: FrameFeatures) -> np.ndarray:
    """Mean absolute grey difference of each frame's thumbnail from its predecessor's: (N,), 0 first."""
    steps = np.zeros(len(features), dtype=np.float64)
    if len(features) >= 2:
        steps[1:] = np.abs(features.thumbs[1:] - features.thumbs[:-1]).mean(axis=(1, 2))
    return steps


def texture_steps(features: FrameFeatures) -> np.ndarray:
    """Mean absolute change of each frame's log gradient texture from its predecessor's: (N,), 0 first (and
    0 where textures are unknown, in a memory saved before they were stored)."""
    steps = np.zeros(len(features), dtype=np.float64)
    if len(features) >= 2:
        logs = np.log(np.maximum(features.textures.astype(np.float64), TEXTURE_FLOOR))
        steps[1:] = np.nan_to_num(np.abs(logs[1:] - logs[:-1]).mean(axis=1), nan=0.0)
    return steps


def step_scores(features: FrameFeatures) -> np.ndarray:
    """Cut-likeness of each frame vs. its predecessor, sqrt(histogram step x layout step): (N,), 0 first."""
    scores = np.zeros(len(features), dtype=np.float64)
    if len(features) < 2:
        return scores
    hist_step = hist_distance(features.hists[1:], features.hists[:-1])
    scores[1:] = np.sqrt(hist_step * np.minimum(1.0, thumb_steps(features)[1:] / CUT_THUMB_FULL))
    return scores


def changed_share(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Share of thumbnail cells that change between two stacks of thumbnails (..., H, W), leaving out cells
    flat and unchanged in both (letterbox bars would otherwise make any cut look partial)."""
    moved = np.abs(after - before)
    inactive = _flat(before) & _flat(after) & (moved <= CHANGED_CELL)
    changed = (moved > CHANGED_CELL).sum(axis=(-2, -1))
    return changed / np.maximum((~inactive).sum(axis=(-2, -1)), 1)


def _flat(thumbs: np.ndarray) -> np.ndarray:
    """Cells whose 3x3 neighbourhood (edges repeated) spans less than `FLAT_CELL` of grey."""
    pad = [(0, 0)] * (thumbs.ndim - 2) + [(1, 1), (1, 1)]
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(thumbs, pad, mode="edge"), (3, 3), axis=(-2, -1))
    return windows.max(axis=(-2, -1)) - windows.min(axis=(-2, -1)) < FLAT_CELL


def _jump(steps: np.ndarray, radius: int, noise: float) -> np.ndarray:
    """How many times each step exceeds the motion around it: its local median, both adjacent steps, `noise`."""
    level = np.maximum(np.maximum(local_median(steps, radius), _adjacent_max(steps)), noise)
    return steps / level


def _colour_rule(features: FrameFeatures) -> dict[int, float]:
    """Frame index -> strength of the cuts whose colours change: spikes of `step_scores` over their
    neighbourhood and both adjacent steps."""
    scores = step_scores(features)
    if len(scores) < 2:
        return {}
    radius = max(2, round(CUT_CONTEXT_S * features.fps))
    median = local_median(scores, radius)
    spike = scores >= CUT_NEIGHBOUR_RATIO * _adjacent_max(scores)
    fired = (scores >= CUT_MIN) & (scores - median >= CUT_MARGIN) & spike
    return {int(i): float(min(1.0, (scores[i] - median[i]) / CUT_FULL)) for i in np.flatnonzero(fired)}


def _texture_rule(features: FrameFeatures) -> dict[int, float]:
    """Frame index -> strength of the cuts whose texture and layout change at once, far beyond the motion
    around them, over most of the picture."""
    if len(features) < 2:
        return {}
    radius = max(2, round(CUT_CONTEXT_S * features.fps))
    thumb, texture = thumb_steps(features), texture_steps(features)
    jump = np.minimum(_jump(thumb, radius, THUMB_NOISE), _jump(texture, radius, TEXTURE_NOISE))
    fired = (jump >= JUMP_MIN) & (thumb >= JUMP_MIN_THUMB) & (texture >= JUMP_MIN_TEXTURE)
    spread = np.zeros(len(features))
    spread[1:] = changed_share(features.thumbs[:-1], features.thumbs[1:])
    fired &= spread >= SPREAD_MIN
    return {int(i): float(min(1.0, jump[i] / JUMP_FULL)) for i in np.flatnonzero(fired)}


def find_cuts(features: FrameFeatures) -> list[Cut]:
    """Every hard cut by time: the colour rule's, and the texture rule's. Where both see one cut (at the same
    frame or adjacent ones) it is found once, at the colour rule's frame, with the stronger strength."""
    found = {index: (strength, "colour") for index, strength in _colour_rule(features).items()}
    for index, strength in _texture_rule(features).items():
        near = [i for i in (index, index - 1, index + 1) if i in found]
        if near:
            found[near[0]] = (max(found[near[0]][0], strength), found[near[0]][1])
        else:
            found[index] = (strength, "texture")
    return [Cut(float(features.times[i]), strength, rule) for i, (strength, rule) in sorted(found.items())]
