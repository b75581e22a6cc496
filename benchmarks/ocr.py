"""On-screen text reading: frames/s of the PP-OCRv4 reader per batch size, and the ocr stage's share of an ingest.

    python -m benchmarks.ocr [--frames 16] [--json OUT.json]

Frames are 640x360 generated cards (a title, a name caption over a photo, a sign, a scoreboard, a photo with no
text), so detection and recognition both work. The stage's share comes from ingesting the screen-text test video
(24 s, `evaluation.screen_text_video`) with the offline profile in a fresh data dir: the manifest records each
stage's seconds. Device: CUDA when onnxruntime has it, else the CPU (`VIDSAGE_DEVICE=cpu` forces it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from core.process_env import prepare_process  # noqa: E402
from core.settings import Settings  # noqa: E402
from evaluation.screen_text_video import SCRIPT, make_screen_text_video  # noqa: E402
from memory.ingest.pipeline import ingest_video  # noqa: E402
from memory.video_memory import VideoMemory  # noqa: E402
from models.cache import ModelCache  # noqa: E402

BATCHES = (1, 4, 16)


def reader_speed(settings: Settings, frames: int, repeats: int) -> list[dict[str, Any]]:
    """Frames/s of `TextReader.read` per batch size (median of `repeats` after one warm-up)."""
    reader = ModelCache.for_settings(settings).ocr()
    if reader is None:
        raise SystemExit("no on-screen text reader in this profile (install rapidocr-onnxruntime)")
    cards = [make().image for _, _, make in SCRIPT]
    pool = [cards[i % len(cards)] for i in range(frames)]
    rows = []
    for batch in BATCHES:
        reader.read(pool[:batch])
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            for i in range(0, frames, batch):
                reader.read(pool[i : i + batch])
            times.append(time.perf_counter() - started)
        seconds = statistics.median(times)
        rows.append({"batch": batch, "frames": frames, "seconds": round(seconds, 3),
                     "frames_per_second": round(frames / seconds, 2)})  # fmt: skip
    return rows


def stage_share(settings: Settings) -> dict[str, Any]:
    """Ingest the screen-text video once; the ocr stage's seconds against the whole ingest's."""
    with tempfile.TemporaryDirectory(prefix="vidsage-bench-ocr-") as work:
        video = make_screen_text_video(Path(work) / "cards.mp4")
        local = settings.model_copy(update={"data_dir": Path(work) / "data"})
        report = ingest_video(video.path, local)
        memory = VideoMemory.for_path(local, video.path)
        stages = {name: round(record.seconds, 2) for name, record in memory.manifest.stages.items()}
        ocr = memory.manifest.stages["ocr"]
        return {"video_seconds": video.duration, "ingest_seconds": round(report.seconds, 2), "stages": stages,
                "ocr_seconds": round(ocr.seconds, 2), "ocr_share": round(ocr.seconds / report.seconds, 3),
                "frames_read": ocr.summary.get("frames_read"), "frames_skipped": ocr.summary.get("frames_skipped")}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    settings = Settings(profile="offline", data_dir=Path(tempfile.gettempdir()) / "vidsage-bench-ocr-models")
    prepare_process(settings.data_dir)  # before onnxruntime loads: no telemetry
    speed = reader_speed(settings, args.frames, args.repeats)
    print("batch  frames  seconds  frames/s")
    for row in speed:
        print(f"{row['batch']:>5} {row['frames']:>7} {row['seconds']:>8.2f} {row['frames_per_second']:>9.2f}")
    share = stage_share(settings)
    print(f"\ningest of a {share['video_seconds']:.0f} s video: {share['ingest_seconds']:.1f} s; ocr stage "
          f"{share['ocr_seconds']:.1f} s ({share['ocr_share']:.0%}), {share['frames_read']} frames read, "
          f"{share['frames_skipped']} skipped as unchanged")
    print("stages (s): " + ", ".join(f"{k} {v}" for k, v in share["stages"].items()))
    if args.json:
        args.json.write_text(json.dumps({"reader": speed, "ingest": share}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
