"""Speaker cues and attribution: how visible each person is while a transcript span is spoken, who is
likely speaking (never a still picture of a person), and the speech nodes and edges of the graph. The
mouth is not observed (see the package docstring), so no confidence exceeds MAX_SPEAKER_CONFIDENCE.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np

from core.types import TranscriptSpan, VideoRef
from memory.actor_graph.presence import Node, Samples, Span, overlap_seconds

VISIBLE = 0.5
"""Least keypoint visibility for a keypoint to count as seen."""
FACE_KEYPOINTS = (0, 1, 2, 3, 4)
"""COCO-17 nose, left eye, right eye, left ear, right ear."""
FRONTAL_KEYPOINTS = (0, 1, 2)
"""A face is frontal when the nose and both eyes are seen."""
SPEECH_BASE = 0.5
FACE_WEIGHT = 0.3
SIZE_WEIGHT = 0.2
"""Speaker cue of one person over a span: on-screen fraction x (SPEECH_BASE + FACE_WEIGHT x frontal share
+ SIZE_WEIGHT x size); a person seen whole, frontal and large scores 1."""
SIZE_FULL = 0.5
"""Box height (fraction of the frame height) at which the size cue is full."""
MAX_SPEAKER_CONFIDENCE = 0.9
"""Ceiling of any speaker confidence: nobody's mouth is observed, so a visible person may still be silent."""
NO_MOUTH_NOTE = (
    "speaker guessed from who is visible (on-screen time, face seen, box size); mouth movement is not observed"
)
NO_ONE_NOTE = "nobody on screen: an off-screen speaker or narrator"
STILL_NOTE = "only still pictures of people on screen, no body moves: the narrator or an off-screen voice"
STILL_POSE = 0.025
"""Median spread of a person's body keypoints within their box (fraction of the box) below which the person
is a still picture, never credited with speech. Measured with yolo11n-pose: the sample video's zoomed and
panned photos 0.012-0.014; the talking characters of opencv's Megamind.avi 0.033-0.090 (tracks of 12+
samples); the walkers of vtest.avi 0.068-0.244."""
MIN_POSE_SAMPLES = 3


@dataclass(frozen=True)
class SpeakerCue:
    """How visible one person is while a span is spoken, and the resulting share of speaker evidence."""

    on_screen_fraction: float
    box_size: float
    """Mean box height over the span, as a fraction of the frame height."""
    face_visible: float
    """Mean share of the five face keypoints seen (0.5 when the model gives no keypoints)."""
    frontal: float
    """Share of samples with nose and both eyes seen (0.5 when unknown)."""

    @property
    def score(self) -> float:
        size = min(1.0, self.box_size / SIZE_FULL)
        return self.on_screen_fraction * (SPEECH_BASE + FACE_WEIGHT * self.frontal + SIZE_WEIGHT * size)


def speaker_confidences(scores: Sequence[float]) -> list[float]:
    """Confidence that each visible person speaks: their share of the visibility evidence, where evidence
    short of one whole visible person is left to an off-screen speaker, capped by MAX_SPEAKER_CONFIDENCE."""
    total = max(1.0, float(sum(scores)))
    return [round(MAX_SPEAKER_CONFIDENCE * s / total, 3) for s in scores]


def _cue(samples: Samples, presence: Sequence[Span], span: TranscriptSpan, frame_height: float) -> SpeakerCue:
    length = max(span.t1 - span.t0, 1e-6)
    fraction = min(1.0, overlap_seconds(presence, span.t0, span.t1) / length)
    rows = samples.within(span.t0, span.t1)
    if rows.size == 0:  # a short span between samples: the nearest ones
        rows = np.argsort(np.abs(samples.times - (span.t0 + span.t1) / 2))[:2]
    heights = samples.boxes[rows, 3] - samples.boxes[rows, 1]
    points = [samples.keypoints[r] for r in rows if len(samples.keypoints[r]) > max(FACE_KEYPOINTS)]
    if points:
        seen = np.array([[p[k][2] >= VISIBLE for k in FACE_KEYPOINTS] for p in points])
        face, frontal = float(seen.mean()), float(seen[:, list(FRONTAL_KEYPOINTS)].all(axis=1).mean())
    else:
        face = frontal = 0.5
    return SpeakerCue(
        round(fraction, 3), round(float(heights.mean()) / frame_height, 3), round(face, 3), round(frontal, 3)
    )


