"""Device and precision choice for the torch-based adapters."""

from __future__ import annotations

import functools
import logging
import os
from typing import TYPE_CHECKING

from core.settings import Settings

if TYPE_CHECKING:
    import torch


def pick_device(settings: Settings) -> str:
    """`cuda` when available (and not turned off), else `cpu`; asking for CUDA without a GPU warns once."""
    import torch

    if settings.device == "cpu":
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    if settings.device == "cuda":
        _warn_no_cuda()
    return "cpu"


@functools.cache
def _warn_no_cuda() -> None:
    logging.getLogger(__name__).warning("device 'cuda' requested but no CUDA device is available: using the CPU")


def inference_dtype(device: str) -> "torch.dtype":
    """bf16 where the GPU supports it, fp16 on older GPUs, fp32 on the CPU."""
    import torch

    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def available_cores() -> int:
    """CPU cores this process may run on (its affinity, not the machine's count): threads for CPU runtimes."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
