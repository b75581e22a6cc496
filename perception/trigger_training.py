"""Training of the optional trigger head (`perception.trigger_head`) on annotated trigger times; backs
`python main.py train-triggers ANNOTATIONS.json`. Split from the model so ingest never loads training code.

Annotation format (JSON):

    {
      "feature": "histogram",
      "videos": [
        {"video_path": "clips/harbour.mp4", "triggers": [3.2, 17.0, 41.5]}
      ]
    }

- `videos` (required): one entry per video; `video_path` is absolute or relative to the folder of
  the annotations file; `triggers` are seconds from the start of the video (within its length).
- `feature` (optional, default `histogram`): the frozen input features. `histogram` needs no model:
  the frame's 8x4x4 HSV colour histogram plus frame-difference features (histogram and thumbnail
  change to the previous/next frame and to the frames one second before/after). `clip` uses CLIP
  image embeddings (plus the same differences) and needs a CLIP model from the profile.
- The seed project's shape is accepted too: a trigger may be an object `{"timestamp": 3.2,
  "label": 1, "description": "..."}`; objects with `"label": 0` are not triggers. Other keys
  (`description`, ...) are ignored.

Frames are sampled at `settings.detector_fps`; frames within `LABEL_RADIUS_S` of an annotated time
are positives; classes are weighted by their frequency. The checkpoint written is the one
`perception.trigger_head` describes and loads.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import InvalidRequest, ModelUnavailable
from core.settings import Settings
from models.adapters.frame_features import FrameFeatures, compute_frame_features
from perception.trigger_head import (
    FEATURES,
    FORMAT,
    HIDDEN,
    VERSION,
    TriggerHead,
    build_network,
    head_inputs,
    single_thread,
)

if TYPE_CHECKING:
    import torch

LABEL_RADIUS_S = 0.5
BATCH = 64
SEED = 0
DEFAULT_EPOCHS = 40
DEFAULT_LR = 3e-3

ProgressFn = Callable[[str], None]


@dataclass(frozen=True)
class AnnotatedVideo:
    """One video of the annotations and its trigger times in seconds."""

    path: Path
    triggers: tuple[float, ...]


@dataclass(frozen=True)
class Annotations:
    """A parsed annotations file."""

    path: Path
    feature: str
    videos: tuple[AnnotatedVideo, ...]


@dataclass(frozen=True)
class TrainReport:
    """What training did and how well the head fits its training frames."""

    path: Path
    feature: str
    feature_dim: int
    videos: int
    frames: int
    positives: int
    epochs: int
    final_loss: float
    precision: float
    recall: float
    f1: float
    event_recall: float
    """Share of annotated times with a frame scored >= 0.5 within LABEL_RADIUS_S."""
    device: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        return data


# --- annotations ------------------------------------------------------------------------------


def _load_json(path: Path) -> Any:
    """The JSON content of an annotations file, or a one-line InvalidRequest naming it."""
    if not path.is_file():
        raise InvalidRequest(f"{path}: no such annotations file")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}"
        raise InvalidRequest(f"{path}: is not valid JSON ({where}: {error.msg})") from error
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidRequest(f"{path}: cannot be read ({error})") from error


def _trigger_time(path: Path, where: str, entry: Any) -> float | None:
    """Seconds of one trigger entry (a number, or the seed's {"timestamp", "label"}); None for label 0."""
    if isinstance(entry, dict):
        if "timestamp" not in entry:
            raise InvalidRequest(f"{path}: {where} is missing 'timestamp'")
        if entry.get("label", 1) in (0, False):
            return None
        entry = entry["timestamp"]
    if isinstance(entry, bool) or not isinstance(entry, (int, float)) or not math.isfinite(entry) or entry < 0:
        raise InvalidRequest(f"{path}: {where} is not a time in seconds ({entry!r})")
    return float(entry)


def _video_entry(path: Path, index: int, entry: Any) -> AnnotatedVideo:
    """One validated `videos[i]` entry, its path resolved against the annotations file's folder."""
    where = f"videos[{index}]"
    if not isinstance(entry, dict):
        raise InvalidRequest(f"{path}: {where} must be an object with 'video_path' and 'triggers'")
    for key in ("video_path", "triggers"):
        if key not in entry:
            raise InvalidRequest(f"{path}: {where} is missing '{key}'")
    if not isinstance(entry["video_path"], str) or not entry["video_path"].strip():
        raise InvalidRequest(f"{path}: {where}.video_path must be a non-empty string")
    if not isinstance(entry["triggers"], list):
        raise InvalidRequest(f"{path}: {where}.triggers must be a list of seconds")
    times = [_trigger_time(path, f"{where}.triggers[{j}]", t) for j, t in enumerate(entry["triggers"])]
    video = Path(entry["video_path"]).expanduser()
    video = video if video.is_absolute() else path.parent / video
    return AnnotatedVideo(video, tuple(sorted(t for t in times if t is not None)))


def read_annotations(path: Path | str) -> Annotations:
    """Parse and validate an annotations file (format in the module docstring)."""
    path = Path(path).expanduser()
    data = _load_json(path)
    if not isinstance(data, dict) or "videos" not in data:
        expected = '{"videos": [{"video_path": ..., "triggers": [seconds, ...]}]}'
        raise InvalidRequest(f"{path}: missing key 'videos' (expected {expected})")
    if not isinstance(data["videos"], list) or not data["videos"]:
        raise InvalidRequest(f"{path}: 'videos' must be a non-empty list")
    feature = data.get("feature", "histogram")
    if feature not in FEATURES:
        raise InvalidRequest(f"{path}: unknown feature {feature!r} (expected one of {', '.join(FEATURES)})")
    videos = tuple(_video_entry(path, i, entry) for i, entry in enumerate(data["videos"]))
    if not any(video.triggers for video in videos):
        raise InvalidRequest(f"{path}: no trigger times to learn from")
    return Annotations(path, feature, videos)


# --- training ---------------------------------------------------------------------------------


def _clip_encoder(settings: Settings) -> Any:
    """The profile's CLIP encoder, or ModelUnavailable when the profile has none (offline)."""
    from models.adapters.clip import load_clip
    from models.registry import resolve

    resolution = resolve("clip", settings)
    if resolution.spec is None:
        raise ModelUnavailable(f"trigger head: {resolution.note}; train with \"feature\": \"histogram\"")
    return load_clip(resolution.spec, settings)


def _decode_video(
    annotations: Annotations, index: int, settings: Settings, encoder: Any
) -> tuple[FrameFeatures, np.ndarray | None]:
    """Decode one annotated video once at `settings.detector_fps`: frame features (and CLIP vectors)."""
    from models.adapters.video import iter_frames, probe, sample_times

    video = annotations.videos[index]
    ref = probe(video.path)
    late = [t for t in video.triggers if t > ref.duration]
    if late:
        raise InvalidRequest(
            f"{annotations.path}: videos[{index}] trigger at {late[0]:.2f} s is past the end of "
            f"{video.path} ({ref.duration:.2f} s)"
        )
    parts, vectors = [], []
    for times, frames in iter_frames(ref, sample_times(ref.duration, settings.detector_fps), settings.batch_size):
        parts.append(compute_frame_features(times, frames))
        if encoder is not None:
            vectors.append(encoder.encode_images(frames))
    return FrameFeatures.concat(parts), (np.concatenate(vectors) if encoder is not None else None)


def frame_labels(times: np.ndarray, triggers: Sequence[float], radius_s: float = LABEL_RADIUS_S) -> np.ndarray:
    """1.0 for frames within `radius_s` of an annotated trigger time, else 0.0."""
    if not len(triggers):
        return np.zeros(len(times), dtype=np.float32)
    gaps = np.abs(np.asarray(times)[:, None] - np.asarray(triggers)[None, :]).min(axis=1)
    return (gaps <= radius_s + 1e-9).astype(np.float32)


@dataclass(frozen=True)
class _Dataset:
    inputs: np.ndarray
    labels: np.ndarray
    times: list[np.ndarray]
    triggers: list[tuple[float, ...]]


def _dataset(annotations: Annotations, settings: Settings, progress: ProgressFn | None) -> _Dataset:
    """Every annotated video decoded once into input rows and labels."""
    encoder = _clip_encoder(settings) if annotations.feature == "clip" else None
    inputs, labels, times = [], [], []
    for index, video in enumerate(annotations.videos):
        features, vectors = _decode_video(annotations, index, settings, encoder)
        inputs.append(head_inputs(features, annotations.feature, features.times, vectors))
        labels.append(frame_labels(features.times, video.triggers))
        times.append(features.times)
        if progress is not None:
            progress(f"decoded {video.path.name}: {len(features)} frames, {len(video.triggers)} triggers")
    triggers = [video.triggers for video in annotations.videos]
    return _Dataset(np.concatenate(inputs), np.concatenate(labels), times, triggers)


def _autocast(device: str) -> contextlib.AbstractContextManager[Any]:
    """bf16 autocast on a CUDA device that supports it; plain fp32 elsewhere."""
    import torch

    if device.startswith("cuda") and torch.cuda.is_bf16_supported():
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _fit(
    network: Any,
    inputs: "torch.Tensor",
    labels: "torch.Tensor",
    epochs: int,
    lr: float,
    device: str,
    progress: ProgressFn | None,
) -> float:
    """Class-weighted BCE, AdamW, shuffled minibatches (bf16 autocast on CUDA); returns the last epoch's loss."""
    import torch

    positives = float(labels.sum())
    weight = torch.tensor((len(labels) - positives) / max(positives, 1.0), device=device)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=weight)
    optimizer = torch.optim.AdamW(network.parameters(), lr=lr, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(SEED)
    loss_value = math.nan
    for epoch in range(epochs):
        order = torch.randperm(len(labels), generator=generator).to(device)
        total = 0.0
        for start in range(0, len(order), BATCH):
            batch = order[start : start + BATCH]
            with _autocast(device):
                logits = network(inputs[batch])[:, 0]
            loss = loss_fn(logits.float(), labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(batch)
        loss_value = total / len(order)
        if progress is not None:
            progress(f"epoch {epoch + 1}/{epochs}: loss {loss_value:.4f}")
    return loss_value


def _metrics(probabilities: np.ndarray, data: _Dataset) -> dict[str, float]:
    """Frame precision/recall/F1 at 0.5 and the share of annotated times the head finds."""
    predicted = probabilities >= 0.5
    truth = data.labels >= 0.5
    hits = float(np.sum(predicted & truth))
    precision = hits / max(float(predicted.sum()), 1.0)
    recall = hits / max(float(truth.sum()), 1.0)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    found = total = 0
    offset = 0
    for times, triggers in zip(data.times, data.triggers):
        scores = probabilities[offset : offset + len(times)]
        offset += len(times)
        for t in triggers:
            total += 1
            found += bool(np.any(scores[np.abs(times - t) <= LABEL_RADIUS_S + 1e-9] >= 0.5))
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "event_recall": round(found / max(total, 1), 4),
    }


def _save(path: Path, checkpoint: dict[str, Any]) -> None:
    """torch.save to a partial file, then rename: a crash never leaves a half-written head."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        torch.save(checkpoint, partial)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def train_trigger_head(
    annotations_path: Path | str,
    settings: Settings,
    *,
    out_path: Path | str,
    epochs: int = DEFAULT_EPOCHS,
    lr: float = DEFAULT_LR,
    progress: ProgressFn | None = None,
) -> TrainReport:
    """Train a head on annotated videos (decoded once each, frozen features) and save its checkpoint."""
    import torch

    from models.device import pick_device

    if epochs < 1 or not lr > 0:
        raise InvalidRequest(f"trigger head: epochs must be >= 1 and lr > 0, got {epochs} and {lr}")
    started = time.perf_counter()
    annotations = read_annotations(annotations_path)
    data = _dataset(annotations, settings, progress)
    device = pick_device(settings)
    mean = data.inputs.mean(axis=0)
    std = np.maximum(data.inputs.std(axis=0), 1e-4)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        network = build_network(data.inputs.shape[1], HIDDEN).to(device)
    inputs = torch.from_numpy(((data.inputs - mean) / std).astype(np.float32)).to(device)
    labels = torch.from_numpy(data.labels).to(device)
    with single_thread(device):
        final_loss = _fit(network, inputs, labels, epochs, lr, device, progress)
    network = network.float().cpu().eval()
    head = TriggerHead(network, annotations.feature, data.inputs.shape[1], mean, std, {})
    metrics = {"final_loss": round(final_loss, 5), **_metrics(head.probabilities(data.inputs), data)}
    out_path = Path(out_path).expanduser()
    _save(
        out_path,
        {
            "format": FORMAT,
            "version": VERSION,
            "feature": annotations.feature,
            "feature_dim": int(data.inputs.shape[1]),
            "hidden": HIDDEN,
            "sample_fps": float(settings.detector_fps),
            "input_mean": torch.from_numpy(mean.astype(np.float32)),
            "input_std": torch.from_numpy(std.astype(np.float32)),
            "state_dict": network.state_dict(),
            "metrics": metrics,
        },
    )
    return TrainReport(
        path=out_path,
        feature=annotations.feature,
        feature_dim=int(data.inputs.shape[1]),
        videos=len(annotations.videos),
        frames=len(data.labels),
        positives=int(data.labels.sum()),
        epochs=epochs,
        final_loss=metrics["final_loss"],
        precision=metrics["precision"],
        recall=metrics["recall"],
        f1=metrics["f1"],
        event_recall=metrics["event_recall"],
        device=device,
        seconds=round(time.perf_counter() - started, 3),
    )
