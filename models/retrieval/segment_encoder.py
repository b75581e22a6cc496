"""The TempMe-STOP segment encoder: N frames through open_clip's ViT with temporal token merging.

It re-runs the blocks of an open_clip `VisionTransformer` (same weights, same maths) on token
sets that shrink as clips are joined and merged (models/retrieval/tempme.py), with TempMe's LoRA and STOP's
prompts applied when present (models/retrieval/adapters.py). Output: per-frame vectors (each
frame's own class token through ln_post and the projection) and one segment vector (meanP: the
normalised mean of the frame vectors). With merging disabled the per-frame vectors are exactly
open_clip's `encode_image`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.errors import InvalidRequest, ModelUnavailable
from models.adapters.clip import ClipEncoder
from models.retrieval.adapters import RetrievalAdapters
from models.retrieval.config import UnifiedModelConfig
from models.retrieval.tempme import PAD_LOG_SIZE, MergePlan, plan_merges, reduce_tokens

#: CUDA graphs kept per encoder (one per batch shape; a video's windows need at most two shapes).
MAX_GRAPHS = 4


@dataclass
class SegmentEmbeddings:
    """Unit vectors: `segments` (B, D), `frames` (B, N, D); `plan` is the merge schedule used."""

    segments: np.ndarray
    frames: np.ndarray
    plan: MergePlan

    def relevance(self, query: np.ndarray) -> np.ndarray:
        """Per-frame relevance (B, N): cosine of each frame vector with a unit query vector."""
        return self.frames @ query.astype(np.float32)


def _check_supported(visual: Any) -> None:
    """The merged forward re-implements open_clip's standard ViT; refuse anything else clearly."""
    from open_clip.transformer import ResidualAttentionBlock, VisionTransformer

    if not isinstance(visual, VisionTransformer):
        raise ModelUnavailable(f"TempMe merging needs a ViT CLIP; {type(visual).__name__} is not one")
    blocks = visual.transformer.resblocks
    if not all(isinstance(b, ResidualAttentionBlock) and isinstance(b.attn, nn.MultiheadAttention) for b in blocks):
        raise ModelUnavailable("TempMe merging supports open_clip's standard attention blocks only")
    if visual.attn_pool is not None or getattr(visual, "pool_type", "tok") != "tok":
        raise ModelUnavailable("TempMe merging needs class-token pooling (pool_type 'tok')")


def with_text_weights(clip: ClipEncoder, weights: dict[str, Any], source: str) -> ClipEncoder:
    """A private copy of `clip` whose text tower holds fine-tuned weights (the shared model is untouched)."""
    import copy
    from dataclasses import replace

    model = copy.deepcopy(clip.model)
    params = dict(model.named_parameters())
    unknown = sorted(set(weights) - set(params))
    if unknown:
        raise InvalidRequest(f"{source}: text weights do not fit this CLIP ({unknown[0]} ...)")
    with torch.no_grad():
        for name, value in weights.items():
            params[name].copy_(value.to(device=params[name].device, dtype=params[name].dtype))
    return replace(clip, model=model)


_BUILT: dict[tuple[int, str, int], tuple[ClipEncoder, SegmentEncoder]] = {}
"""Encoders built by `SegmentEncoder.for_clip`, by (CLIP, config, adapter file version); the CLIP is kept beside
its encoder so an id is never reused for another model while its entry lives."""


