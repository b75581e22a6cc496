"""Per-stage ingest throughput: decode, detect+track, ASR, CLIP, triggers, actors.

Prints frames/s and video-seconds per wall-second per stage, peak memory, and the ratio of
decoding once for all visual stages against the naive way (each stage decodes its own frames).

    python -m benchmarks.ingest_stages [VIDEO] [--profile offline] [--seconds 30] [--clip random-vit-b-32]
    [--detector random-yolo11s] [--json OUT.json]

Without VIDEO it uses the generated sample video. `--clip random-vit-b-32` and `--detector
random-yolo11s` build those architectures with random weights (for speed only, e.g. on the GPU
machine where no weights can be downloaded).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("YOLO_OFFLINE", "1")


@dataclass
class StageResult:
    """One stage's measurement."""

    stage: str
    items: int
    unit: str
    seconds: float
    video_seconds: float

    @property
    def per_second(self) -> float:
        return self.items / self.seconds if self.seconds > 0 else float("inf")

    @property
    def realtime(self) -> float:
        return self.video_seconds / self.seconds if self.seconds > 0 else float("inf")


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """Run `fn`, return its result and the wall time, synchronising CUDA when present."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()
    started = time.perf_counter()
    result = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return result, time.perf_counter() - started


def _random_clip(settings: Any) -> Any:
    """ViT-B-32 with random weights, for throughput only."""
    import open_clip
    import torch

    from models.adapters.clip import ClipEncoder
    from models.device import inference_dtype, pick_device
    from models.registry import ModelSpec

    device = pick_device(settings)
    dtype = inference_dtype(device)
    model = open_clip.create_model("ViT-B-32", pretrained=None, device=device).to(dtype=dtype).eval()
    spec = ModelSpec("clip", "tiny", "ViT-B-32:random", "ViT-B-32, random weights (benchmark only)")
    torch.manual_seed(0)
    return ClipEncoder(model, open_clip.get_tokenizer("ViT-B-32"), device, dtype, 224,
                       open_clip.OPENAI_DATASET_MEAN, open_clip.OPENAI_DATASET_STD, spec, max(64, settings.batch_size))


def _random_yolo11s(settings: Any) -> Any:
    """yolo11s architecture with random weights, for throughput only."""
    from ultralytics import YOLO

    from models.adapters.detector import Detector, choose_device
    from models.registry import ModelSpec

    spec = ModelSpec("detector", "tiny", "yolo11s.yaml", "yolo11s, random weights (benchmark only)")
    return Detector(YOLO("yolo11s.yaml"), spec, settings, choose_device(settings))


def run(video: Path, profile: str, seconds: float | None, clip_choice: str, detector_choice: str) -> dict[str, Any]:
    """Measure every stage once over the first `seconds` of `video` (all of it when None)."""
    import torch

    from core.settings import Settings
    from models.adapters.video import frame_indices, iter_audio, iter_frames, probe, sample_times
    from models.cache import ModelCache

    data_dir = Path(tempfile.mkdtemp(prefix="vidsage-bench-"))
    settings = Settings(profile=profile, data_dir=data_dir)  # type: ignore[arg-type]
    models = ModelCache.for_settings(settings, lambda note: print(f"  {note}", file=sys.stderr))
    ref = probe(video)
    span = min(ref.duration, seconds) if seconds else ref.duration
    detect_times = sample_times(span, settings.detector_fps)
    clip_times = sample_times(span, settings.clip_fps)
    results: list[StageResult] = []

    def decode(times: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        return list(iter_frames(ref, times, batch_size=settings.batch_size))

    union = np.union1d(frame_indices(ref, detect_times), frame_indices(ref, clip_times)) / ref.fps
    batches, once = timed(lambda: decode(union))
    _, naive_detect = timed(lambda: decode(detect_times))
    _, naive_clip = timed(lambda: decode(clip_times))
    frames_decoded = sum(len(t) for t, _ in batches)
    results.append(StageResult("decode (once, shared)", frames_decoded, "frames", once, span))
    results.append(StageResult("decode (naive, per stage)", len(detect_times) + len(clip_times), "frames",
                               naive_detect + naive_clip, span))

    detector = _random_yolo11s(settings) if detector_choice == "random-yolo11s" else models.detector()
    if detector is not None:
        def track() -> Any:
            session = detector.session()
            for times, frames in batches:
                session.update(times, frames)
            return session.finish()

        warm = detector.session()
        warm.update(*batches[0])
        warm.finish()
        tracks, took = timed(track)
        results.append(StageResult(f"detect+track ({detector.spec.description})", len(union), "frames", took, span))

    from models.adapters.frame_features import FrameFeatures, compute_frame_features
    from perception.triggers import detect_cuts, detect_triggers

    def describe() -> FrameFeatures:
        return FrameFeatures.concat(compute_frame_features(t, f) for t, f in batches)

    features, took_features = timed(describe)
    results.append(StageResult("frame descriptors (histogram + thumbnail)", len(features), "frames", took_features, span))
    if detector is not None:
        from perception.actors import build_actors, split_at_cuts

        actors, took = timed(lambda: build_actors(split_at_cuts(tracks, [c.time for c in detect_cuts(features)])))
        results.append(StageResult(f"actors (re-id + behaviours, {len(actors)} from {len(tracks)} tracks)",
                                   len(tracks), "tracks", took, span))
    bounds = [(t, min(span, t + settings.segment_seconds)) for t in np.arange(0, span, settings.segment_seconds)]
    triggers, took = timed(lambda: detect_triggers(features, segment_bounds=bounds, fps=ref.fps))
    results.append(StageResult(f"triggers ({len(triggers)} found)", len(features), "frames", took, span))

    clip = _random_clip(settings) if clip_choice == "random-vit-b-32" else models.clip()
    if clip is not None:
        frames = np.concatenate([f for _, f in batches])
        clip.encode_images(frames[:2])
        _, took = timed(lambda: clip.encode_images(frames))
        results.append(StageResult(f"CLIP images ({clip.spec.description})", len(frames), "frames", took, span))

    asr = models.asr()
    if asr is not None and ref.has_audio:
        chunks = [(o, a[: max(0, int((span - o) * 16000))]) for o, a in iter_audio(ref) if o < span]
        result, took = timed(lambda: asr.transcribe(chunks))
        results.append(StageResult(f"ASR ({asr.spec.description})", len(result.spans), "spans", took, span))

    peak_gpu = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else 0.0
    report = {
        "video": str(video),
        "video_seconds": span,
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
        "stages": [dict(asdict(r), per_second=round(r.per_second, 2), realtime=round(r.realtime, 2)) for r in results],
        "decode_once_vs_naive_speedup": round((naive_detect + naive_clip) / once, 2) if once else None,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_gpu_mib": round(peak_gpu, 1),
    }
    return report


def print_report(report: dict[str, Any]) -> None:
    print(f"video {report['video']} ({report['video_seconds']:.1f} s) on {report['device']}")
    print(f"{'stage':<58} {'items':>7} {'wall s':>8} {'items/s':>9} {'video s/s':>10}")
    for stage in report["stages"]:
        print(f"{stage['stage']:<58} {stage['items']:>7} {stage['seconds']:>8.2f} {stage['per_second']:>9.1f} "
              f"{stage['realtime']:>10.2f}")
    print(f"decode once vs. naive per-stage decoding: {report['decode_once_vs_naive_speedup']}x")
    print(f"peak RSS {report['peak_rss_mib']} MiB, peak GPU {report['peak_gpu_mib']} MiB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video", nargs="?", help="video file (default: the generated sample video)")
    parser.add_argument("--profile", default="offline", choices=["auto", "real", "offline", "tiny"])
    parser.add_argument("--seconds", type=float, default=None, help="only the first N seconds")
    parser.add_argument("--clip", default="profile", choices=["profile", "random-vit-b-32"])
    parser.add_argument("--detector", default="profile", choices=["profile", "random-yolo11s"])
    parser.add_argument("--json", help="also write the report here")
    args = parser.parse_args(argv)
    if args.video:
        video = Path(args.video)
    else:
        from evaluation.sample_video import make_sample_video

        video = make_sample_video(Path(tempfile.mkdtemp(prefix="vidsage-bench-")) / "sample.mp4").path
    report = run(video, args.profile, args.seconds, args.clip, args.detector)
    print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
