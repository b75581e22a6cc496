"""TempMe token merging vs per-frame encoding: GFLOPs, frames/s, peak memory and agreement.

    python -m benchmarks.tempme [--batches 12 48 96] [--video PATH] [--skip-video] [--json OUT.json]
    python -m benchmarks.tempme --random-vit-b32 [--device cuda] [--batches 64 128 256 512] [--profile]

For each batch (frames per forward = segments x `max_frames`) it runs the segment encoder with
merging on ("merged") and off ("per-frame": every frame alone, exactly open_clip's encode_image),
plus open_clip's own `encode_image` as a reference, and reports GFLOPs per frame (counted by
torch's FlopCounterMode on one forward), the analytic token-layer ratio of the merge schedule,
frames/s (median of timed forwards after a warm-up), peak memory, and the cosine between merged
and per-frame segment and frame vectors. Inputs are real decoded frames with temporal redundancy:
the windows `encode_video` samples from a 60 s video of scikit-image photos slowly zoomed and
panned (written once and cached; `--video` uses another file). Then it times `encode_video` on the
whole video end to end (decode + preprocess + encode), merging on and off.

By default it measures the tiny CLIP (`tiny` profile) on the CPU. `--random-vit-b32` builds
open_clip ViT-B-32 with random weights (for speed only: no weights can be downloaded on the GPU
machine), in bf16 on the GPU. Both models have random weights, so the cosines say how much
merging perturbs a random network of that shape, not how well a trained one retrieves.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.device_timing import peak_memory_mib, reset_peak_memory, synchronize  # noqa: E402
from benchmarks.tempme_profile import Forward, profile_forwards  # noqa: E402
from benchmarks.tempme_report import (  # noqa: E402
    Measurement,
    VideoTiming,
    print_batches,
    print_ratios,
    print_video,
    ratios,
)
from core.settings import Settings  # noqa: E402
from core.types import VideoRef  # noqa: E402
from models.adapters.clip import ClipEncoder  # noqa: E402
from models.retrieval.config import UnifiedModelConfig  # noqa: E402
from models.retrieval.segment_encoder import SegmentEncoder  # noqa: E402

CPU_BATCHES = (12, 48, 96)
GPU_BATCHES = (64, 128, 256, 512)
VARIANTS = ("per-frame", "merged", "encode_image")

VIDEO_SECONDS = 60.0
PHOTO_SECONDS = 3.0
VIDEO_SIZE = (640, 360)
VIDEO_FPS = 30.0



# -- models --------------------------------------------------------------------------------------


def tiny_clip(device: str) -> ClipEncoder:
    """The `tiny` profile's CLIP (seeded random weights), as the tests load it."""
    from models.cache import ModelCache

    clip = ModelCache.for_settings(Settings(profile="tiny", device=device)).clip()  # type: ignore[arg-type]
    if clip is None:
        raise SystemExit("the tiny profile has no CLIP model")
    return clip


def random_vit_b32(device: str) -> ClipEncoder:
    """open_clip ViT-B-32 with random weights (bf16 on GPU), wrapped like `load_clip` wraps a real one."""
    import open_clip
    import torch

    from models.device import inference_dtype
    from models.registry import ModelSpec

    torch.manual_seed(0)
    model, _, _ = open_clip.create_model_and_transforms("ViT-B-32", pretrained=None, device=device)
    dtype = inference_dtype(device)
    model = model.to(device=device, dtype=dtype).eval()
    spec = ModelSpec("clip", "tiny", "ViT-B-32:random", "ViT-B-32, random weights (benchmark only)")
    return ClipEncoder(model, open_clip.get_tokenizer("ViT-B-32"), device, dtype, 224,
                       open_clip.OPENAI_DATASET_MEAN, open_clip.OPENAI_DATASET_STD, spec, 64)


def forwards(clip: ClipEncoder, config: UnifiedModelConfig) -> tuple[dict[str, Forward], dict[str, SegmentEncoder]]:
    """Each variant as pixels (B, N, 3, S, S) -> (segment (B, D), frames (B, N, D)), unit vectors."""
    import torch.nn.functional as F

    encoders = {"merged": SegmentEncoder(clip, config), "per-frame": SegmentEncoder(clip, config.with_merging(False))}

    def encode_image(pixels: Any) -> tuple[Any, Any]:
        batch, count = pixels.shape[:2]
        frames = clip.model.encode_image(pixels.flatten(0, 1), normalize=True).float().view(batch, count, -1)
        return F.normalize(frames.mean(dim=1), dim=-1), frames

    functions: dict[str, Forward] = {name: encoder.forward for name, encoder in encoders.items()}
    functions["encode_image"] = encode_image
    return {name: functions[name] for name in VARIANTS}, encoders


