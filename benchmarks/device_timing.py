"""Timing helpers shared by the GPU-aware benchmarks: synchronise before reading the clock, peak memory."""

from __future__ import annotations

import resource


def synchronize(device: str) -> None:
    """Wait for queued CUDA work, so a wall-clock reading covers it (no-op on the CPU)."""
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def reset_peak_memory(device: str) -> None:
    """Start a new peak-memory measurement on CUDA (no-op on the CPU, where the process peak is used)."""
    import torch

    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()


def peak_memory_mib(device: str) -> float:
    """Peak GPU memory allocated on CUDA, else this process's peak resident set size."""
    import torch

    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
