"""The optional trained trigger head: a small MLP over frozen per-frame features that learns where
people want triggers, used by `perception.triggers.detect_triggers` as the `trained_head` reason.

This module holds the model and what ingest needs to use it (input features, checkpoint loading);
training it on annotated videos is `perception.trigger_training`. Checkpoints are `torch.save`d dicts:
`{"format": "vidsage-trigger-head", "version": 1, "feature", "feature_dim", "hidden", "sample_fps",
"input_mean", "input_std", "state_dict", "metrics"}`; the metrics are measured on the training frames.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import InvalidRequest, ModelUnavailable
from models.adapters.frame_features import HIST_DIM, FrameFeatures, hist_distance

if TYPE_CHECKING:
    import torch

    from core.settings import Settings
    from models.cache import ModelCache

FORMAT = "vidsage-trigger-head"
VERSION = 1
FEATURES = ("histogram", "clip")
LAG_S = 1.0
"""The far lag of the difference features: a second before and after."""
DIFFERENCE_DIM = 8
HIDDEN = 32


# --- features ---------------------------------------------------------------------------------


def _lagged(count: int, lag: int) -> np.ndarray:
    """Index of the frame `lag` away from each frame, clamped to the video (so edges compare to themselves)."""
    return np.clip(np.arange(count) + lag, 0, max(count - 1, 0))


def difference_features(features: FrameFeatures) -> np.ndarray:
    """Histogram and thumbnail change to the frames 1 step and `LAG_S` before and after: (N, 8)."""
    count = len(features)
    far = max(1, round(LAG_S * features.fps)) if count > 1 else 1
    columns = []
    for lag in (-1, 1, -far, far):
        other = _lagged(count, lag)
        columns.append(hist_distance(features.hists, features.hists[other]))
        columns.append(np.abs(features.thumbs - features.thumbs[other]).mean(axis=(1, 2)))
    return np.stack(columns, axis=1).astype(np.float32) if count else np.zeros((0, DIFFERENCE_DIM), np.float32)


def align_vectors(times: np.ndarray, vector_times: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """For each time, the vector sampled nearest to it: (len(times), D)."""
    vector_times = np.asarray(vector_times, dtype=np.float64)
    right = np.clip(np.searchsorted(vector_times, times), 0, len(vector_times) - 1)
    left = np.clip(right - 1, 0, len(vector_times) - 1)
    nearest = np.where(np.abs(vector_times[left] - times) <= np.abs(vector_times[right] - times), left, right)
    return np.asarray(vectors, dtype=np.float32)[nearest]


def head_inputs(
    features: FrameFeatures,
    feature: str = "histogram",
    clip_times: np.ndarray | None = None,
    clip_vectors: np.ndarray | None = None,
) -> np.ndarray:
    """The head's input rows: colour histogram (or CLIP vector) + difference features, (N, D) float32."""
    differences = difference_features(features)
    if feature == "histogram":
        return np.concatenate([features.hists.astype(np.float32), differences], axis=1)
    if clip_vectors is None or clip_times is None or not len(clip_vectors):
        raise InvalidRequest("trigger head: this head uses CLIP features, but no CLIP vectors were given")
    aligned = align_vectors(features.times, clip_times, clip_vectors)
    return np.concatenate([aligned, differences], axis=1)


def feature_dim(feature: str, clip_dim: int = 0) -> int:
    """Input size of a head on `feature` (CLIP heads add the embedding size)."""
    return (HIST_DIM if feature == "histogram" else clip_dim) + DIFFERENCE_DIM


# --- the network ------------------------------------------------------------------------------


@contextlib.contextmanager
def single_thread(device: str = "cpu") -> Iterator[None]:
    """Run torch CPU ops on one thread: a tiny MLP only pays for thread sync (40 epochs on 200 frames
    took 5.9 s with 2 threads on a busy 2-core machine, 0.15 s with one)."""
    import torch

    if device.startswith("cuda"):
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def build_network(dim: int, hidden: int) -> "torch.nn.Module":
    """A one-hidden-layer MLP giving one logit per frame."""
    from torch import nn

    return nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, 1))


