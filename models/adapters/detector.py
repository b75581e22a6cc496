"""Object detection and tracking: ultralytics YOLO + ByteTrack over sampled frames -> `Track`s.

One `Detector` per process; one `TrackingSession` per video at a time, fed batches of frames in time
order (the tracker's state lives in the model's predictor, so starting a session resets it). While the
frames are at hand the session also samples each track's appearance (CLIP crop embeddings when an
encoder is given, else the colour/texture descriptor of models.appearance) for re-identification.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import ModelUnavailable
from core.settings import Settings
from core.types import Track
from models.adapters.appearance import crop_descriptors, crops, normalise
from models.device import pick_device
from models.registry import REAL_DETECTOR, ModelSpec

if TYPE_CHECKING:
    from ultralytics import YOLO
    from ultralytics.engine.results import Results

log = logging.getLogger(__name__)

TRACKER_CONFIG = "bytetrack.yaml"
MIN_IMGSZ = 640
MAX_IMGSZ = 1280
STRIDE = 32
UPSCALE = 5 / 3
"""Small people need upscaling: see choose_imgsz for what native size vs. 5/3 of it found on vtest.avi."""
PERSON = "person"
TINY_CONFIG = "yolov8n.yaml"
TINY_SCALE = (0.33, 0.0625, 256)
"""depth, width, max_channels of the `tiny` detector: yolov8n's depth, a quarter of its width."""
APPEARANCE_FIRST_SAMPLES = 8
"""A track's first detections all get an appearance sample: short tracks need every view they have."""
APPEARANCE_INTERVAL_S = 1.0
"""After those, one sample a second: even cover of long tracks (so a part split off at a cut has its
own samples) at a bounded cost (CLIP on CPU is ~20 ms a crop; the colour descriptor ~0.1 ms)."""
EMBED_CROP_SIZE = (224, 224)
"""(width, height) of the crops given to an image encoder: CLIP's input, boxes widened to keep their aspect."""

CropEmbedder = Callable[[np.ndarray], np.ndarray]
"""(M, H, W, 3) RGB uint8 crops -> (M, D) embeddings, e.g. a CLIP image encoder's `encode_images`."""


def choose_imgsz(width: int, height: int, override: int | None = None) -> int:
    """Inference size for a frame size: about 5/3 of the long side, a multiple of 32, within 640..1280.

    Measured on 8 frames of vtest.avi (768x576, pedestrians ~50-100 px tall), yolo11n-pose, conf 0.4,
    batch of 8, 2-core CPU: imgsz 640 -> 0.6 persons/frame, 0.12 s/frame; 768 -> 1.1, 0.19 s;
    960 -> 3.0, 0.35 s; 1120 -> 4.4, 0.60 s; 1280 -> 4.8, 0.64 s; 1600 -> 5.2, 1.35 s. So 768x576
    gets 1280 (upscaled 5/3), and 1280 caps the cost for HD frames. `override` (settings.detector_imgsz)
    wins, rounded up to the model stride.
    """
    if override is not None:
        return max(STRIDE, math.ceil(override / STRIDE) * STRIDE)
    if width <= 0 or height <= 0:
        raise ValueError(f"frame size must be positive, got {width}x{height}")
    wanted = math.ceil(max(width, height) * UPSCALE / STRIDE) * STRIDE
    return int(min(MAX_IMGSZ, max(MIN_IMGSZ, wanted)))


def choose_device(settings: Settings) -> str:
    """`cuda` when settings.device allows it and CUDA is present, else `cpu` (ultralytics cannot fake a GPU)."""
    import torch

    device = pick_device(settings)
    if device.startswith("cuda") and not torch.cuda.is_available():
        log.warning("detector: settings ask for CUDA but none is available; running on CPU")
        return "cpu"
    return device


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _import_ultralytics(offline: bool) -> Any:
    """Import ultralytics without letting it pip-install packages, nor probe the network for offline models."""
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    if offline:
        os.environ.setdefault("YOLO_OFFLINE", "1")  # read once, at import: skips its DNS online check
    if importlib.util.find_spec("lap") is None:
        raise ModelUnavailable("detector: tracking needs the `lap` package (pip install lap)")
    try:
        import ultralytics
    except ImportError as error:
        raise ModelUnavailable(f"detector: ultralytics is not importable ({error})") from error
    from ultralytics.utils import SETTINGS

    if SETTINGS.get("sync", False):  # usage analytics and crash reports, on by default: vidsage sends nothing
        SETTINGS.update(sync=False)
    return ultralytics


