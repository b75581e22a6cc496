"""The TempMe-STOP retrieval commands: embed a directory of videos, retrieve a video's frames matching a text or an
image, train the adapters on video-caption pairs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.common import console_progress, settings_for
from ui.terminal_text import terminal_line, terminal_safe

if TYPE_CHECKING:
    from ui.console import ConsoleProgress


def _retriever(args: argparse.Namespace, progress: ConsoleProgress) -> Any:
    """The TempMe-STOP retriever on the profile's CLIP, with the --config file (seed JSON) if given."""
    from models.cache import ModelCache
    from models.retrieval.event_retrieval import create_unified_model

    settings = settings_for(args)
    models = ModelCache.for_settings(settings, notify=progress.notice)
    return create_unified_model(Path(args.config).expanduser() if args.config else None, settings, models)


def _read_image(path: str) -> Any:
    """An RGB uint8 image from a file, or InvalidRequest naming it."""
    import cv2

    from core.errors import InvalidRequest

    image = cv2.imread(str(Path(path).expanduser()), cv2.IMREAD_COLOR)
    if image is None:
        raise InvalidRequest(f"{path}: not a readable image file")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def cmd_embed(args: argparse.Namespace) -> int:
    """Embed every video of a directory (the seed's extract_video_embeddings.py)."""
    from models.retrieval.embedding_export import extract_directory_embeddings

    with console_progress(args) as progress:
        retriever = _retriever(args, progress)
        stage = "embedding videos"

        def on_progress(done: int, total: int, video: Path) -> None:
            if done == 0:
                progress.start(stage, float(total), unit="videos")
            progress.update(stage, float(done))

        result = extract_directory_embeddings(
            args.directory,
            args.out,
            retriever.extract_video_embedding,
            save_format=args.format,
            consolidated=args.consolidated,
            summary=args.summary,
            recursive=args.recursive,
            on_progress=on_progress,
            details={"model": retriever.encoder.clip.spec.description, "config": retriever.config.to_dict()},
        )
        progress.finish(stage, f"{result.processed} embedded, {result.failed} failed")
        for failure in result.errors:
            progress.notice(f"skipped {failure['error']}")
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(terminal_line(f"Processed {result.processed} videos successfully, {result.failed} failed, "
                            f"in {result.seconds:.1f} s; files in {args.out}"))  # fmt: skip
        for failure in result.errors:
            print(terminal_line(f"  failed: {failure['error']}"))
    return 2 if result.failed or not result.processed else 0  # like ingest: any file that failed is bad input


def cmd_retrieve(args: argparse.Namespace) -> int:
    """Find the frames of a video that match a text (or an example image): the seed's inference.py."""
    import time as clock

    from core.errors import InvalidRequest

    if args.image is None and not args.query:
        raise InvalidRequest("give a text query or --image PATH")
    if args.top_k < 1:
        raise InvalidRequest(f"--top-k must be >= 1, got {args.top_k}")
    query: Any = _read_image(args.image) if args.image else args.query
    with console_progress(args) as progress:
        retriever = _retriever(args, progress)
        started = clock.perf_counter()
        progress.start("encoding video", None)
        encoding = retriever.encode_video(
            args.video, on_progress=lambda done, total: progress.update("encoding video", done)
        )
        progress.finish("encoding video", f"{encoding.frame_indices.size} frames in {len(encoding.bounds)} windows")
        hits = retriever.retrieve_event(args.video, query, args.top_k)
        seconds = clock.perf_counter() - started
    label = f"image {args.image}" if args.image else repr(args.query)
    if args.json:
        print(
            json.dumps(
                {
                    "video_path": str(args.video),
                    "query": args.image or args.query,
                    "frames": [h.frame_index for h in hits],
                    "times": [round(h.time, 3) for h in hits],
                    "scores": [round(h.score, 4) for h in hits],
                    "hits": [h.to_dict() for h in hits],
                    "inference_time": round(seconds, 3),
                    "status": "success",
                },
                indent=2,
            )
        )
        return 0
    print("INFERENCE RESULTS")
    print("=" * 50)
    print(terminal_line(f"Video: {args.video}"))
    print(terminal_line(f"Query: {label}"))
    print(f"Relevant frames: {[h.frame_index for h in hits]}")
    print(f"Times: {[_clock(h.time) for h in hits]}")
    print(f"Scores: {[round(h.score, 3) for h in hits]}")
    print(f"Number of frames: {len(hits)}")
    print(f"Inference time: {seconds:.2f}s")
    return 0