class SegmentEncoder(nn.Module):
    """Encode (B, N) frame batches into segment and frame vectors with TempMe merging."""

    def __init__(self, clip: ClipEncoder, config: UnifiedModelConfig, adapters: RetrievalAdapters | None = None):
        super().__init__()
        visual = clip.model.visual
        _check_supported(visual)
        self.clip = clip
        self.visual = visual
        self.config = config
        self.depth = len(visual.transformer.resblocks)
        self.width = int(visual.conv1.out_channels)
        grid = visual.grid_size
        self.patches = int(grid[0] * grid[1])
        self.merge_layers = config.merge_layers_for(self.depth) if config.tempme.enabled else ()
        self.adapters = adapters
        self._plans: dict[int, MergePlan] = {}
        self._graphs: dict[Any, Any] = {}
        self._positions: dict[tuple[int, str], torch.Tensor] = {}
        self._prompt_index: dict[tuple[tuple[int, ...], str], torch.Tensor] = {}

    @classmethod
    def build(cls, clip: ClipEncoder, config: UnifiedModelConfig) -> "SegmentEncoder":
        """The encoder, with the trained adapters (and fine-tuned text tower) that `config.adapter_path` names."""
        if not config.adapter_path:
            return cls(clip, config)
        visual = clip.model.visual
        adapters = RetrievalAdapters(config, len(visual.transformer.resblocks), int(visual.conv1.out_channels))
        record = adapters.load(Path(config.adapter_path))
        if isinstance(record.get("text"), dict):
            clip = with_text_weights(clip, record["text"], config.adapter_path)
        encoder = cls(clip, config)
        encoder.attach(adapters)
        return encoder

    @classmethod
    def for_clip(cls, clip: ClipEncoder, config: UnifiedModelConfig) -> SegmentEncoder:
        """The one factory of the encoder that ingest and retrieval share: `build` once per loaded CLIP, config and
        adapter file version (loading adapters is costly); the config records CLIP's own input size."""
        config = config.for_image_size(clip.image_size)
        adapters = Path(config.adapter_path) if config.adapter_path else None
        version = adapters.stat().st_mtime_ns if adapters is not None and adapters.exists() else 0
        key = (id(clip), repr(config), version)
        built = _BUILT.get(key)
        if built is None or built[0] is not clip:
            built = _BUILT[key] = (clip, cls.build(clip, config))
        return built[1]

    def attach(self, adapters: RetrievalAdapters) -> None:
        """Use trained (or training) adapters from now on; graphs captured without them are dropped."""
        self.adapters = adapters.to(device=self.clip.device)
        self._graphs.clear()

    def plan(self, frames: int) -> MergePlan:
        """The (cached) merge schedule for segments of `frames` frames."""
        if frames not in self._plans:
            proportions = self.config.tempme.merge_token_proportion
            self._plans[frames] = plan_merges(
                frames,
                self.depth,
                self.patches,
                self.merge_layers,
                self.config.tempme.joins,
                proportions[0],
                proportions[1],
                enabled=self.config.tempme.enabled,
            )
        return self._plans[frames]

    # -- public entry points -------------------------------------------------------------------
    def encode(self, frames: np.ndarray) -> SegmentEmbeddings:
        """Frames (B, N, H, W, 3) uint8 -> unit segment and frame vectors (float32)."""
        if frames.ndim != 5:
            raise ValueError(f"expected (segments, frames, H, W, 3), got shape {frames.shape}")
        count, per_segment = frames.shape[:2]
        with torch.inference_mode():
            pixels = self.clip._preprocess(frames.reshape(-1, *frames.shape[2:]))
            pixels = pixels.view(count, per_segment, *pixels.shape[1:])
            segment, frame = self.forward(pixels)
        return SegmentEmbeddings(
            segment.float().cpu().numpy(), frame.float().cpu().numpy(), self.plan(per_segment)
        )

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        return self.clip.encode_texts(texts)

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pixels (B, N, 3, S, S) -> (segment (B, D), frames (B, N, D)), both L2-normalised.

        On CUDA at inference the forward is captured once per batch shape as a CUDA graph and
        replayed: merging is many small kernels, and launching them one by one from Python would
        cost more than the FLOPs it saves.
        """
        if self.config.cuda_graphs and pixels.is_cuda and not torch.is_grad_enabled():
            return self._replay(pixels)
        return self._forward(pixels)

    def _replay(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        key = (tuple(pixels.shape), pixels.dtype, pixels.device)
        entry = self._graphs.pop(key, None)
        if entry is None:
            static_input = pixels.clone()
            side = torch.cuda.Stream(device=pixels.device)
            side.wait_stream(torch.cuda.current_stream(pixels.device))
            with torch.cuda.stream(side):
                for _ in range(2):  # warm-up: lazy initialisation and cached index tensors happen here
                    self._forward(static_input)
            torch.cuda.current_stream(pixels.device).wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                static_output = self._forward(static_input)
            entry = (graph, static_input, static_output)
        self._graphs[key] = entry  # most recently used last
        while len(self._graphs) > MAX_GRAPHS:
            self._graphs.pop(next(iter(self._graphs)))
        graph, static_input, static_output = entry
        static_input.copy_(pixels)
        graph.replay()
        return static_output[0].clone(), static_output[1].clone()

    def _forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, frames = pixels.shape[:2]
        plan = self.plan(frames)
        visual = self.visual
        x = self._embed(pixels.flatten(0, 1))  # (B*N, 1+P, W)
        sizes = torch.ones(x.shape[:2], device=x.device, dtype=torch.float32)
        bias: torch.Tensor | None = None  # all sizes are 1 until the first merge: no bias needed
        class_count = 1
        intra = {step.layer: step for step in plan.intra}
        merges: dict[int, list[Any]] = {}
        for step in plan.merges:
            merges.setdefault(step.layer, []).append(step)
        clips = frames
        slot_layout = [[f] for f in range(frames)]
        for layer, block in enumerate(visual.transformer.resblocks):
            if layer in intra or layer in merges:
                classes, patches = x[:, :class_count], x[:, class_count:]
                class_sizes, patch_sizes = sizes[:, :class_count], sizes[:, class_count:]
                if layer in intra:
                    patches, patch_sizes = reduce_tokens(patches, patch_sizes, intra[layer].remove)
                for step in merges.get(layer, []):
                    classes, class_sizes, patches, patch_sizes, clips, slot_layout = self._join(
                        batch, clips, step, classes, class_sizes, patches, patch_sizes, slot_layout
                    )
                class_count = classes.shape[1]
                x = torch.cat([classes, patches], dim=1)
                sizes = torch.cat([class_sizes, patch_sizes], dim=1)
                bias = attention_bias(sizes, x.dtype)
            if self.adapters is not None:
                x = self._prompted(layer, batch, x, class_count, slot_layout)
            x = self._block(layer, block, x, bias)
        flat = x[:, :class_count].reshape(batch, -1, x.shape[-1])
        frame_tokens = flat[:, self._frame_positions(plan, x.device)]  # (B, N, W) in frame order
        frame_vectors = self._project(frame_tokens)
        segment = F.normalize(frame_vectors.float().mean(dim=1), dim=-1)
        return segment, frame_vectors.float()

    def _frame_positions(self, plan: MergePlan, device: torch.device) -> torch.Tensor:
        """The class-token slots of the frames, as a cached device tensor (no host copy inside a graph)."""
        key = (plan.frames, str(device))
        if key not in self._positions:
            self._positions[key] = torch.tensor(plan.frame_positions(), device=device)
        return self._positions[key]

    def _prompted(self, layer: int, batch: int, x: torch.Tensor, class_count: int, slot_layout: list[list[int]]) -> torch.Tensor:
        """x with STOP's temporal prompt on the class tokens and spatial prompt on the patches."""
        assert self.adapters is not None
        classes = self._temporal_prompt(layer, batch, x[:, :class_count], slot_layout)
        patches = x[:, class_count:]
        prompt = self.adapters.patch_prompt(layer, patches)
        if prompt is not None:
            patches = patches + prompt
        return torch.cat([classes, patches], dim=1)

    # -- internals -----------------------------------------------------------------------------
    def _embed(self, pixels: torch.Tensor) -> torch.Tensor:
        """open_clip's `_embeds`, with the patch convolution done as one matmul.

        A stride-equals-kernel convolution is a reshape and a GEMM; cuDNN's generic kernel for it
        took a quarter of ViT-B/32's forward on an H100.
        """
        visual = self.visual
        conv = visual.conv1
        patch = conv.kernel_size[0]
        if conv.stride != conv.kernel_size or conv.bias is not None or conv.padding != (0, 0) or visual.training:
            return visual._embeds(pixels)
        count, channels, height, width = pixels.shape
        rows, cols = height // patch, width // patch
        patches = pixels.view(count, channels, rows, patch, cols, patch).permute(0, 2, 4, 1, 3, 5)
        x = patches.reshape(count, rows * cols, channels * patch * patch) @ conv.weight.view(conv.out_channels, -1).t()
        cls = visual.class_embedding.to(x.dtype).view(1, 1, -1).expand(count, -1, -1)
        x = torch.cat([cls, x], dim=1) + visual.positional_embedding.to(x.dtype)
        return visual.ln_pre(x)

    def _project(self, class_tokens: torch.Tensor) -> torch.Tensor:
        """open_clip's `_pool` for class-token pooling: ln_post, then the projection, normalised."""
        visual = self.visual
        pooled = visual.ln_post(class_tokens)
        if visual.proj is not None:
            pooled = pooled @ visual.proj
        return F.normalize(pooled, dim=-1)

    def _join(
        self,
        batch: int,
        clips: int,
        step: Any,
        classes: torch.Tensor,
        class_sizes: torch.Tensor,
        patches: torch.Tensor,
        patch_sizes: torch.Tensor,
        slot_layout: list[list[int]],
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, int, list[list[int]]]:
        """Pad to a multiple of `join` clips (size-0 tokens), concatenate neighbours, merge patches."""

        def grouped(t: torch.Tensor) -> torch.Tensor:
            t = t.view(batch, clips, *t.shape[1:])
            if step.pad_clips:
                t = torch.cat([t, torch.zeros_like(t[:, : step.pad_clips])], dim=1)
            return t.reshape(batch * ((clips + step.pad_clips) // step.join), -1, *t.shape[3:])

        classes, class_sizes = grouped(classes), grouped(class_sizes)
        patches, patch_sizes = grouped(patches), grouped(patch_sizes)
        blank = [-1] * len(slot_layout[0])
        padded = slot_layout + [list(blank) for _ in range(step.pad_clips)]
        slot_layout = [sum(padded[i : i + step.join], []) for i in range(0, len(padded), step.join)]
        patches, patch_sizes = reduce_tokens(patches, patch_sizes, step.remove, clips=step.join)
        return classes, class_sizes, patches, patch_sizes, len(slot_layout), slot_layout

    def _temporal_prompt(
        self, layer: int, batch: int, classes: torch.Tensor, slot_layout: list[list[int]]
    ) -> torch.Tensor:
        """Add STOP's temporal prompt to each frame's class token (computed in frame order)."""
        flat_slots = tuple(s for clip in slot_layout for s in clip)
        flat = classes.reshape(batch, len(flat_slots), -1)
        key = (flat_slots, str(classes.device))
        if key not in self._prompt_index:  # cached: no host-to-device copy inside a CUDA graph
            positions = [i for i, s in enumerate(flat_slots) if s >= 0]
            self._prompt_index[key] = torch.tensor(positions, device=classes.device)
        index = self._prompt_index[key]
        prompt = self.adapters.frame_prompt(layer, flat[:, index]) if self.adapters is not None else None
        if prompt is None:
            return classes
        flat = flat.index_add(1, index, prompt.to(flat.dtype))
        return flat.reshape(classes.shape)

    def _block(self, layer: int, block: Any, x: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        """open_clip's ResidualAttentionBlock with proportional attention (log-size bias) and LoRA."""
        attn: nn.MultiheadAttention = block.attn
        hidden = block.ln_1(x)
        qkv = F.linear(hidden, attn.in_proj_weight, attn.in_proj_bias)
        if self.adapters is not None:
            delta = self.adapters.qkv_delta(layer, hidden)
            if delta is not None:
                qkv = qkv + delta
        count, length, width = x.shape
        heads = attn.num_heads
        q, k, v = qkv.view(count, length, 3, heads, width // heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        out = attn.out_proj(out.transpose(1, 2).reshape(count, length, width))
        x = x + block.ls_1(out)
        return x + block.ls_2(block.mlp(block.ln_2(x)))


def attention_bias(sizes: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Proportional attention: log(size) per key, a large negative for padding (size 0); (M, 1, 1, T)."""
    log_sizes = torch.where(sizes > 0, sizes.clamp_min(1e-6).log(), torch.full_like(sizes, PAD_LOG_SIZE))
    return log_sizes.to(dtype).view(sizes.shape[0], 1, 1, sizes.shape[1])
