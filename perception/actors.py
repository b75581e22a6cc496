"""Actors: tracks split at shot cuts, merged into individuals by appearance, and what they do (pose).

ByteTrack gives a new id whenever it loses someone (occlusion, leaving the frame) and may keep one id
across a hard cut when two people stand in the same place. `split_at_cuts` undoes the second;
`build_actors` undoes the first by average-linkage clustering of track appearance, under the hard rule
that tracks seen at the same time are different individuals. `behaviours` reads COCO-17 keypoints over
time: walking, standing, sitting, arms raised.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from core.types import Actor, Behaviour, Track
from models.adapters.appearance import normalise

SIMILARITY_THRESHOLD = 0.9
"""Least appearance cosine (average linkage) for two groups of tracks to be one individual. Tuned on the
colour/texture descriptor over vtest.avi (64 tracks at 5 fps): halves of one track score >= 0.88 in 95%
of tracks, pedestrians on screen together 0.80 median and <= 0.91 in 90% of pairs. 0.85 merged those
64 tracks into 15 actors, 0.90 into 26 (checked by eye: mostly the same clothes), 0.94 into 35."""
MAX_GAP_S = math.inf
"""Longest absence across which tracks may still be merged; unlimited by default (people come back)."""
GAP_PENALTY_PER_S = 0.002
"""Merge order prefers temporally adjacent candidates: similarity minus this per second of gap."""
MIN_TRACK_FRAMES = 3
"""Tracks seen on fewer sampled frames only join an actor (or stand alone); they never bridge two actors."""
JOIN_GAP_S = 1.0
"""Detections closer than this (or two sampling periods, if longer) belong to one on-screen interval."""

VISIBLE = 0.5
"""Least keypoint visibility (the pose model's confidence) for a keypoint to count."""
BEHAVIOUR_WINDOW_S = 1.0
"""Behaviours are judged over windows of about a second (at least two samples each)."""
WALK_SPEED = 0.25
"""Box heights per second of hip displacement (plus relative change of scale) above which a person walks;
a walk is ~0.5-1 body heights a second, box jitter of a standing person well under 0.1."""
ARM_MARGIN = 0.1
"""A wrist is raised when it is above its shoulder by this many torso lengths."""
SIT_THIGH = 0.5
"""Sitting: the knees are less than this many torso lengths below the hips (thighs near horizontal)."""
STAND_THIGH = 0.65
"""Upright legs: the knees are more than this many torso lengths below the hips (thighs near vertical)."""
UPRIGHT = 0.8
"""Upright torso: vertical extent / length of the shoulder-to-hip segment (cos of the lean, ~37 degrees)."""
SEATED_TORSO = 0.5
"""A sitting torso may lean further, but the hips must still be below the shoulders (lean up to 60 degrees)."""

SHOULDERS, ELBOWS, WRISTS, HIPS, KNEES = (5, 6), (7, 8), (9, 10), (11, 12), (13, 14)
"""COCO-17 keypoint indices (left, right)."""


# --- splitting at cuts ------------------------------------------------------------------------


def _mean_appearance(samples: Sequence[tuple[float, ...]]) -> tuple[float, ...]:
    """Unit-length mean of the non-empty appearance samples; () when there are none."""
    taken = [s for s in samples if s]
    if not taken:
        return ()
    return tuple(round(float(v), 5) for v in normalise(np.mean(np.asarray(taken, dtype=np.float64), axis=0)))


def _part(track: Track, rows: np.ndarray, track_id: int) -> Track:
    """The sub-track made of the given sample rows, with its own id and appearance."""
    pick = [int(r) for r in rows]
    samples = tuple(track.samples_appearance[r] for r in pick) if track.samples_appearance else ()
    return replace(
        track,
        track_id=track_id,
        times=tuple(track.times[r] for r in pick),
        boxes=tuple(track.boxes[r] for r in pick),
        confidences=tuple(track.confidences[r] for r in pick),
        keypoints=tuple(track.keypoints[r] for r in pick) if track.keypoints else (),
        appearance=_mean_appearance(samples),
        samples_appearance=samples if any(samples) else (),
    )


def split_at_cuts(tracks: Sequence[Track], cut_times: Sequence[float]) -> list[Track]:
    """Split every track at each shot cut inside it: the part before keeps the id, later parts get new ids.

    A sample at exactly a cut time belongs to the new shot. Each part's appearance is the mean of its own
    samples (`Track.samples_appearance`); a part without samples gets no appearance, so it is never merged
    with anyone by `build_actors`. Tracks no cut falls inside are returned unchanged.
    """
    cuts = np.sort(np.asarray(cut_times, dtype=np.float64))
    next_id = max((t.track_id for t in tracks), default=0) + 1
    result: list[Track] = []
    for track in tracks:
        shot = np.searchsorted(cuts, np.asarray(track.times), side="right")
        if shot[0] == shot[-1]:
            result.append(track)
            continue
        first, *later = np.unique(shot)
        result.append(_part(track, np.flatnonzero(shot == first), track.track_id))
        for value in later:
            result.append(_part(track, np.flatnonzero(shot == value), next_id))
            next_id += 1
    return sorted(result, key=lambda t: (t.t0, t.track_id))


# --- merging tracks into actors ---------------------------------------------------------------


@dataclass
class _Pairs:
    """Pairwise relations between groups of tracks, updated as groups merge (average linkage)."""

    similarity: np.ndarray
    overlap: np.ndarray
    gap: np.ndarray
    sizes: np.ndarray
    members: list[list[int]]

    def merge(self, keep: int, gone: int) -> None:
        """Fold group `gone` into `keep` (Lance-Williams update for the average similarity)."""
        a, b = self.sizes[keep], self.sizes[gone]
        row = (a * self.similarity[keep] + b * self.similarity[gone]) / (a + b)
        self.similarity[keep], self.similarity[:, keep] = row, row
        self.overlap[keep] |= self.overlap[gone]
        self.overlap[:, keep] = self.overlap[keep]
        self.gap[keep] = np.minimum(self.gap[keep], self.gap[gone])
        self.gap[:, keep] = self.gap[keep]
        self.sizes[keep] = a + b
        self.members[keep] += self.members[gone]
        self.members[gone] = []
        self.overlap[gone], self.overlap[:, gone] = True, True  # never chosen again


def _appearance_matrix(tracks: Sequence[Track]) -> tuple[np.ndarray, np.ndarray]:
    """(n, D) unit appearance vectors and which tracks have one of the common dimension."""
    dims = [len(t.appearance) for t in tracks if t.appearance]
    dim = max(set(dims), key=dims.count) if dims else 0
    has = np.array([len(t.appearance) == dim > 0 for t in tracks], dtype=bool)
    vectors = np.zeros((len(tracks), dim))
    for row in np.flatnonzero(has):
        vectors[row] = tracks[row].appearance
    return normalise(vectors), has


def _pairs(tracks: Sequence[Track]) -> _Pairs:
    """Similarity, time overlap and time gap between every two tracks."""
    vectors, has = _appearance_matrix(tracks)
    similarity = vectors @ vectors.T
    similarity[~(has[:, None] & has[None, :])] = -np.inf
    t0 = np.array([t.t0 for t in tracks])
    t1 = np.array([t.t1 for t in tracks])
    start, end = np.maximum(t0[:, None], t0[None, :]), np.minimum(t1[:, None], t1[None, :])
    overlap = start <= end
    np.fill_diagonal(overlap, True)
    members = [[i] for i in range(len(tracks))]
    return _Pairs(similarity, overlap, np.maximum(start - end, 0.0), np.ones(len(tracks)), members)


def _candidates(pairs: _Pairs, threshold: float, max_gap_s: float) -> np.ndarray:
    """Merge scores of the allowed group pairs (similar enough, never together on screen, gap allowed)."""
    allowed = (~pairs.overlap) & (pairs.similarity >= threshold) & (pairs.gap <= max_gap_s)
    return np.where(allowed, pairs.similarity - GAP_PENALTY_PER_S * pairs.gap, -np.inf)


def _agglomerate(pairs: _Pairs, threshold: float, max_gap_s: float) -> None:
    """Merge the best-scoring allowed pair of groups until none is left."""
    while True:
        scores = _candidates(pairs, threshold, max_gap_s)
        best = int(np.argmax(scores))
        keep, gone = divmod(best, len(scores))
        if not np.isfinite(scores[keep, gone]):
            return
        pairs.merge(min(keep, gone), max(keep, gone))


def _attach(pairs: _Pairs, short: Sequence[int], threshold: float, max_gap_s: float) -> None:
    """Each short track (in time order) joins its best allowed group, or stays alone; it never bridges two."""
    for track in short:
        scores = _candidates(pairs, threshold, max_gap_s)[track]
        scores[list(short)] = -np.inf  # only into groups of full tracks (which earlier short ones may have joined)
        best = int(np.argmax(scores))
        if np.isfinite(scores[best]):
            pairs.merge(best, track)


def group_tracks(
    tracks: Sequence[Track],
    similarity_threshold: float = SIMILARITY_THRESHOLD,
    max_gap_s: float = MAX_GAP_S,
    min_track_frames: int = MIN_TRACK_FRAMES,
) -> list[list[Track]]:
    """Partition tracks of one label into individuals: full tracks cluster, then short tracks join or stay."""
    ordered = sorted(tracks, key=lambda t: (t.t0, t.track_id))
    pairs = _pairs(ordered)
    short = [i for i, t in enumerate(ordered) if len(t.times) < min_track_frames]
    blocked = pairs.overlap.copy()
    pairs.overlap[short, :], pairs.overlap[:, short] = True, True  # full tracks cluster among themselves first
    _agglomerate(pairs, similarity_threshold, max_gap_s)
    for index in short:  # restore the short tracks' real relations, now to the merged groups
        pairs.overlap[index] = _group_overlap(blocked, pairs.members, index)
        pairs.overlap[:, index] = pairs.overlap[index]
    _attach(pairs, short, similarity_threshold, max_gap_s)
    return [[ordered[i] for i in sorted(group)] for group in pairs.members if group]


def _group_overlap(overlap: np.ndarray, members: list[list[int]], track: int) -> np.ndarray:
    """Whether `track` overlaps in time any track of each current group (row indexed by group slot)."""
    row = np.ones(len(members), dtype=bool)
    for slot, group in enumerate(members):
        if group and slot != track:
            row[slot] = bool(overlap[track, group].any())
    return row


def _join_limit(times: np.ndarray, join_gap_s: float) -> float:
    """Largest gap between detections still inside one interval: join_gap_s or two sampling periods."""
    steps = np.diff(np.unique(times))
    return max(join_gap_s, 2.0 * float(steps.min())) if steps.size else join_gap_s


def on_screen_intervals(tracks: Sequence[Track], join_gap_s: float = JOIN_GAP_S) -> tuple[tuple[float, float], ...]:
    """Merged (t0, t1) intervals of the tracks' detection times, broken where detections stop for a while."""
    times = np.unique(np.concatenate([np.asarray(t.times, dtype=np.float64) for t in tracks]))
    breaks = np.flatnonzero(np.diff(times) > _join_limit(times, join_gap_s))
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(times) - 1]])
    return tuple((float(times[a]), float(times[b])) for a, b in zip(starts, ends))