# -- inputs --------------------------------------------------------------------------------------


def photo_video(cache_dir: Path) -> Path:
    """A 60 s, 640x360, 30 fps video of photos (3 s each, slow zoom and pan), written once per cache dir."""
    from evaluation.photo_scenes import PHOTOS, make_photo_video

    width, height = VIDEO_SIZE
    path = cache_dir / f"tempme-photos-{VIDEO_SECONDS:.0f}s-{width}x{height}-{VIDEO_FPS:.0f}fps.mp4"
    if not path.is_file():
        count = round(VIDEO_SECONDS / PHOTO_SECONDS)
        print(f"writing {path} ({count} photo scenes, once) ...", file=sys.stderr)
        started = time.perf_counter()
        photos = [PHOTOS[i % len(PHOTOS)] for i in range(count)]
        make_photo_video(path, photos, seconds_each=PHOTO_SECONDS, fps=VIDEO_FPS, size=VIDEO_SIZE)
        print(f"  written in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return path


def window_indices(ref: VideoRef, config: UnifiedModelConfig) -> np.ndarray:
    """Frame indices (windows, max_frames) that `encode_video` samples from this video."""
    from models.adapters.video import frame_indices
    from models.retrieval.event_retrieval import window_bounds, window_frame_times

    bounds = window_bounds(ref.duration, config, ref.num_frames)
    times = window_frame_times(bounds, config.max_frames)
    return frame_indices(ref, times.ravel()).reshape(times.shape)


def window_pixels(clip: ClipEncoder, ref: VideoRef, indices: np.ndarray) -> Any:
    """Decode the windows' frames once and preprocess them: (windows, max_frames, 3, S, S) on the device."""
    import torch

    from models.adapters.video import iter_frames

    unique = np.unique(indices)
    chunks = [clip._preprocess(frames) for _, frames in iter_frames(ref, unique / ref.fps, batch_size=64)]
    pixels = torch.cat(chunks)
    rows = torch.from_numpy(np.searchsorted(unique, indices.ravel())).to(pixels.device)
    return pixels[rows].view(*indices.shape, *pixels.shape[1:])


# -- measurements --------------------------------------------------------------------------------


def count_flops(forward: Forward, pixels: Any) -> int:
    """FLOPs of one forward (matmuls, convolutions, attention) by torch's FlopCounterMode.

    Two fused kernels it does not know are counted here the way it counts their parts: CPU
    scaled-dot-product attention, and nn.MultiheadAttention's inference fast path (which
    open_clip's encode_image takes), projections included.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    def attention_flops(query: Any, key: Any, value: Any, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
        batch, heads, length, width = query
        return 2 * batch * heads * length * key[-2] * (width + value[-1])

    def multi_head_flops(query: Any, key: Any, value: Any, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
        batch, length, width = query
        projections = 2 * batch * length * width * (3 * width + width)
        return projections + 4 * batch * length * key[-2] * width

    aten = torch.ops.aten
    custom = {aten._scaled_dot_product_flash_attention_for_cpu: attention_flops,
              aten._native_multi_head_attention: multi_head_flops}
    with FlopCounterMode(display=False, custom_mapping=custom) as counter:
        forward(pixels)
    return int(counter.get_total_flops())


@dataclass
class Timing:
    """Timed forwards of one variant."""

    seconds: list[float]
    peak_memory_mib: float = 0.0
    working_memory_mib: float | None = None
    output: Any = None


def time_variants(
    functions: dict[str, Forward], pixels: Any, device: str, warmup: int, repeats: int
) -> dict[str, Timing]:
    """`warmup` forwards of each variant, then `repeats` rounds of one timed forward per variant (alternating,
    so drift on a shared machine hits every variant alike); peak memory per variant."""
    import torch

    cuda = device.startswith("cuda")
    for forward in functions.values():
        for _ in range(warmup):
            forward(pixels)
    timings = {variant: Timing([]) for variant in functions}
    for _ in range(repeats):
        for variant, forward in functions.items():
            timing = timings[variant]
            synchronize(device)
            reset_peak_memory(device)
            before = torch.cuda.memory_allocated() / 2**20 if cuda else 0.0
            started = time.perf_counter()
            timing.output = forward(pixels)
            synchronize(device)
            timing.seconds.append(time.perf_counter() - started)
            peak = peak_memory_mib(device)
            timing.peak_memory_mib = max(timing.peak_memory_mib, peak)
            if cuda:
                timing.working_memory_mib = max(timing.working_memory_mib or 0.0, peak - before)
    return timings


def cosines(a: Any, b: Any) -> tuple[float, float]:
    """Mean and min cosine of paired unit vectors along the last axis."""
    values = (a.float() * b.float()).sum(dim=-1).flatten()
    return float(values.mean()), float(values.min())


def measure_batch(
    name: str,
    device: str,
    functions: dict[str, Forward],
    encoders: dict[str, SegmentEncoder],
    pixels: Any,
    warmup: int,
    repeats: int,
) -> list[Measurement]:
    """Every variant on one batch of segments; cosines of merged against per-frame."""
    segments, frames = pixels.shape[0], pixels.shape[0] * pixels.shape[1]
    merged = encoders["merged"]
    plan = merged.plan(pixels.shape[1])
    unmerged_token_layers = plan.frames * (1 + merged.patches) * merged.depth
    eager = {name: encoder._forward for name, encoder in encoders.items()}  # count one forward, never a graph capture
    flops = {variant: count_flops(eager.get(variant, forward), pixels) for variant, forward in functions.items()}
    timings = time_variants(functions, pixels, device, warmup, repeats)
    rows: list[Measurement] = []
    for variant, timing in timings.items():
        seconds = statistics.median(timing.seconds)
        ratio = plan.token_layers() / unmerged_token_layers if variant == "merged" else 1.0
        rows.append(Measurement(name, device, variant, segments, frames, flops[variant] / frames / 1e9, ratio,
                                seconds, frames / seconds, timing.peak_memory_mib, timing.working_memory_mib))
    (segment_m, frame_m), (segment_u, frame_u) = timings["merged"].output, timings["per-frame"].output
    row = next(r for r in rows if r.variant == "merged")
    row.segment_cosine_mean, row.segment_cosine_min = cosines(segment_m, segment_u)
    row.frame_cosine_mean, row.frame_cosine_min = cosines(frame_m, frame_u)
    return rows


class TimedEncoder:
    """A segment encoder as `UnifiedRetriever` uses it, adding up the (synchronised) time of its forwards."""

    def __init__(self, encoder: SegmentEncoder) -> None:
        self.encoder = encoder
        self.clip = encoder.clip
        self.config = encoder.config
        self.seconds = 0.0

    def forward(self, pixels: Any) -> tuple[Any, Any]:
        synchronize(self.clip.device)
        started = time.perf_counter()
        output = self.encoder.forward(pixels)
        synchronize(self.clip.device)
        self.seconds += time.perf_counter() - started
        return output


def time_decode(ref: VideoRef, indices: np.ndarray, batch_size: int, repeats: int) -> float:
    """Median seconds to decode the frames encode_video samples, in its batches, with nothing else."""
    from models.adapters.video import iter_frames

    unique = np.unique(indices)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in iter_frames(ref, unique / ref.fps, batch_size=batch_size):
            pass
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure_video(
    name: str, clip: ClipEncoder, config: UnifiedModelConfig, video: Path, repeats: int
) -> list[VideoTiming]:
    """encode_video end to end on the whole video, merging on and off: one warm-up run each, then
    `repeats` runs of each, alternating, so drift on a shared machine hits both alike."""
    from models.adapters.video import probe
    from models.retrieval.event_retrieval import UnifiedRetriever

    started = time.perf_counter()
    ref = probe(video)
    probe_seconds = time.perf_counter() - started
    indices = window_indices(ref, config)
    decode = time_decode(ref, indices, max(16, clip.batch_size), repeats)
    encoders = {"per-frame": SegmentEncoder(clip, config.with_merging(False)), "merged": SegmentEncoder(clip, config)}
    runs: dict[str, list[tuple[float, float]]] = {variant: [] for variant in encoders}
    for encoder in encoders.values():
        UnifiedRetriever(encoder).encode_video(ref)
    for _ in range(repeats):
        for variant, encoder in encoders.items():
            timed = TimedEncoder(encoder)
            retriever = UnifiedRetriever(timed)  # type: ignore[arg-type]
            synchronize(clip.device)
            begin = time.perf_counter()
            retriever.encode_video(ref)
            synchronize(clip.device)
            runs[variant].append((time.perf_counter() - begin, timed.seconds))
    results = []
    for variant, measured in runs.items():
        seconds, encode = sorted(measured)[len(measured) // 2]
        totals = [total for total, _ in measured]
        results.append(VideoTiming(name, clip.device, variant, str(video), ref.duration, len(indices), indices.size,
                                   seconds, min(totals), max(totals), decode, encode,
                                   max(0.0, seconds - encode - decode), probe_seconds))
    return results


# -- main --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the measurements and print the tables and ratios."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--random-vit-b32", action="store_true", help="ViT-B-32 with random weights (GPU, bf16)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default=None,
                        help="default: cuda for --random-vit-b32 when present, else cpu")
    parser.add_argument("--batches", type=int, nargs="+", default=None,
                        help="frames per forward (rounded to whole segments of max_frames)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed forwards per measurement (default 10 on the CPU, 20 on the GPU)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--video", type=Path, default=None, help="video to sample from (default: generated, cached)")
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "vidsage-bench")
    parser.add_argument("--skip-video", action="store_true", help="skip the end-to-end encode_video timing")
    parser.add_argument("--video-repeats", type=int, default=5)
    parser.add_argument("--batch-windows", type=int, default=None, help="windows per forward in encode_video")
    parser.add_argument("--profile", action="store_true", help="torch.profiler over each variant at the largest batch")
    parser.add_argument("--no-cuda-graphs", action="store_true", help="launch kernels eagerly instead of replaying graphs")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    import torch

    device = args.device or ("cuda" if args.random_vit_b32 and torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is available")
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    clip = random_vit_b32(device) if args.random_vit_b32 else tiny_clip(device)
    name = "ViT-B-32 (random)" if args.random_vit_b32 else "tiny CLIP (random)"
    batches = tuple(args.batches or (GPU_BATCHES if args.random_vit_b32 else CPU_BATCHES))
    repeats = args.repeats or (20 if device == "cuda" else 10)
    config = replace(UnifiedModelConfig(), video_size=clip.image_size)
    if args.batch_windows:
        config = replace(config, batch_windows=args.batch_windows)
    if args.no_cuda_graphs:
        config = replace(config, cuda_graphs=False)

    from models.adapters.video import probe

    video = args.video or photo_video(args.cache_dir)
    ref = probe(video)
    indices = window_indices(ref, config)
    hardware = torch.cuda.get_device_name() if device == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    functions, encoders = forwards(clip, config)
    plan = encoders["merged"].plan(config.max_frames)
    print(f"{name} on {device} ({hardware}, {clip.dtype}), torch {torch.__version__}")
    print(f"segments of {config.max_frames} frames from {video} ({ref.duration:.1f} s, {ref.width}x{ref.height}, "
          f"{len(indices)} windows); weights are random: cosines measure how much merging perturbs this network")
    print(f"merge layers {encoders['merged'].merge_layers} of {encoders['merged'].depth}, joins "
          f"{config.tempme.merge_frame_num}, proportions {config.tempme.merge_token_proportion}; tokens per "
          f"segment by block: {' '.join(str(t.tokens_per_segment) for t in plan.trace)} "
          f"(per-frame: {config.max_frames * (1 + encoders['merged'].patches)} each)")

    rows: list[Measurement] = []
    video_rows: list[VideoTiming] = []
    with torch.inference_mode():
        windows = window_pixels(clip, ref, indices)
        for batch in batches:
            segments = max(1, round(batch / config.max_frames))
            pixels = windows[torch.arange(segments, device=windows.device) % len(windows)].contiguous()
            rows.extend(measure_batch(name, device, functions, encoders, pixels, args.warmup, repeats))
        print()
        print_batches(rows)
        table = ratios(rows)
        print_ratios(table)
        if args.profile:
            segments = max(1, round(max(batches) / config.max_frames))
            pixels = windows[torch.arange(segments, device=windows.device) % len(windows)].contiguous()
            profile_forwards(functions, encoders, pixels, device)
        del windows
        if not args.skip_video:
            video_rows = measure_video(name, clip, config, video, args.video_repeats)
            print_video(video_rows)
    if args.json:
        report = {
            "model": name,
            "device": device,
            "hardware": hardware,
            "torch": torch.__version__,
            "video": str(video),
            "config": config.to_dict(),
            "batches": [asdict(r) for r in rows],
            "ratios": table,
            "encode_video": [dict(asdict(r), realtime=r.realtime) for r in video_rows],
        }
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
