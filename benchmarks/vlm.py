"""In-process VLM throughput: captions/s, tokens/s and peak memory per batch size, preprocessing included.

    python -m benchmarks.vlm [--batches 1 4 16] [--captions N] [--json OUT.json]
    python -m benchmarks.vlm --random-7b [--batches 1 16 64] [--new-tokens 64] [--budget-s 240]

It times `TransformersVLM.generate` (chat template, image resize and anyres preprocessing,
`model.generate`, decoding) on caption requests of one frame each: a 16:9 frame at long side 384
(384x216), what the client sends. By default it measures the tiny LLaVA-OneVision on the CPU at
batch 1/4/16. `--random-7b` builds a LLaVA-OneVision-7B-sized model (SigLIP so400m 384 px + Qwen2-7B,
anyres_max_9 with the real 384 px pinpoints) with random weights, for speed only (no weights can be
downloaded on the GPU machine), and measures it in bf16 on the GPU at batch 1/16/64. Every caption
runs to exactly `--new-tokens` tokens (min = max), so a random model cannot stop early.

Per batch size: one warm-up batch, then at least 2x the batch size of captions (more, up to
`--captions`, where the time budget allows), timed between CUDA synchronisations. Columns:
captions/s and its ratio to batch 1 (the naive one-at-a-time baseline, same run), generated
tokens/s, seconds per batch, the share of that time spent preparing inputs (template, resize,
image processor, host-to-device copy), one batch's prefill time (a 1-token generate), peak memory.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from benchmarks.device_timing import peak_memory_mib, synchronize  # noqa: E402
from core.settings import Settings
from models.registry import ModelSpec
from models.vlm.local import TransformersVLM, load_transformers_vlm

CPU_BATCHES = (1, 4, 16)
GPU_BATCHES = (1, 16, 64)
PROMPT = "Describe what happens in these frames. What is said? Who is on screen?"
FRAME_SHAPE = (216, 384, 3)
"""A 16:9 frame resized to long side 384, as the VLM client sends it."""
MIN_CAPTIONS = 16
"""Captions per batch size when the budget allows (never fewer than 2x the batch size)."""

TILE = 384
VISION_7B = {
    "hidden_size": 1152, "intermediate_size": 4304, "num_hidden_layers": 27, "num_attention_heads": 16,
    "patch_size": 14, "image_size": TILE, "vision_use_head": False,
}  # fmt: skip
"""SigLIP so400m-patch14-384, as in llava-onevision-qwen2-7b."""
TEXT_7B = {
    "vocab_size": 152064, "hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28,
    "num_attention_heads": 28, "num_key_value_heads": 4, "max_position_embeddings": 32768,
    "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0}, "tie_word_embeddings": False,
}  # fmt: skip
"""Qwen2-7B."""


@dataclass
class Measurement:
    """Throughput of one batch size."""

    model: str
    device: str
    batch_size: int
    captions: int
    new_tokens: int
    seconds: float
    captions_per_second: float
    tokens_per_second: float
    seconds_per_batch: float
    preprocess_share: float
    prefill_seconds: float
    peak_memory_mib: float
    vs_batch_1: float | None = None


def _pinpoints(tile: int) -> list[list[int]]:
    """LlavaOnevisionImageProcessor's default anyres grid: multiples of the tile up to 6x6 (2304 px at 384)."""
    return [[tile * h, tile * w] for h in range(1, 7) for w in range(1, 7)]


