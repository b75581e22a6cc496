"""On-screen text and objects: frames/s of the PP-OCRv4 reader and the CenterNet COCO detector per batch size.

The ocr stage's and the object detector's shares of an ingest too (unless `--skip-ingest`; `--minutes 10` ingests
the narrated sample stretched to 10 minutes instead of the 24 s screen-text video).

    python -m benchmarks.ocr [--frames 16] [--repeats 3] [--cores N] [--skip-ingest] [--minutes M] [--json OUT.json]

Reader frames are 640x360 generated cards (a title, a name caption over a photo, a sign, a scoreboard, a photo
with no text), so detection and recognition both work; detector frames are 640x360 scikit-image photos (the
detector runs frame by frame, so its batch size only groups the calls). Each row also gives the process's CPU
seconds (user + system, all threads) over its wall seconds: the cores it kept busy. The stage's share comes from
ingesting the screen-text test video (24 s, `evaluation.screen_text_video`) with the offline profile in a fresh
data dir: the manifest records each stage's seconds. Device: the reader runs on CUDA when onnxruntime has it
(onnxruntime-gpu), else on the CPU (`VIDSAGE_DEVICE=cpu` forces it); the detector always on the CPU (TFLite,
XNNPACK). CPU runtimes get one thread per core this process may use (`models.device.available_cores`);
`--cores N` pins the process to N of them first.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from core.process_env import prepare_process  # noqa: E402
from core.settings import Settings  # noqa: E402
from models.cache import ModelCache  # noqa: E402
from models.device import available_cores  # noqa: E402

BATCHES = (1, 4, 16)
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "camera", "coins")
"""scikit-image photos (bundled with the package, no download) for the object detector's frames."""


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _speed(run: Callable[[Sequence[np.ndarray]], Any], pool: list[np.ndarray], repeats: int) -> list[dict[str, Any]]:
    """Frames/s of `run` over `pool` per batch size (median of `repeats` after one warm-up batch), with the
    CPU seconds the whole process spent in the median pass."""
    frames = len(pool)
    rows = []
    for batch in BATCHES:
        run(pool[:batch])
        passes = []
        for _ in range(repeats):
            cpu, started = _cpu_seconds(), time.perf_counter()
            for i in range(0, frames, batch):
                run(pool[i : i + batch])
            passes.append((time.perf_counter() - started, _cpu_seconds() - cpu))
        seconds, cpu = sorted(passes)[len(passes) // 2]
        rows.append({"batch": batch, "frames": frames, "seconds": round(seconds, 3),
                     "frames_per_second": round(frames / seconds, 2), "cpu_seconds": round(cpu, 2),
                     "cores_busy": round(cpu / seconds, 1)})  # fmt: skip
    return rows


def reader_providers(reader: Any) -> list[str]:
    """The onnxruntime execution providers the reader's detection session really got (CUDA may fall back)."""
    try:
        return list(reader._detector.infer.session.get_providers())
    except AttributeError:
        return []


def reader_speed(settings: Settings, frames: int, repeats: int) -> list[dict[str, Any]]:
    """Frames/s of `TextReader.read` per batch size (median of `repeats` after one warm-up)."""
    from evaluation.screen_text_video import SCRIPT

    reader = ModelCache.for_settings(settings).ocr()
    if reader is None:
        raise SystemExit("no on-screen text reader in this profile (install rapidocr-onnxruntime)")
    cards = [make().image for _, _, make in SCRIPT]
    return _speed(reader.read, [cards[i % len(cards)] for i in range(frames)], repeats)


def objects_speed(settings: Settings, frames: int, repeats: int) -> list[dict[str, Any]] | None:
    """Frames/s of `ObjectDetector.detect` on 640x360 photos per batch size; None without a built detector."""
    from evaluation.text_cards import photo_frame

    detector = ModelCache.for_settings(settings).objects()
    if detector is None:
        return None
    photos = [photo_frame(name).image for name in PHOTOS]
    return _speed(detector.detect, [photos[i % len(photos)] for i in range(frames)], repeats)


def long_sample(path: Path, minutes: float) -> Any:
    """The narrated sample video stretched to `minutes`: its four photos and lines cycled, a line every 7 s."""
    from evaluation.sample_video import DEFAULT_NARRATION, make_sample_video

    duration = minutes * 60
    cues = [(1.0 + 7.0 * i, DEFAULT_NARRATION[i % len(DEFAULT_NARRATION)][1]) for i in range(int((duration - 2) // 7))]
    return make_sample_video(path, narration=cues, duration=duration)


def stage_share(settings: Settings, minutes: float | None = None) -> dict[str, Any]:
    """Ingest the screen-text video (or the sample stretched to `minutes`) once; the ocr stage's seconds and the
    object detector's own seconds (the objects stage shares the visual pass) against the whole ingest's."""
    from evaluation.screen_text_video import make_screen_text_video
    from memory.ingest.pipeline import ingest_video
    from memory.video_memory import VideoMemory

    with tempfile.TemporaryDirectory(prefix="vidsage-bench-ocr-") as work:
        made = long_sample(Path(work) / "long.mp4", minutes) if minutes else make_screen_text_video(Path(work) / "cards.mp4")
        local = settings.model_copy(update={"data_dir": Path(work) / "data"})
        report = ingest_video(made.path, local)
        memory = VideoMemory.for_path(local, made.path)
        stages = {name: round(record.seconds, 2) for name, record in memory.manifest.stages.items()}
        ocr, objects = memory.manifest.stages["ocr"], memory.summary("objects")
        detector = float(objects.get("detector_seconds", 0.0))
        return {"video_seconds": made.duration, "ingest_seconds": round(report.seconds, 2), "stages": stages,
                "ocr_seconds": round(ocr.seconds, 2), "ocr_share": round(ocr.seconds / report.seconds, 3),
                "frames_read": ocr.summary.get("frames_read"), "frames_skipped": ocr.summary.get("frames_skipped"),
                "objects_seconds": round(detector, 2), "objects_share": round(detector / report.seconds, 3),
                "objects_frames": objects.get("frames"), "cores": available_cores()}  # fmt: skip


def _print_rows(title: str, rows: list[dict[str, Any]]) -> None:
    print(title)
    print("batch  frames  seconds  frames/s  cpu s  cores busy")
    for row in rows:
        print(f"{row['batch']:>5} {row['frames']:>7} {row['seconds']:>8.2f} {row['frames_per_second']:>9.2f} "
              f"{row['cpu_seconds']:>6.1f} {row['cores_busy']:>11.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cores", type=int, help="pin this process to this many of its cores before loading")
    parser.add_argument("--skip-ingest", action="store_true", help="only the frames/s, not the ingest's share")
    parser.add_argument("--minutes", type=float, help="ingest the sample stretched to this many minutes instead")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.cores])
    settings = Settings(profile="offline", data_dir=Path(tempfile.gettempdir()) / "vidsage-bench-ocr-models")
    prepare_process(settings.data_dir)  # before onnxruntime loads: no telemetry
    cores = available_cores()
    print(f"cores available: {cores} of {os.cpu_count()} (threads per CPU runtime); device setting: {settings.device}")
    speed = reader_speed(settings, args.frames, args.repeats)
    providers = reader_providers(ModelCache.for_settings(settings).ocr())
    _print_rows(f"PP-OCRv4 reader, 640x360 cards, onnxruntime providers {providers}:", speed)
    objects = objects_speed(settings, args.frames, args.repeats)
    if objects is None:
        print("\nno COCO object detector built (`make setup`): objects not measured")
    else:
        _print_rows(f"\nCenterNet COCO detector (TFLite, ai-edge-litert, {cores} threads), 640x360 photos:", objects)
    result: dict[str, Any] = {"cores": cores, "device": settings.device, "reader_providers": providers,
                              "reader": speed, "objects": objects}  # fmt: skip
    if not args.skip_ingest:
        share = stage_share(settings, args.minutes)
        print(f"\ningest of a {share['video_seconds']:.0f} s video: {share['ingest_seconds']:.1f} s; ocr stage "
              f"{share['ocr_seconds']:.1f} s ({share['ocr_share']:.0%}), {share['frames_read']} frames read, "
              f"{share['frames_skipped']} skipped as unchanged; object detector {share['objects_seconds']:.1f} s "
              f"({share['objects_share']:.0%}) on {share['objects_frames']} frames, in its own thread")
        print("stages (s): " + ", ".join(f"{k} {v}" for k, v in share["stages"].items()))
        result["ingest"] = share
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
