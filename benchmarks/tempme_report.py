"""What the TempMe benchmark measures and how it prints it: per-batch rows, speed ratios against the paper,
whole-video timings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PAPER_SPEEDUP = 1.8
"""TempMe's paper: 1.8x faster inference than the per-frame CLIP baseline."""


@dataclass
class Measurement:
    """One encoder variant at one batch size."""

    model: str
    device: str
    variant: str
    segments: int
    frames: int
    gflops_per_frame: float
    token_layer_ratio: float
    """Tokens x blocks of this variant over the per-frame run's: the schedule's analytic cost."""
    seconds: float
    """Median wall time of one forward."""
    frames_per_second: float
    peak_memory_mib: float
    """Peak GPU memory allocated on CUDA; on the CPU the process's peak resident set (monotone)."""
    working_memory_mib: float | None
    """On CUDA: the peak above what was allocated before the forward (activations); None on the CPU."""
    segment_cosine_mean: float | None = None
    segment_cosine_min: float | None = None
    frame_cosine_mean: float | None = None
    frame_cosine_min: float | None = None


@dataclass
class VideoTiming:
    """`encode_video` on one whole video, one variant: median seconds and where they go."""

    model: str
    device: str
    variant: str
    video: str
    video_seconds: float
    windows: int
    frames: int
    seconds: float
    """Median of the runs (end to end); the fastest and slowest follow."""
    seconds_min: float
    seconds_max: float
    decode_seconds: float
    """Decoding the sampled frames alone (measured separately, the same frames and batches)."""
    encode_seconds: float
    """The encoder's forwards inside encode_video (synchronised); on a small CPU this includes waiting
    for cores that the video decoder's threads hold while they decode ahead."""
    other_seconds: float
    """The rest: preprocessing (resize, crop, normalise), window batching, copies to the host."""
    probe_seconds: float
    """Validating and hashing the file (done once per video, before encode_video)."""

    @property
    def realtime(self) -> float:
        return self.video_seconds / self.seconds if self.seconds > 0 else float("inf")


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_batches(rows: list[Measurement]) -> None:
    print(f"{'frames':>6} {'segs':>4} {'variant':<13} {'GFLOPs/frame':>12} {'tok-layers':>10} {'ms/forward':>10} "
          f"{'frames/s':>9} {'peak MiB':>9} {'work MiB':>8} {'seg cos mean/min':>17} {'frame cos mean/min':>19}")
    for r in rows:
        segment = f"{_fmt(r.segment_cosine_mean, '.4f')}/{_fmt(r.segment_cosine_min, '.4f')}"
        frame = f"{_fmt(r.frame_cosine_mean, '.4f')}/{_fmt(r.frame_cosine_min, '.4f')}"
        print(f"{r.frames:>6} {r.segments:>4} {r.variant:<13} {r.gflops_per_frame:>12.4f} {r.token_layer_ratio:>10.3f} "
              f"{r.seconds * 1e3:>10.2f} {r.frames_per_second:>9,.0f} {r.peak_memory_mib:>9,.0f} "
              f"{_fmt(r.working_memory_mib, ',.0f'):>8} "
              f"{segment if r.variant == 'merged' else '-':>17} {frame if r.variant == 'merged' else '-':>19}")
    if rows and rows[0].working_memory_mib is None:
        print("peak MiB on the CPU is the process's peak resident set: monotone, not per variant")


def ratios(rows: list[Measurement]) -> list[dict[str, Any]]:
    """Per batch: merged against per-frame (and against open_clip's encode_image)."""
    out = []
    for frames in sorted({r.frames for r in rows}):
        by = {r.variant: r for r in rows if r.frames == frames}
        merged, unmerged, reference = by["merged"], by["per-frame"], by["encode_image"]
        out.append({
            "frames": frames,
            "speedup_vs_per_frame": merged.frames_per_second / unmerged.frames_per_second,
            "speedup_vs_encode_image": merged.frames_per_second / reference.frames_per_second,
            "gflops_ratio": unmerged.gflops_per_frame / merged.gflops_per_frame,
            "token_layer_ratio": 1.0 / merged.token_layer_ratio,
            "per_frame_vs_encode_image": unmerged.frames_per_second / reference.frames_per_second,
            "working_memory_ratio": (unmerged.working_memory_mib / merged.working_memory_mib
                                     if unmerged.working_memory_mib and merged.working_memory_mib else None),
        })
    return out


def print_ratios(table: list[dict[str, Any]]) -> None:
    print(f"\n{'frames':>6} {'speed-up':>9} {'GFLOPs ratio':>12} {'token-layer ratio':>17} "
          f"{'merged vs encode_image':>22} {'per-frame vs encode_image':>25} {'work memory ratio':>17}")
    for r in table:
        memory = "-" if r["working_memory_ratio"] is None else f"{r['working_memory_ratio']:.2f}x"
        print(f"{r['frames']:>6} {r['speedup_vs_per_frame']:>8.2f}x {r['gflops_ratio']:>11.2f}x "
              f"{r['token_layer_ratio']:>16.2f}x {r['speedup_vs_encode_image']:>21.2f}x "
              f"{r['per_frame_vs_encode_image']:>24.2f}x {memory:>17}")
    print(f"speed-up = merged frames/s over per-frame frames/s (TempMe's paper reports {PAPER_SPEEDUP}x); "
          "ratios = per-frame cost over merged cost")


def print_video(rows: list[VideoTiming]) -> None:
    first = rows[0]
    print(f"\nencode_video, batched: {first.video} ({first.video_seconds:.1f} s, {first.windows} windows, "
          f"{first.frames} frames; probe {first.probe_seconds:.2f} s not included)")
    print(f"{'variant':<10} {'s/video':>8} {'(min-max)':>13} {'decode s':>9} {'encode s':>9} {'other s':>8} "
          f"{'video s/s':>10}")
    for r in rows:
        spread = f"{r.seconds_min:.2f}-{r.seconds_max:.2f}"
        print(f"{r.variant:<10} {r.seconds:>8.3f} {spread:>13} {r.decode_seconds:>9.3f} {r.encode_seconds:>9.3f} "
              f"{r.other_seconds:>8.3f} {r.realtime:>10.1f}")
    per_frame, merged = rows
    print(f"end-to-end speed-up {per_frame.seconds / merged.seconds:.2f}x, encoder alone "
          f"{per_frame.encode_seconds / merged.encode_seconds:.2f}x (the seed reports ~0.8 s per 1-minute video "
          "batched on an RTX 3090); other = preprocessing, batching, copies")
    if first.device == "cpu":
        print("on the CPU the decoder's threads decode ahead beside the encoder: encode s includes waiting for cores")