def _build_tiny(ultralytics: Any) -> "YOLO":
    """yolov8n's config scaled down, random weights, one class `person`: built locally, nothing fetched."""
    from ultralytics.nn.tasks import DetectionModel, yaml_model_load

    config = yaml_model_load(TINY_CONFIG)  # the packaged yolov8.yaml, scale "n"
    config.update(nc=1, scale="n", scales={"n": list(TINY_SCALE)})
    model = ultralytics.YOLO(TINY_CONFIG, task="detect")
    tiny = DetectionModel(config, verbose=False)
    tiny.names = {0: PERSON}
    tiny.args, tiny.task = model.model.args, "detect"
    model.model = tiny
    return model


def _load_model(spec: ModelSpec, settings: Settings) -> "YOLO":
    """The ultralytics model a spec names: a weights file, a download by name (real), or the tiny build."""
    ultralytics = _import_ultralytics(offline=spec.source in ("tiny", "offline"))
    if spec.source == "tiny":
        return _build_tiny(ultralytics)
    location = spec.location
    if spec.source == "real":
        path = Path(location or settings.data_dir / "weights" / REAL_DETECTOR)
        if not path.is_file() and _env_flag("YOLO_OFFLINE"):  # ultralytics would still try the download
            raise ModelUnavailable(f"detector: {path} is missing and YOLO_OFFLINE forbids downloading it")
        path.parent.mkdir(parents=True, exist_ok=True)
        location = str(path)  # ultralytics downloads a missing official model by its name to this path
    elif spec.source == "offline" and not Path(location).is_file():
        raise ModelUnavailable(f"detector: weights file {location} is missing")
    return ultralytics.YOLO(location)


def load_detector(spec: ModelSpec, settings: Settings) -> "Detector":
    """Load the detector a spec names on the best allowed device; failures become ModelUnavailable."""
    if spec.role != "detector":
        raise ValueError(f"load_detector got a spec for role {spec.role!r}")
    try:
        model = _load_model(spec, settings)
        device = choose_device(settings)
    except ModelUnavailable:
        raise
    except Exception as error:  # ultralytics raises many kinds for missing, corrupt or unfetchable weights
        message = str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
        raise ModelUnavailable(f"detector: cannot load {spec.description} ({message})") from error
    return Detector(model, spec, settings, device)


def _precision_args(half: bool) -> dict[str, Any]:
    """fp16 on GPU: `quantize=16` in ultralytics >= 8.4 (where `half` is deprecated), else `half=True`."""
    from ultralytics.utils import DEFAULT_CFG_DICT

    if "quantize" in DEFAULT_CFG_DICT:
        return {"quantize": 16 if half else None}
    return {"half": half}


def _keypoint(point: np.ndarray) -> tuple[float, float, float]:
    """One keypoint as plain rounded floats: x, y in pixels, visibility in 0..1."""
    return (round(float(point[0]), 2), round(float(point[1]), 2), round(float(point[2]), 4))


@dataclass
class _TrackRecord:
    """Per-track accumulator while a session runs."""

    labels: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)
    keypoints: list[tuple[tuple[float, float, float], ...]] = field(default_factory=list)
    samples: list[np.ndarray | None] = field(default_factory=list)
    """Aligned with `times`: the appearance vector of that detection's crop, or None where none was taken."""
    sampled: int = 0
    """Detections queued for an appearance sample so far (their vectors may still be pending)."""
    last_sample: float = -math.inf

    def wants_sample(self, time: float) -> bool:
        """Whether the detection at `time` should get an appearance sample (see APPEARANCE_*)."""
        due = time - self.last_sample >= APPEARANCE_INTERVAL_S - 1e-6
        return self.sampled < APPEARANCE_FIRST_SAMPLES or due

    def to_track(self, track_id: int) -> Track:
        """Freeze into a Track; the label is the class seen most often, the appearance its samples' mean."""
        label = Counter(self.labels).most_common(1)[0][0]
        taken = [v for v in self.samples if v is not None]
        mean = normalise(np.mean(taken, axis=0)) if taken else np.zeros(0)
        return Track(
            track_id=track_id,
            label=label,
            times=tuple(self.times),
            boxes=tuple(self.boxes),
            confidences=tuple(self.confidences),
            keypoints=tuple(self.keypoints),
            appearance=_rounded(mean),
            samples_appearance=tuple(() if v is None else _rounded(v) for v in self.samples) if taken else (),
        )


def _rounded(vector: np.ndarray) -> tuple[float, ...]:
    """A vector as plain floats rounded to 5 decimals: compact JSON, far below descriptor noise."""
    return tuple(round(float(v), 5) for v in vector)


