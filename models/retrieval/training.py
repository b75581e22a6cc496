"""Training of the TempMe-STOP retrieval adapters on (video, caption) pairs with CLIP's symmetric
contrastive (InfoNCE) loss; backs `python main.py train-retrieval PAIRS.jsonl`.

CLIP stays frozen; only the adapters train (plus the text tower with `train_text`). Modes:
`tempme_only` (LoRA), `stop_only` (spatial and temporal prompts), `joint` (both, one AdamW with a
learning rate per family) and `sequential` (LoRA for the first `sequential_split` of the epochs,
then the prompts). The pairs file and decoding are `training_data`, the run's setup
`training_setup`, checkpoints `training_checkpoints`.

After every epoch `checkpoint_epoch_{n}.pth` and `last.pth` are written atomically to the
checkpoint folder, and a JSON line (loss, learning rates, grad norm, seconds) is appended to
`log.jsonl`; at the end `adapters.pth` holds the adapters alone (`UnifiedModelConfig.adapter_path`).
A checkpoint keeps the adapters under `adapters` ({depth, width, state}), so it loads as adapters too.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import InvalidRequest
from models.retrieval.config import UnifiedModelConfig
from models.retrieval.training_checkpoints import (
    build_checkpoint,
    check_resumable,
    read_checkpoint,
    restore,
    save_adapters,
    save_checkpoint,
)
from models.retrieval.training_data import DecodeProgress, load_training_data, read_pairs
from models.retrieval.training_setup import TrainingRun, frozen_clip, setup_run

if TYPE_CHECKING:
    import torch

    from models.adapters.clip import ClipEncoder

MODES = ("tempme_only", "stop_only", "joint", "sequential")
GRAD_CLIP_NORM = 1.0

Progress = Callable[[int, int, int, float], None]
"""on_progress(epoch, step, total_steps, loss): after every batch; epoch and step count from 1."""


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


# --- training -----------------------------------------------------------------------------------


def _active(phase: str) -> set[str]:
    """The parameter families that train in a phase (the text tower, when trained, trains throughout)."""
    return {"tempme": {"tempme"}, "stop": {"stop"}, "joint": {"tempme", "stop"}}[phase] | {"text"}


def _set_phase(run: TrainingRun, phase: str) -> None:
    """Only the phase's families take gradients; the others' grads stay None, so AdamW leaves them as they are."""
    active = _active(phase)
    for name, params in run.families.items():
        for param in params:
            param.requires_grad_(name in active)


def _batch_loss(run: TrainingRun, batch: list[int]) -> torch.Tensor:
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


def _train_epoch(run: TrainingRun, epoch: int, on_progress: Progress | None) -> _EpochStats:
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


def _log_epoch(path: Path, run: TrainingRun, epoch: int, stats: _EpochStats, seconds: float) -> None:
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
        check_resumable(checkpoint, resume, options, config)
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
    with torch.random.fork_rng(devices=devices), frozen_clip(clip, options.train_text):
        run = setup_run(clip, config, options, data, tokens)
        history: list[float] = []
        start = 0
        if checkpoint is not None:
            restore(run, checkpoint, resume)
            history, start = list(checkpoint["history"]), int(checkpoint["epoch"])
        written: list[Path] = []
        for epoch in range(start + 1, options.epochs + 1):
            epoch_started = time.perf_counter()
            _set_phase(run, options.phase(epoch))
            stats = _train_epoch(run, epoch, on_progress)
            history.append(stats.loss)
            written.append(save_checkpoint(build_checkpoint(run, epoch, history, config), folder, epoch))
            _log_epoch(folder / "log.jsonl", run, epoch, stats, time.perf_counter() - epoch_started)
        save_adapters(run, folder / "adapters.pth", config, options.epochs, history)
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