def keyframe(tracks: Sequence[Track]) -> float:
    """Time of the largest box among the tracks: where the individual is seen best."""
    best = max(
        ((x2 - x1) * (y2 - y1), -time) for t in tracks for time, (x1, y1, x2, y2) in zip(t.times, t.boxes)
    )
    return -best[1]


BODY_KEYPOINTS = slice(5, 13)
"""COCO keypoints 5-12: shoulders, elbows, wrists and hips (0-4 are the face)."""
MIN_BODY_VISIBILITY = 0.3
"""A person track must show some body: the median over its detections of the best body keypoint's visibility.
yolo11n-pose took scikit-image's cat photo for a person (confidence 0.59) with face points 0.6-0.9 and every
body point below 0.1; pedestrians in vtest.avi score 0.93 or more."""


def looks_like_a_person(track: Track) -> bool:
    """Whether a detector's `person` track has a body a pose model can see (always True without keypoints,
    and for other labels): a face-like thing, such as an animal or a poster, does not become an actor."""
    if track.label != "person" or not track.keypoints:
        return True
    best = [max(point[2] for point in points[BODY_KEYPOINTS]) for points in track.keypoints if len(points) >= 13]
    return not best or float(np.median(best)) >= MIN_BODY_VISIBILITY


def build_actors(
    tracks: Sequence[Track],
    similarity_threshold: float = SIMILARITY_THRESHOLD,
    max_gap_s: float = MAX_GAP_S,
    min_track_frames: int = MIN_TRACK_FRAMES,
    join_gap_s: float = JOIN_GAP_S,
) -> list[Actor]:
    """Merge tracks into actors per label by appearance; ids from 1 in order of first appearance.

    Two tracks on screen at the same time are never one actor; tracks without an appearance stay alone;
    short tracks (< min_track_frames) join an actor or become their own; a `person` track whose pose shows no
    body (see `looks_like_a_person`) is not an actor.
    """
    tracks = [t for t in tracks if looks_like_a_person(t)]
    groups: list[list[Track]] = []
    for label in sorted({t.label for t in tracks}):
        same = [t for t in tracks if t.label == label]
        groups += group_tracks(same, similarity_threshold, max_gap_s, min_track_frames)
    groups.sort(key=lambda g: (min(t.t0 for t in g), min(t.track_id for t in g)))
    return [
        Actor(
            actor_id=number,
            label=group[0].label,
            track_ids=tuple(sorted(t.track_id for t in group)),
            intervals=on_screen_intervals(group, join_gap_s),
            behaviours=behaviours(group, join_gap_s=join_gap_s),
            keyframe=keyframe(group),
        )
        for number, group in enumerate(groups, start=1)
    ]


