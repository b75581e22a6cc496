"""Video captioner throughput: clips/s and peak memory per batch size, preprocessing included.

    python -m benchmarks.captioner [--clips 32] [--height 360 --width 640] [--json OUT.json]
    python -m benchmarks.captioner --random-spacetimegpt [--clips 64]

By default it measures the tiny captioner on the CPU at batch 1/4/16. `--random-spacetimegpt`
builds a SpaceTimeGPT-sized model (TimeSformer-base 224 px / 8 frames + GPT-2 small with
cross-attention) with random weights, for speed only (no weights can be downloaded on the GPU
machine), and measures it in bf16 on the GPU at batch 1/8/32. A random decoder rarely emits EOS,
so every caption runs to the 60-token maximum: an upper bound on the real model's cost.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.device_timing import peak_memory_mib, synchronize  # noqa: E402
from core.settings import Settings  # noqa: E402
from models.adapters.captioner import (  # noqa: E402
    FRAMES_PER_CLIP,
    VIDEOMAE_MEAN,
    VIDEOMAE_STD,
    Captioner,
    build_vision_encoder_decoder,
    captioner_spec,
    load_captioner,
    tiny_tokenizer,
)
from models.registry import ModelSpec  # noqa: E402

CPU_BATCHES = (1, 4, 16)
GPU_BATCHES = (1, 8, 32)


@dataclass
class Measurement:
    """Throughput of one batch size."""

    model: str
    device: str
    batch_size: int
    clips: int
    seconds: float
    clips_per_second: float
    peak_memory_mib: float


def random_spacetimegpt(settings: Settings) -> Captioner:
    """SpaceTimeGPT's architecture with random weights (bf16 on GPU), using the tiny tokenizer's special ids."""
    from transformers import GPT2Config, TimesformerConfig, VideoMAEImageProcessor

    from models.device import inference_dtype, pick_device

    tokenizer = tiny_tokenizer()
    encoder = TimesformerConfig(image_size=224, patch_size=16, num_frames=FRAMES_PER_CLIP)
    decoder = GPT2Config(add_cross_attention=True, is_decoder=True)
    model = build_vision_encoder_decoder(encoder, decoder, tokenizer, seed=0)
    processor = VideoMAEImageProcessor(
        size={"shortest_edge": 224},
        crop_size={"height": 224, "width": 224},
        image_mean=list(VIDEOMAE_MEAN),
        image_std=list(VIDEOMAE_STD),
    )
    device = pick_device(settings)
    dtype = inference_dtype(device)
    model = model.to(device=device, dtype=dtype).eval()
    spec = ModelSpec("captioner", "tiny", "random-spacetimegpt", "SpaceTimeGPT-sized, random")  # type: ignore[arg-type]
    return Captioner(model, processor, tokenizer, device, dtype, spec, settings.batch_size)


def measure(captioner: Captioner, clips: np.ndarray, batch_size: int, name: str) -> Measurement:
    """Time generate (preprocessing + beam search) over all clips at one batch size, after a warm-up batch."""
    import torch

    captioner.generate_ids(clips[:batch_size])
    synchronize(captioner.device)
    if captioner.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    for start in range(0, len(clips), batch_size):
        captioner.generate_ids(clips[start : start + batch_size])
    synchronize(captioner.device)
    seconds = time.perf_counter() - started
    peak = peak_memory_mib(captioner.device)
    return Measurement(name, captioner.device, batch_size, len(clips), seconds, len(clips) / seconds, peak)


def main(argv: list[str] | None = None) -> int:
    """Run the measurements and print one line per batch size."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--random-spacetimegpt", action="store_true", help="SpaceTimeGPT-sized random model (GPU)")
    parser.add_argument("--clips", type=int, default=None, help="clips per batch size (default: 2x the largest batch)")
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--batches", type=int, nargs="+", default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    if args.random_spacetimegpt:
        settings = Settings(profile="tiny", device="auto")
        captioner, name, batches = random_spacetimegpt(settings), "random-spacetimegpt", GPU_BATCHES
    else:
        settings = Settings(profile="tiny", device="cpu")
        captioner, name, batches = load_captioner(captioner_spec(settings), settings), "tiny", CPU_BATCHES
    batches = tuple(args.batches or batches)
    count = args.clips or 2 * max(batches)
    shape = (count, FRAMES_PER_CLIP, args.height, args.width, 3)
    clips = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    print(f"{name} on {captioner.device} ({captioner.dtype}), {count} clips of 8x{args.height}x{args.width}, "
          f"{captioner.num_beams} beams, {captioner.min_new_tokens}-{captioner.max_new_tokens} new tokens")
    results = []
    for batch_size in batches:
        result = measure(captioner, clips, batch_size, name)
        results.append(result)
        print(f"  batch {batch_size:>3}: {result.clips_per_second:8.2f} clips/s  "
              f"({result.seconds:.2f} s)  peak {result.peak_memory_mib:,.0f} MiB")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