@dataclass(frozen=True)
class _PendingSample:
    """A detection waiting for its appearance vector: where to store it and which crop to take."""

    record: _TrackRecord
    position: int
    frame: int
    box: tuple[float, float, float, float]


class Detector:
    """A loaded YOLO model plus how to run it (device, precision, classes) for tracking videos."""

    def __init__(self, model: "YOLO", spec: ModelSpec, settings: Settings, device: str) -> None:
        self.model = model
        self.spec = spec
        self.settings = settings
        self.device = device
        self.half = device.startswith("cuda")
        self._precision = _precision_args(self.half)
        self.names: dict[int, str] = {int(k): str(v) for k, v in model.names.items()}
        self.is_pose = model.task == "pose"
        self.classes: list[int] | None = None
        """Class ids kept; None keeps all. The offline profile keeps persons only."""
        if spec.source == "offline":
            self.classes = [i for i, name in self.names.items() if name == PERSON] or None
        self._active: TrackingSession | None = None

    def session(self, imgsz: int | None = None, embed_crops: CropEmbedder | None = None) -> "TrackingSession":
        """Start tracking a new video: resets the tracker, so ids and history start afresh.

        `embed_crops` (a CLIP image encoder) embeds the track crops for re-identification; without it the
        colour/texture descriptor of models.appearance is used.
        """
        session = TrackingSession(self, imgsz, embed_crops)
        self._active = session
        predictor = getattr(self.model, "predictor", None)
        for tracker in getattr(predictor, "trackers", None) or ():
            tracker.reset()
        return session

    def track(
        self,
        frames_batches: Iterable[tuple[np.ndarray, np.ndarray]],
        imgsz: int | None = None,
        embed_crops: CropEmbedder | None = None,
    ) -> list[Track]:
        """Track objects through one video's (times, RGB NHWC uint8 frames) batches, in time order."""
        session = self.session(imgsz, embed_crops)
        for times, frames in frames_batches:
            session.update(times, frames)
        return session.finish()

    def _run(self, bgr_frames: list[np.ndarray], imgsz: int) -> list["Results"]:
        """One batched forward pass through the model with the persistent ByteTrack tracker."""
        return self.model.track(
            bgr_frames,
            persist=True,
            tracker=TRACKER_CONFIG,
            conf=self.settings.detector_confidence,
            imgsz=imgsz,
            classes=self.classes,
            device=self.device,
            verbose=False,
            **self._precision,
        )


