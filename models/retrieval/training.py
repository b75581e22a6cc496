"""Training of the TempMe-STOP retrieval adapters on (video, caption) pairs with CLIP's symmetric
contrastive (InfoNCE) loss; backs `python main.py train-retrieval PAIRS.jsonl`.

Pairs file (JSON Lines), one pair a line; `video_path` / `text` are accepted for `video` / `caption`,
a relative video path is resolved against the pairs file's folder, other keys are ignored:

    {"video": "clips/harbour.mp4", "caption": "a ferry leaves the harbour at dusk"}

Each video is decoded once: `config.max_frames` frames at the centres of equal parts of its length,
preprocessed and kept in memory for every epoch. CLIP stays frozen; only the adapters train
(plus the text tower with `train_text`). Modes: `tempme_only` (LoRA), `stop_only` (spatial and
temporal prompts), `joint` (both, one AdamW with a learning rate per family) and `sequential`
(LoRA for the first `sequential_split` of the epochs, then the prompts).

After every epoch `checkpoint_epoch_{n}.pth` and `last.pth` are written atomically to the
checkpoint folder, and a JSON line (loss, learning rates, grad norm, seconds) is appended to
`log.jsonl`; at the end `adapters.pth` holds the adapters alone (`UnifiedModelConfig.adapter_path`).
A checkpoint keeps the adapters under `adapters` ({depth, width, state}), so it loads as adapters too.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import InvalidRequest, VideoUnreadable
from models.adapters.video import iter_frames, probe
from models.retrieval.config import UnifiedModelConfig

if TYPE_CHECKING:
    import torch

    from models.adapters.clip import ClipEncoder
    from models.retrieval.adapters import RetrievalAdapters
    from models.retrieval.segment_encoder import SegmentEncoder

MODES = ("tempme_only", "stop_only", "joint", "sequential")
CHECKPOINT_FORMAT = "vidsage-retrieval-training"
CHECKPOINT_VERSION = 1
GRAD_CLIP_NORM = 1.0
TEXT_BATCH = 256
"""Captions encoded at a time when the frozen text tower embeds them once, up front."""
VIDEO_KEYS = ("video", "video_path")
CAPTION_KEYS = ("caption", "text")

Progress = Callable[[int, int, int, float], None]
"""on_progress(epoch, step, total_steps, loss): after every batch; epoch and step count from 1."""
DecodeProgress = Callable[[int, int], None]
"""on_decode(pairs done, pairs): while the training videos are decoded, before the first epoch."""


@dataclass(frozen=True)
class TrainingOptions:
    """How to train; a bad value is an InvalidRequest as soon as the options are made."""

    mode: str = "joint"
    """Which adapters train: `tempme_only`, `stop_only`, `joint` or `sequential` (TempMe, then STOP)."""
    epochs: int = 10
    batch_size: int = 32
    """Pairs per contrastive batch: every other caption in the batch is a negative."""
    tempme_lr: float = 1e-4
    stop_lr: float = 1e-5
    text_lr: float = 1e-6
    """Learning rate of the text tower; used only with `train_text`."""
    weight_decay: float = 0.01
    grad_accumulation: int = 1
    """Batches whose gradients are summed (averaged) before one optimizer step."""
    mixed_precision: bool | None = None
    """bf16 autocast: None = on CUDA only, True = also on the CPU, False = never (needs a float32 CLIP)."""
    seed: int = 0
    checkpoint_dir: Path = Path("retrieval-training")
    resume: Path | None = None
    """A checkpoint (`last.pth`, `checkpoint_epoch_{n}.pth`) to continue from, at its next epoch."""
    train_text: bool = False
    """Also fine-tune CLIP's text tower (cast to float32, changed in place); else all of CLIP is frozen."""
    sequential_split: float = 0.5
    """In `sequential` mode, the fraction of the epochs that train TempMe's LoRA before STOP's prompts."""

    def __post_init__(self) -> None:
        problems = []
        if self.mode not in MODES:
            problems.append(f"mode {self.mode!r} is not one of {', '.join(MODES)}")
        if self.epochs < 1:
            problems.append("epochs must be >= 1")
        if self.mode == "sequential" and self.epochs < 2:
            problems.append("sequential mode needs at least 2 epochs (one per phase)")
        if self.batch_size < 2:
            problems.append("batch_size must be >= 2 (a contrastive batch needs negatives)")
        if self.grad_accumulation < 1:
            problems.append("grad_accumulation must be >= 1")
        if not all(lr > 0 for lr in (self.tempme_lr, self.stop_lr, self.text_lr)):
            problems.append("learning rates must be > 0")
        if self.weight_decay < 0:
            problems.append("weight_decay must be >= 0")
        if self.seed < 0:
            problems.append("seed must be >= 0")
        if not 0.0 < self.sequential_split < 1.0:
            problems.append("sequential_split must be a fraction in (0, 1)")
        if problems:
            raise InvalidRequest("retrieval training: " + "; ".join(problems))
        object.__setattr__(self, "checkpoint_dir", Path(self.checkpoint_dir).expanduser())
        if self.resume is not None:
            object.__setattr__(self, "resume", Path(self.resume).expanduser())

    @property
    def tempme_epochs(self) -> int:
        """Epochs of the TempMe phase in sequential mode: at least one, and at least one left for STOP."""
        return min(self.epochs - 1, max(1, round(self.epochs * self.sequential_split)))

    def phase(self, epoch: int) -> str:
        """Which families train in 1-based `epoch`: `tempme`, `stop` or `joint` (both)."""
        if self.mode == "tempme_only":
            return "tempme"
        if self.mode == "stop_only":
            return "stop"
        if self.mode == "sequential":
            return "tempme" if epoch <= self.tempme_epochs else "stop"
        return "joint"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (paths as strings), as stored in checkpoints."""
        data = asdict(self)
        data["checkpoint_dir"] = str(self.checkpoint_dir)
        data["resume"] = None if self.resume is None else str(self.resume)
        return data


@dataclass(frozen=True)
class TrainingPair:
    """One (video, caption) pair and the line of the pairs file it came from."""

    video: Path
    caption: str
    line: int


@dataclass
class TrainingResult:
    """What a training run did and wrote."""

    epochs: int
    """Epochs completed in total (the last checkpoint's epoch), counting those before a resume."""
    resumed_from: int
    """The epoch the run continued after; 0 for a fresh run."""
    history: list[float]
    """Mean training loss of every epoch so far (before a resume too)."""
    adapters_path: Path
    checkpoints: list[Path]
    """The per-epoch checkpoints this call wrote, in order (`last.pth` is the newest's copy)."""
    last_checkpoint: Path
    log_path: Path
    pairs: int
    videos: int
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(video, one-line reason) for every unreadable video left out."""
    seconds: float = 0.0


@dataclass
class _Data:
    """Usable pairs, each video's preprocessed frames (N, 3, S, S) on the CPU, and which video each pair uses."""

    pairs: list[TrainingPair]
    pixels: list[torch.Tensor]
    video_of: list[int]
    skipped: list[tuple[str, str]]


@dataclass
class _Run:
    """Everything one training run works with."""

    clip: ClipEncoder
    encoder: SegmentEncoder
    adapters: RetrievalAdapters
    optimizer: torch.optim.Optimizer
    scaler: Any
    families: dict[str, list[torch.nn.Parameter]]
    data: _Data
    tokens: torch.Tensor
    text_vectors: torch.Tensor | None
    autocast_dtype: torch.dtype | None
    options: TrainingOptions


# --- pairs and frames ---------------------------------------------------------------------------


def read_pairs(path: Path | str) -> list[TrainingPair]:
    """Parse a JSON Lines pairs file; a bad line is an InvalidRequest naming the file and line."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise InvalidRequest(f"{path}: no such pairs file") from error
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidRequest(f"{path}: not a readable UTF-8 pairs file ({error})") from error
    pairs = [_parse_line(path, number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not pairs:
        raise InvalidRequest(f"{path}: holds no (video, caption) pairs")
    return pairs


def _parse_line(path: Path, number: int, line: str) -> TrainingPair:
    """One JSON object with a video path and a non-empty caption."""
    where = f"{path}: line {number}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise InvalidRequest(f"{where}: not valid JSON ({error.msg})") from error
    if not isinstance(record, dict):
        raise InvalidRequest(f'{where}: expected a JSON object like {{"video": ..., "caption": ...}}')
    video = next((record[key] for key in VIDEO_KEYS if key in record), None)
    caption = next((record[key] for key in CAPTION_KEYS if key in record), None)
    if not isinstance(video, str) or not video.strip():
        raise InvalidRequest(f'{where}: needs a video path under "video" (or "video_path")')
    if not isinstance(caption, str) or not caption.strip():
        raise InvalidRequest(f'{where}: needs a non-empty caption under "caption" (or "text")')
    video_path = Path(video.strip()).expanduser()
    if not video_path.is_absolute():
        video_path = path.parent / video_path
    return TrainingPair(video_path, caption.strip(), number)


def clip_times(duration: float, frames: int) -> np.ndarray:
    """`frames` timestamps at the centres of equal parts of the whole video (TSN-style sampling)."""
    return (np.arange(frames, dtype=np.float64) + 0.5) / frames * max(float(duration), 1e-3)


def _decode(clip: ClipEncoder, video: Path, frames: int) -> torch.Tensor:
    """The video's sampled frames, preprocessed once, on the CPU in the CLIP's dtype (N, 3, S, S)."""
    import torch

    ref = probe(video)
    decoded = [batch for _, batch in iter_frames(ref, clip_times(ref.duration, frames), batch_size=frames)]
    stacked = np.concatenate(decoded) if decoded else np.zeros((0,))
    if len(stacked) != frames:
        raise VideoUnreadable(f"{video}: only {len(stacked)} of {frames} sampled frames decode")
    with torch.no_grad():
        return clip._preprocess(stacked).cpu()


def load_training_data(
    pairs: Sequence[TrainingPair], clip: ClipEncoder, frames: int, on_decode: DecodeProgress | None = None
) -> _Data:
    """Decode every distinct video once; unreadable ones are skipped and reported, not fatal."""
    pixels: list[torch.Tensor] = []
    index_of: dict[Path, int | None] = {}
    data = _Data([], pixels, [], [])
    for position, pair in enumerate(pairs):
        if on_decode is not None:
            on_decode(position, len(pairs))
        key = pair.video.resolve()
        if key not in index_of:
            try:
                pixels.append(_decode(clip, pair.video, frames))
                index_of[key] = len(pixels) - 1
            except VideoUnreadable as error:
                index_of[key] = None
                data.skipped.append((str(pair.video), str(error)))
        if index_of[key] is not None:
            data.pairs.append(pair)
            data.video_of.append(int(index_of[key]))
    if on_decode is not None:
        on_decode(len(pairs), len(pairs))
    return data


# --- loss and batches -------------------------------------------------------------------------


def contrastive_loss(segments: torch.Tensor, texts: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
    """CLIP's symmetric InfoNCE over a batch of matching rows: mean of video->text and text->video CE."""
    import torch
    import torch.nn.functional as F

    logits = logit_scale.exp().float() * segments.float() @ texts.float().t()
    targets = torch.arange(len(logits), device=logits.device)
    return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.t(), targets)) / 2


