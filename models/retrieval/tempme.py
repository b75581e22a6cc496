"""TempMe-style temporal token merging: the merge schedule and bipartite soft matching (ToMe).

A segment of N frames enters the ViT as N separate token sets. In the layers before the first merge
layer each frame merges its own most similar patch tokens (intra-frame); at each merge layer
`join` adjacent clips are concatenated and the most similar tokens *across* them merged (a patch
of frame t with its match in frame t+1 first), so redundant content is computed once. Every
merged token carries a size (how many patches it stands for) used as a log-size attention bias
(proportional attention), so a merged token weighs what its parts weighed. Each frame keeps its
own class token, never merged, which yields the per-frame outputs.

The schedule is static (same token counts for every segment of a batch), so tensors stay
rectangular and batch well on GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

#: Layers (before the first join) where frames merge their own tokens; more events cost more kernel launches.
INTRA_EVENTS = 2
#: Attention bias of a padding token (size 0): small enough to vanish, finite to avoid NaN rows.
PAD_LOG_SIZE = -1.0e4


@dataclass(frozen=True)
class MergeStep:
    """Before block `layer`: pad to a multiple of `join` clips, join them, merge away `remove` patches."""

    layer: int
    join: int
    pad_clips: int
    remove: int


@dataclass(frozen=True)
class IntraStep:
    """Before block `layer`: each clip merges away `remove` of its own patch tokens."""

    layer: int
    remove: int


@dataclass(frozen=True)
class LayerTokens:
    """Token bookkeeping of one block: clips per segment, tokens per clip (class + patches)."""

    layer: int
    clips: int
    class_tokens: int
    patch_tokens: int

    @property
    def tokens_per_clip(self) -> int:
        return self.class_tokens + self.patch_tokens

    @property
    def tokens_per_segment(self) -> int:
        return self.clips * self.tokens_per_clip


@dataclass(frozen=True)
class MergePlan:
    """The static schedule for N frames through a ViT of `depth` blocks, and the token trace."""

    frames: int
    depth: int
    patches: int
    intra: tuple[IntraStep, ...]
    merges: tuple[MergeStep, ...]
    trace: tuple[LayerTokens, ...]
    frame_slots: tuple[int, ...]
    """For each class-token slot at the end (clip-major order), the frame it belongs to, or -1 (padding)."""

    @property
    def merging(self) -> bool:
        return bool(self.intra or self.merges)

    def frame_positions(self) -> list[int]:
        """Where each frame's class token sits among the final class-token slots, in frame order."""
        return sorted((i for i, frame in enumerate(self.frame_slots) if frame >= 0), key=lambda i: self.frame_slots[i])

    def tokens_at(self, layer: int) -> LayerTokens:
        return self.trace[layer]

    def token_layers(self) -> int:
        """Sum over blocks of tokens per segment: the cost measure (x depth for an unmerged run)."""
        return sum(entry.tokens_per_segment for entry in self.trace)