class TrackingSession:
    """Incremental tracking of one video: `update` with batches in time order, then `finish`."""

    def __init__(self, detector: Detector, imgsz: int | None = None, embed_crops: CropEmbedder | None = None) -> None:
        self.detector = detector
        self.imgsz = imgsz if imgsz is not None else detector.settings.detector_imgsz
        self.embed_crops = embed_crops
        """Image encoder for track crops; None uses the colour/texture descriptor."""
        self.frame_size: tuple[int, int] | None = None
        """(width, height) of the frames, set by the first batch."""
        self._records: dict[int, _TrackRecord] = {}
        self._last_time = -math.inf
        self._finished = False

    def update(self, times: np.ndarray, frames: np.ndarray) -> list[tuple[int, ...]]:
        """Detect and track on a batch of RGB NHWC uint8 frames; returns the track ids seen on each frame."""
        import torch

        times = np.asarray(times, dtype=np.float64)
        self._check(times, frames)
        if len(times) == 0:
            return []
        height, width = int(frames.shape[1]), int(frames.shape[2])
        if self.frame_size is None:
            self.frame_size = (width, height)
            self.imgsz = choose_imgsz(width, height, self.imgsz)
        elif self.frame_size != (width, height):
            raise ValueError(f"frame size changed within a video: {self.frame_size} -> {(width, height)}")
        self._last_time = float(times[-1])
        seen: list[tuple[int, ...]] = []
        step = self.detector.settings.batch_size
        with torch.inference_mode():
            for start in range(0, len(times), step):
                chunk = frames[start : start + step]
                bgr = list(np.ascontiguousarray(chunk[..., ::-1]))  # ultralytics expects OpenCV's BGR
                results = self.detector._run(bgr, self.imgsz)
                pending: list[_PendingSample] = []
                for frame, (time, result) in enumerate(zip(times[start : start + step], results)):
                    seen.append(self._collect(float(time), result, width, height, frame, pending))
                self._sample(chunk, pending)
        return seen

    def finish(self) -> list[Track]:
        """Every track seen, by first appearance, short ones included: flicker or a glimpse of someone is
        for the actor builder to judge (settings.min_track_frames), never dropped silently here."""
        self._finished = True
        if self.detector._active is self:
            self.detector._active = None
        tracks = [r.to_track(i) for i, r in self._records.items()]
        return sorted(tracks, key=lambda t: (t.t0, t.track_id))

    def snapshot(self) -> dict[str, Any]:
        """Everything the session and its tracker know so far, picklable, for `restore` in another process."""
        from ultralytics.trackers.basetrack import BaseTrack

        predictor = getattr(self.detector.model, "predictor", None)
        return {
            "records": self._records,
            "frame_size": self.frame_size,
            "imgsz": self.imgsz,
            "last_time": self._last_time,
            "trackers": getattr(predictor, "trackers", None),
            "next_track_id": BaseTrack._count,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Continue where a snapshot left off: same tracks, same tracker state, same next track id."""
        from ultralytics.trackers.basetrack import BaseTrack

        self._records = state["records"]
        self.frame_size = state["frame_size"]
        self.imgsz = state["imgsz"]
        self._last_time = state["last_time"]
        if state["trackers"] is not None and self.frame_size is not None:
            if getattr(self.detector.model, "predictor", None) is None:  # the predictor appears on first use
                width, height = self.frame_size
                self.detector._run([np.zeros((height, width, 3), dtype=np.uint8)], self.imgsz)
            self.detector.model.predictor.trackers = state["trackers"]
        BaseTrack._count = state["next_track_id"]

    def _sample(self, frames: np.ndarray, pending: list[_PendingSample]) -> None:
        """Compute the appearance of the pending detections' crops in one batch and store them."""
        if not pending:
            return
        boxes = np.array([(p.frame, *p.box) for p in pending], dtype=np.float64)
        if self.embed_crops is not None:
            vectors = np.asarray(self.embed_crops(crops(frames, boxes, EMBED_CROP_SIZE, keep_aspect=True)))
        else:
            vectors = crop_descriptors(frames, boxes)
        for sample, vector in zip(pending, normalise(vectors)):
            sample.record.samples[sample.position] = vector

    def _check(self, times: np.ndarray, frames: np.ndarray) -> None:
        """Reject batches the tracker cannot use: stale session, wrong layout, or frames out of order."""
        if self._finished:
            raise RuntimeError("this tracking session is finished")
        if self.detector._active is not self:
            raise RuntimeError("another tracking session started on this detector; this one is stale")
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"frames must be RGB NHWC uint8, got shape {frames.shape} dtype {frames.dtype}")
        if len(times) != len(frames):
            raise ValueError(f"{len(times)} times for {len(frames)} frames")
        if len(times) and (np.any(np.diff(times) <= 0) or times[0] <= self._last_time):
            raise ValueError("frames must arrive in strictly increasing time order")

    def _collect(
        self, time: float, result: "Results", width: int, height: int, frame: int, pending: list[_PendingSample]
    ) -> tuple[int, ...]:
        """Append one frame's tracked boxes (and keypoints) to their tracks, queueing the detections due an
        appearance sample in `pending`; returns the ids on the frame."""
        boxes = result.boxes
        if boxes is None or boxes.id is None or len(boxes) == 0:
            return ()  # no confirmed track on this frame (raw detections are not tracks)
        ids = boxes.id.int().cpu().tolist()
        xyxy = boxes.xyxy.float().cpu().numpy()
        xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, width)
        xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, height)
        confidences = boxes.conf.float().cpu().tolist()
        classes = boxes.cls.int().cpu().tolist()
        points = None
        if self.detector.is_pose and result.keypoints is not None:
            points = result.keypoints.data.float().cpu().numpy()  # (n, 17, 3): x, y, visibility
        names = self.detector.names
        for row, track_id in enumerate(ids):
            record = self._records.setdefault(track_id, _TrackRecord())
            box: tuple[float, float, float, float] = tuple(round(float(v), 2) for v in xyxy[row])  # type: ignore[assignment]
            if record.wants_sample(time):
                pending.append(_PendingSample(record, len(record.times), frame, box))
                record.sampled, record.last_sample = record.sampled + 1, time
            record.samples.append(None)
            record.labels.append(names.get(classes[row], str(classes[row])))
            record.times.append(time)
            record.boxes.append(box)
            record.confidences.append(round(float(confidences[row]), 4))
            if points is not None:
                record.keypoints.append(tuple(_keypoint(point) for point in points[row]))
        return tuple(ids)