@dataclass
class TriggerHead:
    """A loaded head: standardise inputs, run the MLP on the CPU, return per-frame probabilities."""

    network: Any
    feature: str
    feature_dim: int
    mean: np.ndarray
    std: np.ndarray
    metrics: dict[str, Any]
    path: Path | None = None

    def probabilities(self, inputs: np.ndarray) -> np.ndarray:
        """Sigmoid outputs for (N, feature_dim) input rows."""
        import torch

        if inputs.shape[1:] != (self.feature_dim,):
            raise InvalidRequest(f"trigger head: expects {self.feature_dim} features per frame, got {inputs.shape[1:]}")
        if not len(inputs):
            return np.zeros(0, dtype=np.float32)
        scaled = torch.from_numpy(((inputs - self.mean) / self.std).astype(np.float32))
        with torch.inference_mode(), single_thread():
            return torch.sigmoid(self.network(scaled)[:, 0]).numpy()

    def scores(
        self, features: FrameFeatures, *, clip_times: np.ndarray | None = None, clip_vectors: np.ndarray | None = None
    ) -> np.ndarray:
        """Per-frame trigger probability for a video's frame features (CLIP heads need its vectors)."""
        return self.probabilities(head_inputs(features, self.feature, clip_times, clip_vectors))


# --- loading ----------------------------------------------------------------------------------


def _read_checkpoint(path: Path) -> dict[str, Any]:
    """The checkpoint dict, or ModelUnavailable naming the file when it is missing, corrupt or foreign."""
    import torch

    if not path.is_file():
        raise ModelUnavailable(f"{path}: no such trigger-head checkpoint")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError... for damaged files
        raise ModelUnavailable(f"{path}: corrupt trigger-head checkpoint (cannot be unpickled)") from error
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise ModelUnavailable(f"{path}: wrong format, not a {FORMAT} checkpoint")
    if checkpoint.get("version") != VERSION:
        found = checkpoint.get("version")
        raise ModelUnavailable(f"{path}: {FORMAT} version {found!r} is not supported (expected {VERSION})")
    return checkpoint


def checkpoint_feature(path: Path | str) -> str:
    """Which frozen features (`histogram` or `clip`) a checkpoint was trained on; refuses bad files."""
    return str(_read_checkpoint(Path(path).expanduser()).get("feature"))


def load_trigger_head(path: Path | str, feature_dim: int) -> TriggerHead:
    """Load a trained head for inputs of `feature_dim` features; refuses incompatible or corrupt files."""
    path = Path(path).expanduser()
    checkpoint = _read_checkpoint(path)
    feature, trained_dim = checkpoint.get("feature"), checkpoint.get("feature_dim")
    if feature not in FEATURES:
        raise ModelUnavailable(f"{path}: wrong format, unknown feature {feature!r}")
    if trained_dim != feature_dim:
        raise ModelUnavailable(
            f"{path}: wrong feature dim, trained on {trained_dim} {feature} features per frame "
            f"but this run gives {feature_dim}"
        )
    try:
        network = build_network(int(trained_dim), int(checkpoint.get("hidden", HIDDEN)))
        network.load_state_dict(checkpoint["state_dict"])
        mean = checkpoint["input_mean"].float().numpy()
        std = checkpoint["input_std"].float().numpy()
    except (KeyError, RuntimeError, TypeError, ValueError, AttributeError) as error:
        raise ModelUnavailable(f"{path}: corrupt trigger-head checkpoint (weights do not match its header)") from error
    if mean.shape != (trained_dim,) or std.shape != (trained_dim,):
        raise ModelUnavailable(f"{path}: corrupt trigger-head checkpoint (normaliser of the wrong size)")
    metrics = dict(checkpoint.get("metrics", {}))
    return TriggerHead(network.eval(), str(feature), int(trained_dim), mean, std, metrics, path)


def configured_head(settings: Settings, models: ModelCache) -> TriggerHead | None:
    """The trained head the settings name (None when they name none), checked against the features this run's
    models can give it."""
    if settings.trigger_head is None:
        return None
    feature = checkpoint_feature(settings.trigger_head)
    clip = models.clip() if feature == "clip" else None
    if feature == "clip" and clip is None:
        raise ModelUnavailable(f"{settings.trigger_head}: this trigger head needs CLIP, which this profile lacks")
    return load_trigger_head(settings.trigger_head, feature_dim(feature, clip.dim if clip is not None else 0))