def random_llava_onevision(
    device: str,
    dtype: Any,
    vision: dict[str, Any] = VISION_7B,
    text: dict[str, Any] = TEXT_7B,
    seed: int = 0,
    batch_size: int = 16,
) -> TransformersVLM:
    """A LLaVA-OneVision of the given tower sizes with random weights (std 0.02), built directly on `device`.

    The tokenizer is the tiny model's (it only has to cover the prompt; its ids, the image token's
    included, are all below the model's vocabulary size). Parameters are allocated on the device in
    `dtype`, so an 8B model takes seconds, not minutes of CPU initialisation.
    """
    import torch
    from transformers import (
        LlavaOnevisionConfig,
        LlavaOnevisionForConditionalGeneration,
        LlavaOnevisionImageProcessor,
        LlavaOnevisionProcessor,
        LlavaOnevisionVideoProcessor,
        Qwen2Config,
        SiglipVisionConfig,
    )

    from models.vlm.tiny_llava import CHAT_TEMPLATE, _tokenizer

    tokenizer = _tokenizer()
    tile, patch = vision["image_size"], vision["patch_size"]
    size = {"height": tile, "width": tile}
    siglip = {"image_mean": [0.5] * 3, "image_std": [0.5] * 3}
    processor = LlavaOnevisionProcessor(
        image_processor=LlavaOnevisionImageProcessor(size=size, image_grid_pinpoints=_pinpoints(tile), **siglip),
        video_processor=LlavaOnevisionVideoProcessor(size=size, **siglip),
        tokenizer=tokenizer,
        num_image_tokens=(tile // patch) ** 2,
        vision_feature_select_strategy="full",
        chat_template=CHAT_TEMPLATE,
        vision_aspect_ratio="anyres_max_9",
    )
    assert text["vocab_size"] >= len(tokenizer)
    ids = {"bos_token_id": tokenizer.pad_token_id, "eos_token_id": tokenizer.eos_token_id}
    config = LlavaOnevisionConfig(
        vision_config=SiglipVisionConfig(**vision),
        text_config=Qwen2Config(**text, **ids, pad_token_id=tokenizer.pad_token_id),
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        video_token_index=tokenizer.convert_tokens_to_ids("<video>"),
        vision_feature_select_strategy="full",
        vision_feature_layer=-1,
        image_grid_pinpoints=_pinpoints(tile),
        vision_aspect_ratio="anyres_max_9",
    )
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            model = LlavaOnevisionForConditionalGeneration(config)
    finally:
        torch.set_default_dtype(previous)
    generator = torch.Generator(device=device).manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.ndim >= 2:  # matrices and embeddings; norms and biases keep their init (1 / 0)
                parameter.normal_(0.0, 0.02, generator=generator)
    model = model.to(device=device, dtype=dtype).eval()
    generation = model.generation_config
    generation.eos_token_id = tokenizer.eos_token_id
    generation.pad_token_id = tokenizer.pad_token_id
    generation.do_sample = False
    spec = ModelSpec("vlm", "tiny", "random-llava-onevision-7b", "LLaVA-OneVision-7B-sized, random")  # type: ignore[arg-type]
    return TransformersVLM(model, processor, device, dtype, spec, batch_size, image_max_side=tile)


def tiny_vlm(root: Path) -> TransformersVLM:
    """The tiny LLaVA-OneVision, built under `root` and loaded as the product loads it (CPU, fp32)."""
    from models.vlm.tiny_llava import build_tiny_llava

    directory = build_tiny_llava(root)
    spec = ModelSpec("vlm", "tiny", str(directory), "tiny LLaVA-OneVision")
    return load_transformers_vlm(spec, Settings(device="cpu", profile="tiny"), str(directory))


def _timed_inputs(vlm: TransformersVLM) -> list[float]:
    """Wrap the instance's input preparation so the seconds it takes are recorded (in the same run)."""
    spent: list[float] = []
    prepare: Callable[..., Any] = vlm._inputs

    def timed(items: Any) -> Any:
        started = time.perf_counter()
        inputs = prepare(items)
        synchronize(vlm.device)
        spent.append(time.perf_counter() - started)
        return inputs

    vlm._inputs = timed  # type: ignore[method-assign]
    return spent


def measure(
    vlm: TransformersVLM, items: list[Any], batch_size: int, new_tokens: int, budget_s: float, wanted: int, name: str
) -> Measurement:
    """Warm up one batch, choose the caption count within the budget, then time generate over it."""
    import torch

    vlm.batch_size = batch_size
    spent = _timed_inputs(vlm)
    options = {"max_tokens": new_tokens, "min_new_tokens": new_tokens}
    synchronize(vlm.device)
    started = time.perf_counter()
    vlm.generate(items[:batch_size], **options)
    synchronize(vlm.device)
    warm = time.perf_counter() - started
    batches = max(2, min(math.ceil(wanted / batch_size), int(budget_s // max(warm, 1e-9))))
    count = min(batches * batch_size, len(items))
    if vlm.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    spent.clear()
    started = time.perf_counter()
    answers = vlm.generate(items[:count], **options)
    synchronize(vlm.device)
    seconds = time.perf_counter() - started
    preprocess = sum(spent)
    assert len(answers) == count
    started = time.perf_counter()
    vlm.generate(items[:batch_size], max_tokens=1, min_new_tokens=1)
    synchronize(vlm.device)
    prefill = time.perf_counter() - started
    peak = peak_memory_mib(vlm.device)
    del vlm._inputs  # back to the class's method
    batches_run = math.ceil(count / batch_size)
    return Measurement(
        name, vlm.device, batch_size, count, new_tokens, seconds, count / seconds, count * new_tokens / seconds,
        seconds / batches_run, preprocess / seconds, prefill, peak,
    )  # fmt: skip


def _frames(count: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, FRAME_SHAPE, dtype=np.uint8) for _ in range(count)]


def main(argv: list[str] | None = None) -> int:
    """Run the measurements and print a table, one row per batch size."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--random-7b", action="store_true", help="LLaVA-OneVision-7B-sized random model (GPU, bf16)")
    parser.add_argument("--batches", type=int, nargs="+", default=None)
    parser.add_argument(
        "--captions",
        type=int,
        default=MIN_CAPTIONS,
        help=f"captions per batch size if the budget allows (at least 2x the batch; default {MIN_CAPTIONS})",
    )
    parser.add_argument("--images-per-caption", type=int, default=1)
    parser.add_argument("--new-tokens", type=int, default=64, help="tokens generated per caption (min = max)")
    parser.add_argument(
        "--budget-s",
        type=float,
        default=None,
        help="seconds of timed generation for all batch sizes together (default 240 GPU, 60 CPU)",
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)  # fmt: skip

    import torch

    started = time.perf_counter()
    if args.random_7b:
        from models.device import inference_dtype, pick_device

        device = pick_device(Settings(profile="tiny", device="cuda"))
        vlm, name = random_llava_onevision(device, inference_dtype(device)), "random-llava-onevision-7b"
        batches, budget = GPU_BATCHES, 240.0
        parameters = sum(p.numel() for p in vlm.model.parameters())
        print(f"built {name} ({parameters / 1e9:.2f} B parameters, {vlm.model.config.text_config._attn_implementation}"
              f" attention) in {time.perf_counter() - started:.1f} s")  # fmt: skip
    else:
        root = Path(tempfile.mkdtemp(prefix="vidsage-bench-vlm-"))
        vlm, name = tiny_vlm(root), "tiny-llava-onevision"
        batches, budget = CPU_BATCHES, 60.0
    batches = tuple(args.batches or batches)
    budget = args.budget_s if args.budget_s is not None else budget
    share = budget / len(batches)
    total = max(max(args.captions, 2 * b) for b in batches)
    frames = _frames(total * args.images_per_caption)
    k = args.images_per_caption
    items = [(PROMPT, frames[i * k : (i + 1) * k]) for i in range(total)]
    probe = vlm._inputs(items[:1])
    print(f"{name} on {vlm.device} ({vlm.dtype}, torch {torch.__version__}), {k} frame(s) of "
          f"{FRAME_SHAPE[1]}x{FRAME_SHAPE[0]} per caption, {probe['input_ids'].shape[1]} prompt tokens, "
          f"{args.new_tokens} new tokens per caption; captions per batch size: max(2x batch, {args.captions}) "
          f"where {share:.0f} s of timing allows")  # fmt: skip
    results: list[Measurement] = []
    for batch_size in batches:
        wanted = max(args.captions, 2 * batch_size)
        result = measure(vlm, items, batch_size, args.new_tokens, share, wanted, name)
        results.append(result)
        print(f"  batch {batch_size:>3}: {result.captions} captions in {result.seconds:.2f} s", flush=True)
    base = next((r.captions_per_second for r in results if r.batch_size == 1), None)
    for result in results:
        result.vs_batch_1 = result.captions_per_second / base if base else None
    print()
    print(
        "| batch | captions | captions/s | vs batch 1 | tokens/s | s/batch | preprocess | prefill s/batch | peak MiB |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        ratio = f"{r.vs_batch_1:.2f}x" if r.vs_batch_1 is not None else "-"
        print(f"| {r.batch_size} | {r.captions} | {r.captions_per_second:.2f} | {ratio} | {r.tokens_per_second:,.0f} | "
              f"{r.seconds_per_batch:.2f} | {r.preprocess_share:.1%} | {r.prefill_seconds:.2f} | "
              f"{r.peak_memory_mib:,.0f} |")  # fmt: skip
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
