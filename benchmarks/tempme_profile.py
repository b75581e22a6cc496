"""`--profile` of the TempMe benchmark: torch.profiler over one forward per variant, the merged forward split
into transformer blocks, token merging and the rest."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.device_timing import synchronize
from models.retrieval.segment_encoder import SegmentEncoder

Forward = Callable[[Any], tuple[Any, Any]]


def profile_forwards(functions: dict[str, Forward], encoders: dict[str, SegmentEncoder], pixels: Any,
                     device: str, rows: int = 15) -> None:
    """torch.profiler over one forward per variant: the top ops, and the merged forward split into
    transformer blocks, token merging (intra-frame and cross-clip) and the rest."""
    from unittest import mock

    from torch.profiler import ProfilerActivity, profile, record_function

    import models.retrieval.segment_encoder as segment_encoder

    cuda = device.startswith("cuda")
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    sort = "self_device_time_total" if cuda else "self_cpu_time_total"

    def labelled(function: Callable[..., Any], label: str) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            with record_function(label):
                return function(*args, **kwargs)

        return run

    merged = encoders["merged"]
    labelled_merge = labelled(segment_encoder.reduce_tokens, "tempme.merge")
    for variant, forward in functions.items():
        forward(pixels)
        synchronize(device)
        with (
            mock.patch.object(segment_encoder, "reduce_tokens", labelled_merge),
            mock.patch.object(merged, "_block", labelled(merged._block, "tempme.block")),
            profile(activities=activities) as profiler,
        ):
            with record_function("tempme.forward"):
                forward(pixels)
            synchronize(device)
        events = profiler.key_averages()
        print(f"\nprofile: {variant}, {pixels.shape[0]} segments x {pixels.shape[1]} frames")
        spans = {event.key: event for event in events if event.key.startswith("tempme.")}
        if variant == "merged" and "tempme.forward" in spans:
            clocks = [("CPU-side", "cpu_time_total")] + ([("GPU", "device_time_total")] if cuda else [])
            for clock, attribute in clocks:
                total = getattr(spans["tempme.forward"], attribute)
                blocks, merging = (getattr(spans[label], attribute) if label in spans else 0.0
                                   for label in ("tempme.block", "tempme.merge"))
                print(f"  {clock} time of the forward: {total / 1e3:.1f} ms = blocks {blocks / 1e3:.1f} ms"
                      f" + merging {merging / 1e3:.1f} ms + other {(total - blocks - merging) / 1e3:.1f} ms")
        print(events.table(sort_by=sort, row_limit=rows))