# --- behaviours from pose ---------------------------------------------------------------------


@dataclass(frozen=True)
class _PoseFeatures:
    """Per-sample pose measurements of one track (NaN or False where the keypoints are not visible)."""

    position: np.ndarray
    """(N, 2) hip midpoint (shoulder midpoint when no hip is visible)."""
    height: np.ndarray
    """(N,) box height in pixels."""
    raised: np.ndarray
    arms_seen: np.ndarray
    """(N,) a wrist above its shoulder / some wrist-and-shoulder pair visible at all."""
    sitting: np.ndarray
    standing: np.ndarray
    posture_seen: np.ndarray
    """(N,) seated / upright pose, and whether the torso and a thigh were visible to tell."""
    visibility: np.ndarray
    """(N,) mean visibility of the body keypoints (shoulders to knees): how sure the pose is."""


def _midpoint(points: np.ndarray, seen: np.ndarray, pair: tuple[int, int]) -> np.ndarray:
    """(N, 2) mean of the visible keypoints of a pair; NaN where neither is visible."""
    xy, mask = points[:, list(pair), :2], seen[:, list(pair)]
    counts = mask.sum(axis=1)
    total = (xy * mask[..., None]).sum(axis=1)
    return np.where(counts[:, None] > 0, total / np.maximum(counts, 1)[:, None], np.nan)