def _clock(seconds: float) -> str:
    """mm:ss.s for a time in seconds."""
    minutes, rest = divmod(seconds, 60.0)
    return f"{int(minutes):02d}:{rest:04.1f}"


def cmd_train_retrieval(args: argparse.Namespace) -> int:
    """Train TempMe's LoRA and/or STOP's prompts on (video, caption) pairs; resumable."""
    from core.errors import ModelUnavailable
    from models.cache import ModelCache
    from models.retrieval.config import load_config
    from models.retrieval.training import TrainingOptions, train_retrieval

    settings = settings_for(args)
    pairs = Path(args.pairs).expanduser()
    out = Path(args.out).expanduser() if args.out else settings.data_dir / "retrieval-training" / pairs.stem
    options = TrainingOptions(
        mode=args.mode,
        epochs=args.epochs,
        batch_size=args.batch_size,
        tempme_lr=args.tempme_lr,
        stop_lr=args.stop_lr,
        grad_accumulation=args.grad_accumulation,
        mixed_precision=False if args.no_amp else None,
        seed=args.seed,
        checkpoint_dir=out,
        resume=Path(args.resume).expanduser() if args.resume else None,
        train_text=args.train_text,
    )
    config = load_config(Path(args.config).expanduser() if args.config else None)
    with console_progress(args) as progress:
        clip = ModelCache.for_settings(settings, notify=progress.notice).clip()
        if clip is None:
            raise ModelUnavailable("no CLIP weights available: training needs one (set VIDSAGE_CLIP_MODEL)")

        def on_progress(epoch: int, step: int, total: int, loss: float) -> None:
            stage = f"epoch {epoch}"
            if step == 1:
                progress.start(stage, float(total), unit="steps")
            progress.update(stage, float(step))
            if step == total:
                progress.finish(stage, f"loss {loss:.4f}")

        def on_decode(done: int, total: int) -> None:
            if done == 0:
                progress.start("decoding videos", float(total), unit="pairs")
            progress.update("decoding videos", float(done))
            if done == total:
                progress.finish("decoding videos", f"{total} pairs")

        result = train_retrieval(pairs, clip, config, options, on_progress=on_progress, on_decode=on_decode)
    for video, message in result.skipped:
        print(terminal_line(f"skipped {video}: {message}"), file=sys.stderr)
    if args.json:
        print(
            json.dumps(
                {
                    "epochs": result.epochs,
                    "resumed_from": result.resumed_from,
                    "history": result.history,
                    "adapters": str(result.adapters_path),
                    "last_checkpoint": str(result.last_checkpoint),
                    "log": str(result.log_path),
                    "pairs": result.pairs,
                    "videos": result.videos,
                    "skipped": [list(item) for item in result.skipped],
                    "seconds": round(result.seconds, 2),
                },
                indent=2,
            )
        )
    else:
        losses = ", ".join(f"{loss:.4f}" for loss in result.history)
        print(
            f"trained {options.mode} on {result.pairs} pairs ({result.videos} videos) in {result.seconds:.1f} s; "
            f"loss per epoch: {losses}"
        )
        print(terminal_safe(f"adapters: {result.adapters_path}\nresume with: --resume {result.last_checkpoint}"))
        print(terminal_line(f'use them: put "adapter_path": "{result.adapters_path}" in the --config JSON '
                            "(and VIDSAGE_RETRIEVAL_CONFIG for ingest)"))  # fmt: skip
    return 0
