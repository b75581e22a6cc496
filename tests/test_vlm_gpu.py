"""The in-process VLM on CUDA: the tiny LLaVA-OneVision in bf16 answers a batch as it answers one by one.

Run on the device machine: `pytest -m gpu tests/test_vlm_gpu.py`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.settings import Settings
from models.registry import ModelSpec

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_tiny_llava_on_cuda_answers_a_batch_like_one_by_one(tmp_path: Path) -> None:
    from models.vlm.local import load_transformers_vlm
    from models.vlm.tiny_llava import build_tiny_llava

    directory = build_tiny_llava(tmp_path / "weights")
    spec = ModelSpec("vlm", "tiny", str(directory), "tiny LLaVA-OneVision")
    vlm = load_transformers_vlm(spec, Settings(device="cuda", profile="tiny"), str(directory))
    assert vlm.device == "cuda" and vlm.dtype == torch.bfloat16
    assert {(p.device.type, p.dtype) for p in vlm.model.parameters()} == {("cuda", torch.bfloat16)}

    rng = np.random.default_rng(3)
    frames = [rng.integers(0, 256, (216, 384, 3), dtype=np.uint8), rng.integers(0, 256, (240, 240, 3), dtype=np.uint8)]
    items = [
        ("Describe what happens in the harbour.", frames),
        ("Who is on screen?", []),
        ("What is said?", frames[:1]),
    ]
    batched = vlm.caption_batch(items, max_tokens=12)
    one_by_one = [vlm.complete(prompt, images, max_tokens=12) for prompt, images in items]
    assert batched == one_by_one
    assert all(batched)
