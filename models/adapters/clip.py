"""CLIP image and text encoders (open_clip), batched, in bf16/fp16 on GPU.

One factory, `load_clip(spec, settings)`, for every profile: `real` is ViT-B-32 laion2b_s34b_b79k,
`tiny` a small architecture described by `configs/vidsage-tiny-clip.json` with seeded random
weights (tests only), an override is `ARCH:PRETRAINED` where PRETRAINED is a tag or a local file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ModelUnavailable
from core.settings import Settings
from models.registry import ModelSpec

TINY_CONFIG = Path(__file__).parent / "configs" / "vidsage-tiny-clip.json"
TINY_ARCH = "vidsage-tiny-clip"
TINY_SEED = 0


@dataclass
class ClipEncoder:
    """A loaded CLIP model with tensor preprocessing; encoders return L2-normalised float32 arrays."""

    model: Any
    tokenizer: Any
    device: str
    dtype: Any
    image_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    spec: ModelSpec
    batch_size: int

    @property
    def dim(self) -> int:
        return int(self.model.text_projection.shape[-1]) if hasattr(self.model, "text_projection") else 0

    def _preprocess(self, frames: np.ndarray) -> Any:
        """Resize the short side, centre-crop and normalise a NHWC uint8 batch on the device."""
        import torch
        import torch.nn.functional as F

        batch = torch.from_numpy(np.ascontiguousarray(frames)).to(self.device, non_blocking=True)
        batch = batch.permute(0, 3, 1, 2).float().div_(255.0)
        height, width = batch.shape[-2:]
        scale = self.image_size / min(height, width)
        new_h, new_w = max(self.image_size, round(height * scale)), max(self.image_size, round(width * scale))
        batch = F.interpolate(batch, size=(new_h, new_w), mode="bicubic", align_corners=False, antialias=True)
        top, left = (new_h - self.image_size) // 2, (new_w - self.image_size) // 2
        batch = batch[:, :, top : top + self.image_size, left : left + self.image_size].clamp_(0.0, 1.0)
        mean = torch.tensor(self.mean, device=self.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=self.device).view(1, -1, 1, 1)
        return ((batch - mean) / std).to(self.dtype)

    def encode_images(self, frames: np.ndarray) -> np.ndarray:
        """Embed RGB frames (N, H, W, 3) uint8 -> (N, D) unit vectors."""
        import torch

        outputs: list[np.ndarray] = []
        with torch.inference_mode():
            for start in range(0, len(frames), self.batch_size):
                pixels = self._preprocess(frames[start : start + self.batch_size])
                features = self.model.encode_image(pixels, normalize=True)
                outputs.append(features.float().cpu().numpy())
        return np.concatenate(outputs) if outputs else np.zeros((0, self.dim), dtype=np.float32)

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts -> (N, D) unit vectors in the same space as the images."""
        import torch

        outputs: list[np.ndarray] = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                tokens = self.tokenizer(list(texts[start : start + self.batch_size])).to(self.device)
                features = self.model.encode_text(tokens, normalize=True)
                outputs.append(features.float().cpu().numpy())
        return np.concatenate(outputs) if outputs else np.zeros((0, self.dim), dtype=np.float32)


def _arch_and_pretrained(spec: ModelSpec) -> tuple[str, str | None]:
    if spec.source == "tiny":
        return TINY_ARCH, None
    arch, _, pretrained = spec.location.partition(":")
    if not arch or not pretrained:
        raise ModelUnavailable(f"CLIP model {spec.location!r}: expected ARCH:PRETRAINED (tag or checkpoint path)")
    return arch, pretrained


def load_clip(spec: ModelSpec, settings: Settings) -> ClipEncoder:
    """Build the CLIP model of a spec; only the `real`/override path may download (into data_dir)."""
    import open_clip
    import torch

    from models.device import inference_dtype, pick_device

    device = pick_device(settings)
    dtype = inference_dtype(device)
    arch, pretrained = _arch_and_pretrained(spec)
    if spec.source == "tiny":
        open_clip.add_model_config(TINY_CONFIG)
        torch.manual_seed(TINY_SEED)
    try:
        model, _, preprocess = open_clip.create_model_and_transforms(
            arch,
            pretrained=pretrained,
            device=device,
            cache_dir=str(settings.data_dir / "weights" / "open_clip"),
        )
        tokenizer = open_clip.get_tokenizer(arch)
    except Exception as error:  # open_clip raises RuntimeError/ValueError/OSError/HF errors
        raise ModelUnavailable(f"CLIP model {spec.location}: cannot be loaded ({str(error).splitlines()[0]})") from error
    model = model.to(device=device, dtype=dtype).eval()
    visual = model.visual
    size = visual.image_size
    image_size = int(size[0] if isinstance(size, (tuple, list)) else size)
    mean = tuple(getattr(visual, "image_mean", None) or open_clip.OPENAI_DATASET_MEAN)
    std = tuple(getattr(visual, "image_std", None) or open_clip.OPENAI_DATASET_STD)
    del preprocess
    return ClipEncoder(model, tokenizer, device, dtype, image_size, mean, std, spec, settings.batch_size)