def pose_motion(samples: Samples, rows: np.ndarray | None = None) -> float | None:
    """How much a person's pose changes within their box: the median over steadily seen keypoints of the
    spread of their box-relative positions (None without keypoints, or with too few samples to tell)."""
    picked = range(len(samples.times)) if rows is None else rows
    points, boxes = [], []
    for r in picked:
        if len(samples.keypoints[r]) > max(FACE_KEYPOINTS):
            points.append(samples.keypoints[r])
            boxes.append(samples.boxes[r])
    if len(points) < MIN_POSE_SAMPLES:
        return None
    kp, box = np.asarray(points, dtype=np.float64), np.asarray(boxes, dtype=np.float64)
    width = np.maximum(box[:, 2] - box[:, 0], 1.0)[:, None]
    height = np.maximum(box[:, 3] - box[:, 1], 1.0)[:, None]
    x, y, seen = (kp[:, :, 0] - box[:, 0:1]) / width, (kp[:, :, 1] - box[:, 1:2]) / height, kp[:, :, 2] >= VISIBLE
    steady = [k for k in range(kp.shape[1]) if seen[:, k].mean() >= 0.5 and seen[:, k].sum() >= MIN_POSE_SAMPLES]
    if not steady:
        return None
    spreads = [float(np.hypot(x[seen[:, k], k].std(), y[seen[:, k], k].std())) for k in steady]
    return round(float(np.median(spreads)), 4)


def _still_picture(person: Node, span: TranscriptSpan) -> bool:
    """Whether a person seen while a span is spoken is a still picture (a photo, a frozen frame), by the pose
    model's keypoints over the span (over their whole presence when the span has too few samples)."""
    motion = pose_motion(person.samples, person.samples.within(span.t0, span.t1))
    if motion is None:
        motion = pose_motion(person.samples)
    return motion is not None and motion < STILL_POSE


def add_speech(graph: nx.MultiDiGraph, spans: Sequence[TranscriptSpan], people: Sequence[Node], ref: VideoRef) -> None:
    """Add a speech node per span and speech edges to the people on screen while it is spoken; only a person
    who moves (not a still picture of one) may be credited with the words."""
    for index, span in enumerate(spans):
        node_id = f"speech:{index}"
        seen = [p for p in people if overlap_seconds(p.presence, span.t0, span.t1) > 0]
        visible = [p for p in seen if not _still_picture(p, span)]
        cues = [_cue(p.samples, p.presence, span, ref.height) for p in visible]
        confidences = speaker_confidences([c.score for c in cues])
        best = max(range(len(visible)), key=lambda i: (cues[i].score, -i), default=None)
        speaker = visible[best].actor_id if best is not None else None
        graph.add_node(
            node_id,
            kind="speech",
            t0=round(span.t0, 3),
            t1=round(span.t1, 3),
            text=span.text,
            speaker=speaker,
            speaker_confidence=confidences[best] if best is not None else 0.0,
            on_screen=[p.actor_id for p in seen],
            still=[p.actor_id for p in seen if p not in visible],
            note=NO_MOUTH_NOTE if visible else STILL_NOTE if seen else NO_ONE_NOTE,
        )
        for person in seen:
            i = visible.index(person) if person in visible else None
            cue = cues[i] if i is not None else _cue(person.samples, person.presence, span, ref.height)
            graph.add_edge(
                node_id,
                person.node_id,
                kind="speech",
                on_screen_fraction=cue.on_screen_fraction,
                box_size=cue.box_size,
                face_visible=cue.face_visible,
                frontal=cue.frontal,
                score=round(cue.score, 3),
                confidence=confidences[i] if i is not None else 0.0,
                likely_speaker=i is not None and i == best,
                still=i is None,
            )
