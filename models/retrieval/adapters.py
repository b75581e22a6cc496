"""Trainable additions to the segment encoder: TempMe's LoRA adapters and STOP's prompts.

All three start at zero, so an untrained module leaves every embedding exactly as open_clip
computes it; training moves them away from zero.
- LoRA (TempMe): a low-rank update of each block's fused q/k/v projection.
- Spatial prompts (STOP, intra-frame): a per-block prompt vector added to each patch token,
  weighted by a learned per-token saliency gate, so discriminative regions are emphasised.
- Temporal prompts (STOP, inter-frame): each frame's class token receives a low-rank projection of
  its motion, the difference to the mean of the previous W frames' class tokens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from core.errors import InvalidRequest
from models.retrieval.config import UnifiedModelConfig


class LoRA(nn.Module):
    """x -> (x A^T) B^T * scale, with B zero-initialised."""

    def __init__(self, width_in: int, width_out: int, rank: int) -> None:
        super().__init__()
        self.down = nn.Parameter(torch.empty(rank, width_in))
        self.up = nn.Parameter(torch.zeros(width_out, rank))
        nn.init.kaiming_uniform_(self.down, a=5**0.5)
        self.scale = 1.0 / rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x @ self.down.t().to(x.dtype)) @ self.up.t().to(x.dtype) * self.scale


class SpatialPrompt(nn.Module):
    """A zero-initialised prompt vector added to patch tokens through a saliency gate."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.gate = nn.Linear(width, 1)
        self.prompt = nn.Parameter(torch.zeros(width))

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        dtype = patches.dtype  # weights stay float32 for training; compute in the tokens' dtype (bf16 on GPU)
        weight = torch.sigmoid(F.linear(patches, self.gate.weight.to(dtype), self.gate.bias.to(dtype)))
        return weight * self.prompt.to(dtype)


class TemporalPrompt(nn.Module):
    """Motion of each frame's class token against its previous `window` frames, low-rank projected."""

    def __init__(self, width: int, rank: int, window: int) -> None:
        super().__init__()
        self.window = window
        self.down = nn.Linear(width, rank, bias=False)
        self.up = nn.Linear(rank, width, bias=False)
        nn.init.zeros_(self.up.weight)

    def forward(self, frame_tokens: torch.Tensor) -> torch.Tensor:
        """frame_tokens (B, N, D) in frame order -> additive prompt (B, N, D); frame 0 has no motion."""
        cumulative = torch.cumsum(frame_tokens, dim=1)
        previous_sum = torch.zeros_like(cumulative)
        previous_sum[:, 1:] = cumulative[:, :-1]
        if self.window < frame_tokens.shape[1]:
            earlier = torch.zeros_like(cumulative)
            earlier[:, self.window + 1 :] = cumulative[:, : -(self.window + 1)]
            previous_sum = previous_sum - earlier
        counts = torch.arange(frame_tokens.shape[1], device=frame_tokens.device).clamp(max=self.window).clamp(min=1)
        previous_mean = previous_sum / counts.view(1, -1, 1).to(frame_tokens.dtype)
        motion = frame_tokens - previous_mean
        motion[:, 0] = 0
        dtype = frame_tokens.dtype
        return F.linear(F.linear(motion, self.down.weight.to(dtype)), self.up.weight.to(dtype))


class RetrievalAdapters(nn.Module):
    """The trainable parts of the TempMe-STOP encoder for a ViT of `depth` blocks and `width` channels."""

    def __init__(self, config: UnifiedModelConfig, depth: int, width: int) -> None:
        super().__init__()
        self.depth, self.width = depth, width
        rank = config.tempme.lora_dim
        self.lora = nn.ModuleList([LoRA(width, 3 * width, rank) for _ in range(depth)]) if rank > 0 else None
        self.spatial = (
            nn.ModuleList([SpatialPrompt(width) for _ in range(depth)]) if config.stop.spatial_prompt else None
        )
        window, temporal_rank = config.stop.temporal_window, config.stop.temporal_rank
        self.temporal = (
            nn.ModuleList([TemporalPrompt(width, temporal_rank, window) for _ in range(depth)])
            if window > 0 and temporal_rank > 0
            else None
        )

    def tempme_parameters(self) -> list[nn.Parameter]:
        return list(self.lora.parameters()) if self.lora is not None else []

    def stop_parameters(self) -> list[nn.Parameter]:
        params: list[nn.Parameter] = []
        for part in (self.spatial, self.temporal):
            if part is not None:
                params.extend(part.parameters())
        return params

    def qkv_delta(self, layer: int, hidden: torch.Tensor) -> torch.Tensor | None:
        return self.lora[layer](hidden) if self.lora is not None else None

    def patch_prompt(self, layer: int, patches: torch.Tensor) -> torch.Tensor | None:
        return self.spatial[layer](patches) if self.spatial is not None else None

    def frame_prompt(self, layer: int, frame_tokens: torch.Tensor) -> torch.Tensor | None:
        return self.temporal[layer](frame_tokens) if self.temporal is not None else None

    def save(self, path: Path, extra: dict[str, Any] | None = None) -> None:
        """Save the weights with the shape they fit (depth, width) so a mismatch is caught on load."""
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"depth": self.depth, "width": self.width, "state": self.state_dict(), **(extra or {})}, path)

    def load(self, path: Path) -> dict[str, Any]:
        """Load weights saved by `save` (or a training checkpoint holding them under `adapters`).

        Returns the whole saved record, whose `text` entry (when present) holds fine-tuned text-tower weights.
        """
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError as error:
            raise InvalidRequest(f"{path}: no such adapter file") from error
        except Exception as error:  # torch raises pickle/zip/runtime errors for damaged files
            raise InvalidRequest(f"{path}: not a vidsage retrieval adapter file ({str(error).splitlines()[0]})") from error
        record = data
        if isinstance(data, dict) and "adapters" in data:
            data = data["adapters"]
        if not isinstance(data, dict) or "state" not in data:
            raise InvalidRequest(f"{path}: not a vidsage retrieval adapter file")
        if (data.get("depth"), data.get("width")) != (self.depth, self.width):
            raise InvalidRequest(
                f"{path}: adapters were trained for a {data.get('depth')}-layer, {data.get('width')}-wide ViT, "
                f"not this {self.depth}-layer, {self.width}-wide one"
            )
        missing, unexpected = self.load_state_dict(data["state"], strict=False)
        if missing or unexpected:
            raise InvalidRequest(f"{path}: adapter layout differs from the configuration (lora_dim / prompts)")
        return record
