"""Core data types shared by every layer. Times are float seconds from the start of the video."""

from __future__ import annotations

from collections.abc import Mapping
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
    decoder: str = "decord"
    """Frame decoder that reads this file: `decord` (random access) or `pyav` (formats decord lacks)."""

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
    def from_dict(cls, data: dict[str, Any]) -> VideoRef:
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
    def from_dict(cls, data: dict[str, Any]) -> TranscriptSpan:
        words = tuple(Word(**w) for w in data.get("words", ()))
        return cls(t0=data["t0"], t1=data["t1"], text=data["text"], words=words)


@dataclass(frozen=True)
class ScreenText:
    """One piece of text shown in the picture (a title, a caption, a sign, a score) and while it is shown."""

    t0: float
    t1: float
    """When it was first read, and when it was last seen (halfway to the frame where it was gone: the sweep
    reads about once a second, so either end may be off by half a second)."""
    text: str
    box: tuple[float, float, float, float]
    """Where it stands (x0, y0, x1, y1 pixels of the frame), as first read."""
    confidence: float
    """The reader's best recognition confidence over its reads, 0..1."""
    reads: int = 1
    """Frames it was read in."""

    def to_dict(self) -> dict[str, Any]:
        return {"t0": self.t0, "t1": self.t1, "text": self.text, "box": list(self.box),
                "confidence": self.confidence, "reads": self.reads}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScreenText:
        x0, y0, x1, y1 = (float(v) for v in data["box"])
        return cls(float(data["t0"]), float(data["t1"]), str(data["text"]), (x0, y0, x1, y1),
                   float(data["confidence"]), int(data.get("reads", 1)))  # fmt: skip


@dataclass(frozen=True)
class ObjectSightings:
    """Per sampled frame, how many of each class the detector found and its best score for the class: what
    "how many at once" and "when is X shown" read (raw detections, not only confirmed tracks)."""

    times: tuple[float, ...]
    """Every frame the detector ran on, in order (a class absent from a frame is known absent there)."""
    counts: dict[str, tuple[int, ...]]
    """Class -> its count on each frame of `times` (classes never found are left out)."""
    scores: dict[str, tuple[float, ...]]
    """Class -> its best detection score on each frame (0 where absent)."""
    classes: tuple[str, ...] = ()
    """Every class the detector can find (what a "no" answer could have seen)."""

    def to_dict(self) -> dict[str, Any]:
        return {"times": list(self.times), "counts": {k: list(v) for k, v in self.counts.items()},
                "scores": {k: list(v) for k, v in self.scores.items()}, "classes": list(self.classes)}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ObjectSightings:
        return cls(tuple(float(t) for t in data["times"]),
                   {str(k): tuple(int(c) for c in v) for k, v in data["counts"].items()},
                   {str(k): tuple(float(c) for c in v) for k, v in data["scores"].items()},
                   tuple(str(c) for c in data.get("classes", ())))  # fmt: skip