def epoch_batches(count: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """The pairs shuffled from (seed, epoch) alone, cut into batches; a lone last pair joins the batch before."""
    order = np.random.default_rng([seed, epoch]).permutation(count).tolist()
    batches = [order[start : start + batch_size] for start in range(0, count, batch_size)]
    if len(batches) > 1 and len(batches[-1]) == 1:
        batches[-2].extend(batches.pop())
    return batches


# --- setup --------------------------------------------------------------------------------------


def _text_parameters(clip: ClipEncoder) -> dict[str, torch.nn.Parameter]:
    """CLIP's text tower: every parameter outside the vision tower and the logit scale/bias."""
    return {
        name: param
        for name, param in clip.model.named_parameters()
        if not name.startswith("visual.") and name not in ("logit_scale", "logit_bias")
    }


def _families(adapters: RetrievalAdapters, clip: ClipEncoder, options: TrainingOptions) -> dict[str, list[Any]]:
    """The parameter families this mode trains, each checked to exist in the configuration."""
    wanted = {"tempme_only": ("tempme",), "stop_only": ("stop",)}.get(options.mode, ("tempme", "stop"))
    available = {"tempme": adapters.tempme_parameters(), "stop": adapters.stop_parameters()}
    reasons = {
        "tempme": "tempme.lora_dim is 0",
        "stop": "stop.spatial_prompt is off and stop.temporal_prompt is 'none'",
    }
    families = {name: available[name] for name in wanted if available[name]}
    missing = [name for name in wanted if not available[name]]
    if missing and (options.mode != "joint" or not families):
        raise InvalidRequest(
            f"retrieval training: mode {options.mode} has nothing to train ({'; '.join(reasons[m] for m in missing)})"
        )
    if options.train_text:
        families["text"] = list(_text_parameters(clip).values())
    return families


def _optimizer(families: dict[str, list[Any]], options: TrainingOptions) -> torch.optim.Optimizer:
    """One AdamW, one named parameter group (with its learning rate) per family."""
    import torch

    rates = {"tempme": options.tempme_lr, "stop": options.stop_lr, "text": options.text_lr}
    groups = [{"params": params, "lr": rates[name], "name": name} for name, params in families.items()]
    return torch.optim.AdamW(groups, weight_decay=options.weight_decay)


def _autocast_dtype(clip: ClipEncoder, options: TrainingOptions) -> torch.dtype | None:
    """The autocast dtype: the CLIP's half dtype on CUDA, bf16 on the CPU when asked, else None."""
    import torch

    on_cuda = str(clip.device).startswith("cuda")
    half = clip.dtype in (torch.bfloat16, torch.float16)
    if options.mixed_precision is False:
        if half:
            raise InvalidRequest(
                "retrieval training: mixed_precision off needs a float32 CLIP, "
                f"this one is {clip.dtype} on {clip.device}"
            )
        return None
    if on_cuda:
        return clip.dtype if half else torch.bfloat16
    return torch.bfloat16 if options.mixed_precision else None


def _comparable(config: dict[str, Any]) -> dict[str, Any]:
    """A configuration without `adapter_path`, which says where weights came from, not their shape."""
    return {key: value for key, value in config.items() if key != "adapter_path"}


def _differences(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """'key: old -> new' for every setting that differs, nested blocks flattened with dots."""
    changes = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            changes.extend(_differences(a, b, f"{prefix}{key}."))
        elif (list(a) if isinstance(a, tuple) else a) != (list(b) if isinstance(b, tuple) else b):
            changes.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return changes


@contextlib.contextmanager
def _frozen_clip(clip: ClipEncoder, train_text: bool) -> Iterator[None]:
    """CLIP's parameters take no gradients while training (the text tower's do with `train_text`); restored after."""
    text = set(_text_parameters(clip)) if train_text else set()
    params = dict(clip.model.named_parameters())
    previous = {name: param.requires_grad for name, param in params.items()}
    for name, param in params.items():
        param.requires_grad_(name in text)
    try:
        yield
    finally:
        for name, param in params.items():
            param.requires_grad_(previous[name])


def _prepare_text_tower(clip: ClipEncoder) -> None:
    """Cast the text tower to float32 in place: AdamW steps vanish in bf16 weights."""
    for param in _text_parameters(clip).values():
        param.data = param.data.float()


def _text_vectors(clip: ClipEncoder, tokens: torch.Tensor) -> torch.Tensor:
    """Every caption through the frozen text tower once (float32 unit vectors on the device)."""
    import torch

    with torch.no_grad():
        parts = [
            clip.model.encode_text(tokens[start : start + TEXT_BATCH].to(clip.device), normalize=True).float()
            for start in range(0, len(tokens), TEXT_BATCH)
        ]
    return torch.cat(parts)


# --- checkpoints --------------------------------------------------------------------------------


def _write_atomic(path: Path, payload: bytes) -> None:
    """Write to a temporary file beside `path`, then rename: a crash never leaves half a checkpoint."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_bytes(payload)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _rng_state() -> dict[str, Any]:
    import torch

    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    import torch

    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def _checkpoint(run: _Run, epoch: int, history: list[float], config: UnifiedModelConfig) -> dict[str, Any]:
    """The resumable state after `epoch`; the adapters sit under `adapters` as `RetrievalAdapters.load` expects."""
    adapters = run.adapters
    checkpoint = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "adapters": {"depth": adapters.depth, "width": adapters.width, "state": adapters.state_dict()},
        "optimizer": run.optimizer.state_dict(),
        "scaler": run.scaler.state_dict(),
        "epoch": epoch,
        "mode": run.options.mode,
        "options": run.options.to_dict(),
        "config": config.to_dict(),
        "history": list(history),
        "rng": _rng_state(),
    }
    if run.options.train_text:
        checkpoint["text"] = {name: p.detach() for name, p in _text_parameters(run.clip).items()}
    return checkpoint


def _save_checkpoint(checkpoint: dict[str, Any], folder: Path, epoch: int) -> Path:
    """`checkpoint_epoch_{epoch}.pth` and `last.pth`, each written atomically."""
    import torch

    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    path = folder / f"checkpoint_epoch_{epoch}.pth"
    _write_atomic(path, buffer.getvalue())
    _write_atomic(folder / "last.pth", buffer.getvalue())
    return path


def read_checkpoint(path: Path | str) -> dict[str, Any]:
    """A training checkpoint, or an InvalidRequest naming the file when it is missing, damaged or foreign."""
    import torch

    path = Path(path).expanduser()
    if not path.is_file():
        raise InvalidRequest(f"{path}: no such training checkpoint")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises pickle/zip/runtime errors for damaged files
        raise InvalidRequest(f"{path}: not a readable training checkpoint ({str(error).splitlines()[0]})") from error
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise InvalidRequest(f"{path}: not a vidsage retrieval training checkpoint")
    if checkpoint.get("version") != CHECKPOINT_VERSION:
        raise InvalidRequest(f"{path}: checkpoint version {checkpoint.get('version')!r} is not {CHECKPOINT_VERSION}")
    return checkpoint


def _check_resumable(
    checkpoint: dict[str, Any], path: Path, options: TrainingOptions, config: UnifiedModelConfig
) -> None:
    """Refuse a checkpoint of another mode, configuration or text setting, or one already at `epochs`."""
    if checkpoint["mode"] != options.mode:
        raise InvalidRequest(
            f"{path}: was trained in mode {checkpoint['mode']}, not {options.mode}; resume in the same mode"
        )
    changes = _differences(_comparable(checkpoint["config"]), _comparable(config.to_dict()))
    if changes:
        raise InvalidRequest(f"{path}: was trained with another configuration ({'; '.join(changes)})")
    if bool(checkpoint["options"].get("train_text")) != options.train_text:
        trained_text = checkpoint["options"].get("train_text")
        raise InvalidRequest(f"{path}: train_text was {trained_text}, not {options.train_text}; resume with the same")
    if checkpoint["epoch"] >= options.epochs:
        raise InvalidRequest(
            f"{path}: already holds {checkpoint['epoch']} epochs; "
            f"ask for more than that to continue (epochs={options.epochs})"
        )


def _restore(run: _Run, checkpoint: dict[str, Any], path: Path) -> None:
    """Adapters, text tower, optimizer, scaler and RNG from a checkpoint; this run's learning rates apply."""
    saved = checkpoint["adapters"]
    if (saved.get("depth"), saved.get("width")) != (run.adapters.depth, run.adapters.width):
        raise InvalidRequest(
            f"{path}: adapters were trained for a {saved.get('depth')}-layer, {saved.get('width')}-wide ViT, "
            f"not this {run.adapters.depth}-layer, {run.adapters.width}-wide one"
        )
    run.adapters.load_state_dict(saved["state"])
    if run.options.train_text:
        params = _text_parameters(run.clip)
        for name, value in checkpoint["text"].items():
            params[name].data.copy_(value)
    try:
        run.optimizer.load_state_dict(checkpoint["optimizer"])
    except (ValueError, KeyError) as error:
        raise InvalidRequest(f"{path}: optimizer state does not fit this run ({error})") from error
    rates = {"tempme": run.options.tempme_lr, "stop": run.options.stop_lr, "text": run.options.text_lr}
    for group in run.optimizer.param_groups:
        group["lr"], group["weight_decay"] = rates[group["name"]], run.options.weight_decay
    run.scaler.load_state_dict(checkpoint.get("scaler") or {})
    _set_rng_state(checkpoint["rng"])


def _save_adapters(run: _Run, path: Path, config: UnifiedModelConfig, epochs: int, history: list[float]) -> None:
    """`adapters.pth` via `RetrievalAdapters.save`, written to a temporary name and renamed."""
    partial = path.with_name(f".{path.name}.partial")
    extra: dict[str, Any] = {"config": config.to_dict(), "mode": run.options.mode, "epochs": epochs, "history": history}
    if run.options.train_text:
        extra["text"] = {name: p.detach().cpu() for name, p in _text_parameters(run.clip).items()}
    try:
        run.adapters.save(partial, extra)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


# --- training -----------------------------------------------------------------------------------


def _active(phase: str) -> set[str]:
    """The parameter families that train in a phase (the text tower, when trained, trains throughout)."""
    return {"tempme": {"tempme"}, "stop": {"stop"}, "joint": {"tempme", "stop"}}[phase] | {"text"}


def _set_phase(run: _Run, phase: str) -> None:
    """Only the phase's families take gradients; the others' grads stay None, so AdamW leaves them as they are."""
    active = _active(phase)
    for name, params in run.families.items():
        for param in params:
            param.requires_grad_(name in active)


def _batch_loss(run: _Run, batch: list[int]) -> torch.Tensor:
    """The contrastive loss of one batch of pair indices."""
    import torch

    data, clip = run.data, run.clip
    pixels = torch.stack([data.pixels[data.video_of[i]] for i in batch]).to(clip.device, non_blocking=True)
    autocast = (
        torch.autocast(device_type="cuda" if str(clip.device).startswith("cuda") else "cpu", dtype=run.autocast_dtype)
        if run.autocast_dtype is not None
        else contextlib.nullcontext()
    )
    with autocast:
        segments, _ = run.encoder(pixels)
        if run.text_vectors is not None:
            texts = run.text_vectors[batch]
        else:
            texts = clip.model.encode_text(run.tokens[batch].to(clip.device), normalize=True)
    return contrastive_loss(segments, texts, clip.model.logit_scale.detach())


@dataclass
class _EpochStats:
    loss: float
    grad_norm: float
    steps: int


def _train_epoch(run: _Run, epoch: int, on_progress: Progress | None) -> _EpochStats:
    """One pass over the shuffled pairs with gradient accumulation and clipping."""
    import torch

    options = run.options
    batches = epoch_batches(len(run.data.pairs), options.batch_size, options.seed, epoch)
    params = [p for group in run.optimizer.param_groups for p in group["params"] if p.requires_grad]
    losses: list[float] = []
    norms: list[float] = []
    run.optimizer.zero_grad(set_to_none=True)
    for step, batch in enumerate(batches, 1):
        group_start = (step - 1) // options.grad_accumulation * options.grad_accumulation
        group_size = min(options.grad_accumulation, len(batches) - group_start)
        loss = _batch_loss(run, batch)
        if not torch.isfinite(loss):
            raise InvalidRequest(
                f"retrieval training: the loss became {float(loss)} in epoch {epoch}; lower the learning rates"
            )
        run.scaler.scale(loss / group_size).backward()
        losses.append(float(loss.detach()))
        if step - group_start == group_size:
            run.scaler.unscale_(run.optimizer)
            norms.append(float(torch.nn.utils.clip_grad_norm_(params, GRAD_CLIP_NORM)))
            run.scaler.step(run.optimizer)
            run.scaler.update()
            run.optimizer.zero_grad(set_to_none=True)
        if on_progress is not None:
            on_progress(epoch, step, len(batches), losses[-1])
    return _EpochStats(float(np.mean(losses)), float(np.mean(norms)), len(norms))


def _log_epoch(path: Path, run: _Run, epoch: int, stats: _EpochStats, seconds: float) -> None:
    """Append the epoch's line to `log.jsonl`: loss, learning rates of the training families, grad norm, time."""
    phase = run.options.phase(epoch)
    active = _active(phase)
    line = {
        "epoch": epoch,
        "phase": phase,
        "loss": round(stats.loss, 6),
        "lr": {g["name"]: g["lr"] for g in run.optimizer.param_groups if g["name"] in active},
        "grad_norm": round(stats.grad_norm, 6),
        "steps": stats.steps,
        "seconds": round(seconds, 3),
    }
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")


def _setup(
    clip: ClipEncoder, config: UnifiedModelConfig, options: TrainingOptions, data: _Data, tokens: torch.Tensor
) -> _Run:
    """Encoder with seeded fresh adapters (or those at `config.adapter_path`), optimizer and text vectors."""
    import torch

    from models.retrieval.adapters import RetrievalAdapters
    from models.retrieval.segment_encoder import SegmentEncoder

    encoder = SegmentEncoder(clip, config)
    torch.manual_seed(options.seed)
    adapters = RetrievalAdapters(config, encoder.depth, encoder.width)
    if config.adapter_path and options.resume is None:
        adapters.load(Path(config.adapter_path).expanduser())
    encoder.attach(adapters)
    adapters.train()
    families = _families(adapters, clip, options)
    if options.train_text:
        _prepare_text_tower(clip)
    autocast_dtype = _autocast_dtype(clip, options)
    return _Run(
        clip=clip,
        encoder=encoder,
        adapters=adapters,
        optimizer=_optimizer(families, options),
        scaler=torch.amp.GradScaler("cuda", enabled=autocast_dtype == torch.float16),
        families=families,
        data=data,
        tokens=tokens,
        text_vectors=None if options.train_text else _text_vectors(clip, tokens),
        autocast_dtype=autocast_dtype,
        options=options,
    )


def train_retrieval(
    pairs_path: Path | str,
    clip: ClipEncoder,
    config: UnifiedModelConfig,
    options: TrainingOptions,
    on_progress: Progress | None = None,
    on_decode: DecodeProgress | None = None,
) -> TrainingResult:
    """Train the retrieval adapters on a pairs file; checkpoints every epoch, `adapters.pth` at the end.

    Unreadable videos are skipped and reported in the result; fewer than two usable pairs, a bad
    pairs file or an incompatible resume checkpoint is an InvalidRequest. The global torch RNG is
    left as it was.
    """
    import torch

    started = time.perf_counter()
    config = config.for_image_size(clip.image_size)
    config.validate("retrieval configuration")
    resume = options.resume
    checkpoint = read_checkpoint(resume) if resume is not None else None
    if checkpoint is not None:
        _check_resumable(checkpoint, resume, options, config)
    pairs_path = Path(pairs_path).expanduser()
    data = load_training_data(read_pairs(pairs_path), clip, config.max_frames, on_decode)
    if len(data.pairs) < 2:
        reasons = "; ".join(message for _, message in data.skipped) or "it holds a single pair"
        raise InvalidRequest(
            f"{pairs_path}: needs at least 2 usable (video, caption) pairs for a contrastive loss ({reasons})"
        )
    tokens = clip.tokenizer([pair.caption for pair in data.pairs])
    folder = options.checkpoint_dir
    folder.mkdir(parents=True, exist_ok=True)
    devices = [torch.cuda.current_device()] if str(clip.device).startswith("cuda") else []
    with torch.random.fork_rng(devices=devices), _frozen_clip(clip, options.train_text):
        run = _setup(clip, config, options, data, tokens)
        history: list[float] = []
        start = 0
        if checkpoint is not None:
            _restore(run, checkpoint, resume)
            history, start = list(checkpoint["history"]), int(checkpoint["epoch"])
        written: list[Path] = []
        for epoch in range(start + 1, options.epochs + 1):
            epoch_started = time.perf_counter()
            _set_phase(run, options.phase(epoch))
            stats = _train_epoch(run, epoch, on_progress)
            history.append(stats.loss)
            written.append(_save_checkpoint(_checkpoint(run, epoch, history, config), folder, epoch))
            _log_epoch(folder / "log.jsonl", run, epoch, stats, time.perf_counter() - epoch_started)
        _save_adapters(run, folder / "adapters.pth", config, options.epochs, history)
    return TrainingResult(
        epochs=options.epochs,
        resumed_from=start,
        history=history,
        adapters_path=folder / "adapters.pth",
        checkpoints=written,
        last_checkpoint=folder / "last.pth",
        log_path=folder / "log.jsonl",
        pairs=len(data.pairs),
        videos=len(data.pixels),
        skipped=data.skipped,
        seconds=round(time.perf_counter() - started, 3),
    )
