"""The setup of a retrieval training run: which parameters train, the optimizer, mixed precision and the
frozen CLIP; split from `models.retrieval.training` so the loop reads apart from how a run is built.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import InvalidRequest
from models.retrieval.config import UnifiedModelConfig

if TYPE_CHECKING:
    import torch

    from models.adapters.clip import ClipEncoder
    from models.retrieval.adapters import RetrievalAdapters
    from models.retrieval.segment_encoder import SegmentEncoder
    from models.retrieval.training import TrainingOptions
    from models.retrieval.training_data import TrainingData

TEXT_BATCH = 256
"""Captions encoded at a time when the frozen text tower embeds them once, up front."""


@dataclass
class TrainingRun:
    """Everything one training run works with."""

    clip: ClipEncoder
    encoder: SegmentEncoder
    adapters: RetrievalAdapters
    optimizer: torch.optim.Optimizer
    scaler: Any
    families: dict[str, list[torch.nn.Parameter]]
    data: TrainingData
    tokens: torch.Tensor
    text_vectors: torch.Tensor | None
    autocast_dtype: torch.dtype | None
    options: TrainingOptions


# --- setup --------------------------------------------------------------------------------------


def text_parameters(clip: ClipEncoder) -> dict[str, torch.nn.Parameter]:
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
        families["text"] = list(text_parameters(clip).values())
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


@contextlib.contextmanager
def frozen_clip(clip: ClipEncoder, train_text: bool) -> Iterator[None]:
    """CLIP's parameters take no gradients while training (the text tower's do with `train_text`); restored after."""
    text = set(text_parameters(clip)) if train_text else set()
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
    for param in text_parameters(clip).values():
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


def setup_run(
    clip: ClipEncoder, config: UnifiedModelConfig, options: TrainingOptions, data: TrainingData, tokens: torch.Tensor
) -> TrainingRun:
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
    return TrainingRun(
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