@dataclass(frozen=True)
class Track:
    """One tracked object: a tracker id, its class and its boxes (x1, y1, x2, y2 pixels) over time. People (the
    `tracks` stage, with pose and appearance) and everyday objects (the `objects` stage, boxes only) alike."""

    track_id: int
    label: str
    times: tuple[float, ...]
    boxes: tuple[tuple[float, float, float, float], ...]
    confidences: tuple[float, ...]
    keypoints: tuple[tuple[tuple[float, float, float], ...], ...] = ()
    """Per sampled frame, the pose keypoints (x, y, visibility) of the box; empty for non-pose models."""
    appearance: tuple[float, ...] = ()
    """Unit-length appearance embedding of the track's crops (CLIP or colour/texture); used for re-id."""
    samples_appearance: tuple[tuple[float, ...], ...] = ()
    """Aligned with `times`: the appearance vector of that frame's crop, or () where none was taken; lets
    a track split at a shot cut recompute each part's `appearance`. Empty when no samples were kept."""

    @property
    def t0(self) -> float:
        return self.times[0]

    @property
    def t1(self) -> float:
        return self.times[-1]

    @property
    def mean_confidence(self) -> float:
        return sum(self.confidences) / len(self.confidences)

    @property
    def peak_confidence(self) -> float:
        """The detector's best score on the track."""
        return max(self.confidences)

    @property
    def best(self) -> int:
        """Index of the most confident detection: the frame the track's best crop comes from."""
        return max(range(len(self.confidences)), key=self.confidences.__getitem__)

    def to_dict(self) -> dict[str, Any]:
        return {
            "track_id": self.track_id,
            "label": self.label,
            "times": list(self.times),
            "boxes": [list(b) for b in self.boxes],
            "confidences": list(self.confidences),
            "keypoints": [[list(p) for p in person] for person in self.keypoints],
            "appearance": list(self.appearance),
            "samples_appearance": [list(s) for s in self.samples_appearance],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Track:
        return cls(
            track_id=int(data["track_id"]),
            label=data["label"],
            times=tuple(data["times"]),
            boxes=tuple(tuple(b) for b in data["boxes"]),  # type: ignore[misc]
            confidences=tuple(data["confidences"]),
            keypoints=tuple(tuple(tuple(p) for p in person) for person in data.get("keypoints", ())),  # type: ignore[misc]
            appearance=tuple(data.get("appearance", ())),
            samples_appearance=tuple(tuple(s) for s in data.get("samples_appearance", ())),
        )


@dataclass(frozen=True)
class Behaviour:
    """A pose-derived behaviour held over an interval: standing, sitting, walking, arms_raised."""

    label: str
    t0: float
    t1: float
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Actor:
    """One individual: tracks merged by re-identification, when they are on screen, what they do."""

    actor_id: int
    label: str
    track_ids: tuple[int, ...]
    intervals: tuple[tuple[float, float], ...]
    behaviours: tuple[Behaviour, ...] = ()
    keyframe: float | None = None
    """Time of the frame where the actor is seen largest."""

    @property
    def t0(self) -> float:
        return self.intervals[0][0]

    @property
    def t1(self) -> float:
        return self.intervals[-1][1]

    @property
    def screen_time(self) -> float:
        return sum(b - a for a, b in self.intervals)

    def to_dict(self) -> dict[str, Any]:
        return {
            "actor_id": self.actor_id,
            "label": self.label,
            "track_ids": list(self.track_ids),
            "intervals": [list(i) for i in self.intervals],
            "behaviours": [b.to_dict() for b in self.behaviours],
            "keyframe": self.keyframe,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Actor:
        return cls(
            actor_id=int(data["actor_id"]),
            label=data["label"],
            track_ids=tuple(data["track_ids"]),
            intervals=tuple(tuple(i) for i in data["intervals"]),  # type: ignore[misc]
            behaviours=tuple(Behaviour(**b) for b in data.get("behaviours", ())),
            keyframe=data.get("keyframe"),
        )


TriggerReason = Literal[
    "novelty", "shot_cut", "dissolve", "actor_enter", "actor_exit", "speech_onset", "trained_head"
]


@dataclass(frozen=True)
class Trigger:
    """A moment worth expensive analysis: when, how sure, and why (the seed's trigger record)."""

    timestamp: float
    frame_index: int
    confidence: float
    reasons: tuple[str, ...]
    analysis: str = ""
    """Filled by a captioner/VLM (issue 4); empty until then, never invented."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "timestamp": self.timestamp,
            "frame_index": self.frame_index,
            "trigger_confidence": self.confidence,
            "reasons": list(self.reasons),
            "analysis": self.analysis,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trigger:
        return cls(
            timestamp=float(data["timestamp"]),
            frame_index=int(data["frame_index"]),
            confidence=float(data["trigger_confidence"]),
            reasons=tuple(data["reasons"]),
            analysis=data.get("analysis", ""),
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


EvidenceKind = Literal[
    "transcript", "segment", "actor", "speaker", "caption", "dense_caption", "scene", "screen_text", "object", "note"
]


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

    def cite(self, names: Mapping[str, str] | None = None) -> str:
        """The `[mm:ss]` citation of this evidence's start; `[file.mp4 mm:ss]` when `names` (video id -> file
        name) is given, as it is when an answer spans several videos."""
        name = names.get(self.video_id) if names else None
        return f"[{name} {format_timestamp(self.t0)}]" if name else f"[{format_timestamp(self.t0)}]"


@dataclass(frozen=True)
class SourceError:
    """A source that failed while answering (damaged memory, a server down, a missing model): an error, never
    a sign that the video lacks something."""

    source: str
    """What failed: the tool whose source it was (`search_transcript`, ...)."""
    message: str
    """The one-line message for a person, naming the file or server."""
    exit_code: int
    """The CLI's documented code for it (4 damaged memory, 5 a server that does not answer, ...)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def failure_lines(errors: list[SourceError]) -> list[str]:
    """One line per distinct failure, naming every source it stopped ("search_transcript and
    search_segments failed: Chroma server ... does not answer"), so one server down reads as one error."""
    by_message: dict[str, list[str]] = {}
    for error in errors:
        by_message.setdefault(error.message, []).append(error.source)
    return [f"{' and '.join(dict.fromkeys(sources))} failed: {message}" for message, sources in by_message.items()]


@dataclass
class Answer:
    """What `ask()` returns: the narrative, the evidence it cites, how it was found, where time went."""

    question: str
    text: str
    evidence: list[Evidence]
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per step (ingest, plan, act, assess, answer) and in total."""
    models: dict[str, str] = field(default_factory=dict)
    video: str = ""
    choice: int | None = None
    """In multiple-choice mode, the chosen option (0-based)."""
    options: list[str] | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    """Every tool call made: name, arguments, round, status, result count, seconds, output."""
    usage: dict[str, int] = field(default_factory=dict)
    """Tool calls, model calls, images and tokens this question used."""
    thread_id: str = ""
    steps: list[dict[str, Any]] = field(default_factory=list)
    """The graph's steps in order, each with its round and seconds."""
    notes: list[str] = field(default_factory=list)
    """What the user should know about how the answer was found (a spent budget, a fallback)."""
    videos: list[str] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)
    """Sources that failed: the text never claims absence then; with no evidence it says only what failed."""
    abstained: bool = False
    """The answer makes no claim (it says what it cannot see or tell); `choice` is None then."""
    limitations: list[str] = field(default_factory=list)
    """What the loaded models cannot perceive that the question needs, one sentence each."""
    confidence: float | None = None
    """In multiple-choice mode, how well the evidence supports the chosen option (0-1)."""
    forced: bool = False
    """The choice was forced where no evidence told the options apart (a guess, for benchmark comparison)."""
    video_files: dict[str, str] = field(default_factory=dict)
    """Video id -> file path, so every cited item names its video."""

    @property
    def failed(self) -> bool:
        """No source answered: the text only says what failed."""
        return bool(self.errors) and not self.evidence

    @property
    def exit_code(self) -> int:
        """The CLI's exit code for this answer: 0, or the first failed source's code."""
        return self.errors[0].exit_code if self.errors else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "errors": [e.to_dict() for e in self.errors],
            "choice": self.choice,
            "options": self.options,
            "abstained": self.abstained,
            "limitations": self.limitations,
            "confidence": self.confidence,
            "forced": self.forced,
            "evidence": [e.to_dict() | {"video": Path(self.video_files.get(e.video_id, e.video_id)).name}
                         for e in self.evidence],  # fmt: skip
            "tool_calls": self.tool_calls,
            "timings": self.timings,
            "usage": self.usage,
            "steps": self.steps,
            "notes": self.notes,
            "models": self.models,
            "video": self.video,
            "videos": self.videos,
            "thread_id": self.thread_id,
        }