def _pose_features(track: Track) -> _PoseFeatures:
    """Measure every sample of a track with keypoints (batched over samples)."""
    points = np.asarray(track.keypoints, dtype=np.float64)  # (N, 17, 3)
    seen = points[..., 2] >= VISIBLE
    y = points[..., 1]
    boxes = np.asarray(track.boxes, dtype=np.float64)
    shoulder, hip = _midpoint(points, seen, SHOULDERS), _midpoint(points, seen, HIPS)
    torso = np.linalg.norm(hip - shoulder, axis=1)  # NaN when either end is missing
    upright = (hip[:, 1] - shoulder[:, 1]) / np.where(torso > 0, torso, np.nan)
    scale = np.where(np.isfinite(torso) & (torso > 0), torso, 0.3 * (boxes[:, 3] - boxes[:, 1]))

    arm_pairs = seen[:, list(WRISTS)] & seen[:, list(SHOULDERS)]
    above = y[:, list(WRISTS)] < y[:, list(SHOULDERS)] - ARM_MARGIN * scale[:, None]
    thigh_pairs = seen[:, list(HIPS)] & seen[:, list(KNEES)]
    drop = np.where(thigh_pairs, y[:, list(KNEES)] - y[:, list(HIPS)], 0.0).sum(axis=1)
    sides = thigh_pairs.sum(axis=1)
    thigh = np.where((sides > 0) & (torso > 0), drop / np.maximum(sides, 1) / np.where(torso > 0, torso, 1.0), np.nan)
    known = np.isfinite(thigh) & np.isfinite(upright)
    body = list(SHOULDERS + HIPS + KNEES)
    return _PoseFeatures(
        position=np.where(np.isnan(hip), shoulder, hip),
        height=boxes[:, 3] - boxes[:, 1],
        raised=(arm_pairs & above).any(axis=1),
        arms_seen=arm_pairs.any(axis=1),
        sitting=known & (np.nan_to_num(thigh, nan=1.0) < SIT_THIGH) & (np.nan_to_num(upright) >= SEATED_TORSO),
        standing=known & (np.nan_to_num(thigh) > STAND_THIGH) & (np.nan_to_num(upright) >= UPRIGHT),
        posture_seen=known,
        visibility=points[:, body, 2].mean(axis=1),
    )


@dataclass(frozen=True)
class _Window:
    """One behaviour judged over one window of one track: samples from t0 to t1, n of them."""

    label: str
    t0: float
    t1: float
    confidence: float
    samples: int


