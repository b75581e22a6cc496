"""Device and precision choice for the torch-based adapters."""

from __future__ import annotations

from typing import TYPE_CHECKING

from models.settings import Settings

if TYPE_CHECKING:
    import torch


def pick_device(settings: Settings) -> str:
    """`cuda` when requested or available under `auto`, else `cpu`."""
    import torch

    if settings.device == "cpu":
        return "cpu"
    if settings.device == "cuda" or torch.cuda.is_available():
        return "cuda"
    return "cpu"


def inference_dtype(device: str) -> "torch.dtype":
    """bf16 where the GPU supports it, fp16 on older GPUs, fp32 on the CPU."""
    import torch

    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32