def plan_merges(
    frames: int,
    depth: int,
    patches: int,
    merge_layers: tuple[int, ...],
    joins: tuple[int, ...],
    intra_proportion: float,
    cross_proportion: float,
    enabled: bool = True,
) -> MergePlan:
    """Build the merge schedule; with `enabled` False every frame runs alone and nothing merges."""
    clips, class_tokens, patch_tokens = frames, 1, patches
    slots: list[list[int]] = [[f] for f in range(frames)]
    intra: list[IntraStep] = []
    merges: list[MergeStep] = []
    trace: list[LayerTokens] = []
    steps_by_layer: dict[int, list[int]] = {}
    if enabled:
        for layer, join in zip(merge_layers, joins):
            steps_by_layer.setdefault(layer, []).append(join)
    first_merge = min(steps_by_layer) if steps_by_layer else depth
    candidates = list(range(1, first_merge)) if enabled else []
    # At most INTRA_EVENTS evenly spaced layers: each merge event costs a fixed set of small kernels.
    intra_layers = sorted({candidates[round(i * (len(candidates) - 1) / max(1, INTRA_EVENTS - 1))]
                           for i in range(min(INTRA_EVENTS, len(candidates)))}) if candidates else []
    intra_total = min(int(round(intra_proportion * patches)), max(0, patches - 2)) if intra_layers else 0
    intra_each = _spread(intra_total, len(intra_layers))
    for layer in range(depth):
        if layer in intra_layers and intra_each[intra_layers.index(layer)] > 0:
            remove = min(intra_each[intra_layers.index(layer)], patch_tokens // 2)
            intra.append(IntraStep(layer, remove))
            patch_tokens -= remove
        for join in steps_by_layer.get(layer, []):
            if clips <= 1 or join <= 1:
                continue
            pad = (-clips) % join
            joined = patch_tokens * join
            remove = min(int(round(cross_proportion * joined)), joined - 1)
            merges.append(MergeStep(layer, join, pad, remove))
            blank = [-1] * class_tokens
            slots = slots + [list(blank) for _ in range(pad)]
            slots = [sum(slots[i : i + join], []) for i in range(0, len(slots), join)]
            clips = len(slots)
            class_tokens *= join
            patch_tokens = joined - remove
        trace.append(LayerTokens(layer, clips, class_tokens, patch_tokens))
    return MergePlan(
        frames, depth, patches, tuple(intra), tuple(merges), tuple(trace), tuple(s for clip in slots for s in clip)
    )


def _spread(total: int, parts: int) -> list[int]:
    """Split `total` into `parts` near-equal integers, the larger ones first (ToMe's constant r)."""
    if parts <= 0:
        return []
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def merge_tokens(
    tokens: torch.Tensor, sizes: torch.Tensor, remove: int, a_index: torch.Tensor, b_index: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """One round of bipartite soft matching: the `remove` A tokens most similar to a B token merge into it.

    tokens (M, T, D), sizes (M, T) float; A/B are index sets over T. Merges are size-weighted means;
    padding tokens (size 0) in A go first, and nothing merges into a padding token in B.
    Returns the kept A tokens followed by the (updated) B tokens, and their sizes.
    """
    a, b = tokens[:, a_index], tokens[:, b_index]
    size_a, size_b = sizes[:, a_index], sizes[:, b_index]
    scores = F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).transpose(1, 2)  # bf16 on GPU is precise enough to rank
    scores = scores.masked_fill((size_b <= 0).unsqueeze(1), float("-inf"))
    best, match = scores.max(dim=-1)
    best = best.masked_fill(size_a <= 0, float("inf"))
    order = best.argsort(dim=-1, descending=True)
    source, keep = order[:, :remove], order[:, remove:]
    target = match.gather(1, source)
    width = tokens.shape[-1]
    weight_a = size_a.gather(1, source)
    # Weighted sums in float32: scatter_add on bf16 falls back to slow emulated atomics on GPU.
    moved = a.gather(1, source.unsqueeze(-1).expand(-1, -1, width)).float() * weight_a.unsqueeze(-1)
    summed = (b.float() * size_b.unsqueeze(-1)).scatter_add(1, target.unsqueeze(-1).expand(-1, -1, width), moved)
    new_size_b = size_b.scatter_add(1, target, weight_a)
    merged_b = (summed / new_size_b.clamp_min(1e-6).unsqueeze(-1)).to(b.dtype)
    kept_a = a.gather(1, keep.unsqueeze(-1).expand(-1, -1, width))
    return torch.cat([kept_a, merged_b], dim=1), torch.cat([size_a.gather(1, keep), new_size_b], dim=1)


def alternating_sets(count: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """ToMe's partition: even positions are A, odd positions B."""
    positions = torch.arange(count, device=device)
    return positions[0::2], positions[1::2]


def temporal_sets(clips: int, per_clip: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """TempMe's cross-clip partition: tokens of odd clips (A) match tokens of even clips (B)."""
    positions = torch.arange(clips * per_clip, device=device).view(clips, per_clip)
    return positions[1::2].reshape(-1), positions[0::2].reshape(-1)


def reduce_tokens(tokens: torch.Tensor, sizes: torch.Tensor, remove: int, clips: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Merge away `remove` tokens: first across clips (temporal sets), then within (alternating sets)."""
    first = True
    while remove > 0:
        count = tokens.shape[1]
        if first and clips > 1:
            a_index, b_index = temporal_sets(clips, count // clips, tokens.device)
        else:
            a_index, b_index = alternating_sets(count, tokens.device)
        first = False
        step = min(remove, int(a_index.numel()))
        if step <= 0:
            break
        tokens, sizes = merge_tokens(tokens, sizes, step, a_index, b_index)
        remove -= step
    return tokens, sizes
