"""Core data types shared by every layer. Times are float seconds from the start of the video."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal


def format_timestamp(seconds: float) -> str:
    """Render seconds as `mm:ss` (or `h:mm:ss` past an hour); used only at the edges."""
    total = max(0, int(round(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}"


@dataclass(frozen=True)
class VideoRef:
    """A decodable video file, identified by the hash of its content."""

    path: Path
    content_hash: str
    duration: float
    fps: float
    width: int
    height: int
    num_frames: int
    audio_duration: float
    """Seconds of audio actually present; 0 when the file has no audio track."""

    @property
    def has_audio(self) -> bool:
        return self.audio_duration > 0

    @property
    def video_id(self) -> str:
        """Short stable id used in memory records and filenames."""
        return self.content_hash[:16]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "VideoRef":
        return cls(**{**data, "path": Path(data["path"])})


@dataclass(frozen=True)
class Word:
    """One recognised word with its time span and recogniser probability."""

    t0: float
    t1: float
    text: str
    probability: float = 1.0


@dataclass(frozen=True)
class TranscriptSpan:
    """One stretch of speech (a recogniser segment) with word timestamps."""

    t0: float
    t1: float
    text: str
    words: tuple[Word, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"t0": self.t0, "t1": self.t1, "text": self.text, "words": [asdict(w) for w in self.words]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TranscriptSpan":
        words = tuple(Word(**w) for w in data.get("words", ()))
        return cls(t0=data["t0"], t1=data["t1"], text=data["text"], words=words)


@dataclass(frozen=True)
class Track:
    """One tracked object: a tracker id, its class and its boxes (x1, y1, x2, y2 pixels) over time."""

    track_id: int
    label: str
    times: tuple[float, ...]
    boxes: tuple[tuple[float, float, float, float], ...]
    confidences: tuple[float, ...]
    keypoints: tuple[tuple[tuple[float, float, float], ...], ...] = ()

    @property
    def t0(self) -> float:
        return self.times[0]

    @property
    def t1(self) -> float:
        return self.times[-1]

    @property
    def mean_confidence(self) -> float:
        return sum(self.confidences) / len(self.confidences)

    def to_dict(self) -> dict[str, Any]:
        return {
            "track_id": self.track_id,
            "label": self.label,
            "times": list(self.times),
            "boxes": [list(b) for b in self.boxes],
            "confidences": list(self.confidences),
            "keypoints": [[list(p) for p in person] for person in self.keypoints],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Track":
        return cls(
            track_id=int(data["track_id"]),
            label=data["label"],
            times=tuple(data["times"]),
            boxes=tuple(tuple(b) for b in data["boxes"]),  # type: ignore[misc]
            confidences=tuple(data["confidences"]),
            keypoints=tuple(tuple(tuple(p) for p in person) for person in data.get("keypoints", ())),  # type: ignore[misc]
        )


@dataclass
class Segment:
    """A fixed-length stretch of video: the unit of visual memory."""

    video_id: str
    index: int
    t0: float
    t1: float
    embedding: list[float] | None = None
    cluster: int | None = None
    caption: str = ""
    transcript: str = ""
    actors: list[int] = field(default_factory=list)


EvidenceKind = Literal["transcript", "segment", "track", "caption", "note"]


@dataclass(frozen=True)
class Evidence:
    """One piece of grounding for an answer: what, where in the video, how relevant, from which tool."""

    kind: EvidenceKind
    video_id: str
    t0: float
    t1: float
    text: str
    score: float
    source: str
    keyframe: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def cite(self) -> str:
        """The `[mm:ss]` citation of this evidence's start."""
        return f"[{format_timestamp(self.t0)}]"


@dataclass
class Answer:
    """What `ask()` returns: the narrative, the evidence it cites, where time went, which models ran."""

    question: str
    text: str
    evidence: list[Evidence]
    timings: dict[str, float] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)
    video: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "evidence": [e.to_dict() for e in self.evidence],
            "timings": self.timings,
            "models": self.models,
            "video": self.video,
        }