def _windows(times: np.ndarray, window_s: float) -> list[np.ndarray]:
    """Consecutive sample-index windows of about window_s (two sampling periods at least, 2+ samples each)."""
    steps = np.diff(times)
    length = max(window_s, 2.0 * float(np.median(steps))) if steps.size else window_s
    bins = np.floor((times - times[0]) / length + 1e-9).astype(int)
    groups = [np.flatnonzero(bins == b) for b in np.unique(bins)]
    if len(groups) > 1 and len(groups[-1]) < 2:
        groups[-2:] = [np.concatenate(groups[-2:])]
    return groups


def _speed(features: _PoseFeatures, times: np.ndarray, rows: np.ndarray) -> float | None:
    """Box heights per second moved across a window (position plus scale change); None if unmeasurable."""
    rows = rows[np.isfinite(features.position[rows]).all(axis=1)]
    if len(rows) < 2 or times[rows[-1]] <= times[rows[0]]:
        return None
    first, last = rows[0], rows[-1]
    seconds = times[last] - times[first]
    height = float(np.median(features.height[rows]))
    shift = float(np.linalg.norm(features.position[last] - features.position[first])) / max(height, 1.0)
    zoom = abs(math.log(max(features.height[last], 1.0) / max(features.height[first], 1.0)))
    return (shift + zoom) / seconds


def _judge(features: _PoseFeatures, times: np.ndarray, rows: np.ndarray) -> list[tuple[str, float]]:
    """The (label, confidence) behaviours of one window: one posture or walking, plus arms_raised."""
    found: list[tuple[str, float]] = []
    sureness = float(features.visibility[rows].mean())
    seen = int(features.posture_seen[rows].sum())
    sitting = int(features.sitting[rows].sum())
    standing = int(features.standing[rows].sum())
    speed = _speed(features, times, rows)
    if seen and 2 * sitting > seen:
        found.append(("sitting", sitting / seen * sureness))
    elif speed is not None and speed >= WALK_SPEED:
        found.append(("walking", min(1.0, speed / (2 * WALK_SPEED))))
    elif speed is not None and seen and 2 * standing > seen:
        found.append(("standing", standing / seen * sureness))
    arms = int(features.arms_seen[rows].sum())
    raised = int(features.raised[rows].sum())
    if arms and 2 * raised >= arms and raised:
        found.append(("arms_raised", raised / arms * sureness))
    return found


def _track_windows(track: Track, window_s: float) -> list[_Window]:
    """Behaviour windows of one track (none when it has no keypoints)."""
    if not track.keypoints:
        return []
    times = np.asarray(track.times, dtype=np.float64)
    features = _pose_features(track)
    windows = []
    for rows in _windows(times, window_s):
        for label, confidence in _judge(features, times, rows):
            windows.append(_Window(label, float(times[rows[0]]), float(times[rows[-1]]), confidence, len(rows)))
    return windows


def _merge_windows(windows: Sequence[_Window], limit: float) -> list[Behaviour]:
    """Consecutive same-label windows (gap <= limit) -> one Behaviour, confidence weighted by samples."""
    merged: list[Behaviour] = []
    for label in sorted({w.label for w in windows}):
        run: list[_Window] = []
        for window in sorted((w for w in windows if w.label == label), key=lambda w: w.t0):
            if run and window.t0 - max(w.t1 for w in run) > limit:
                merged.append(_behaviour(run))
                run = []
            run.append(window)
        if run:
            merged.append(_behaviour(run))
    return sorted(merged, key=lambda b: (b.t0, b.label))


def _behaviour(run: Sequence[_Window]) -> Behaviour:
    """One Behaviour from a run of same-label windows."""
    weight = sum(w.samples for w in run)
    confidence = sum(w.confidence * w.samples for w in run) / weight
    return Behaviour(run[0].label, run[0].t0, max(w.t1 for w in run), round(confidence, 3))


def behaviours(
    tracks: Track | Sequence[Track], window_s: float = BEHAVIOUR_WINDOW_S, join_gap_s: float = JOIN_GAP_S
) -> tuple[Behaviour, ...]:
    """Pose behaviours (walking, standing, sitting, arms_raised) of a track or an actor's tracks, by time.

    Each track is cut into ~window_s windows (motion is never measured across two tracks); consecutive
    windows with the same label merge into one interval. Tracks without keypoints give nothing.
    """
    group = [tracks] if isinstance(tracks, Track) else list(tracks)
    windows = [w for track in group for w in _track_windows(track, window_s)]
    if not windows:
        return ()
    times = np.concatenate([np.asarray(t.times, dtype=np.float64) for t in group])
    return tuple(_merge_windows(windows, _join_limit(times, join_gap_s)))
