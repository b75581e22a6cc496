"""vidsage command line: ingest videos into memory and ask questions about them.

Thin by design: it parses arguments, builds Settings, calls the public API and prints. Heavy
libraries are imported only inside the commands, so `--help` and cached work start fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ui.terminal_text import terminal_json, terminal_line, terminal_safe

if TYPE_CHECKING:
    from core.settings import Settings
    from ui.console import ConsoleProgress

EXAMPLES = """examples:
  python main.py ingest talk.mp4 --json
  python main.py ask talk.mp4 "What does the speaker say about the budget?"
  python main.py ask talk.mp4 "Who appears on screen?" --json
  python main.py ask talk.mp4 "Where is coffee served?" --option "the garden" --option "the bridge" --json
  python main.py ask talk.mp4 "And what happens after that?" --thread THREAD_ID
  python main.py chat talk.mp4 panel.mp4
  python main.py eval questions.jsonl --video-root videos/ --workers 2
  python main.py eval --compare runs/baseline runs/no-actors
  python main.py inspect talk.mp4 --what transcript --json
  python main.py inspect talk.mp4 --what triggers --json
  python main.py inspect talk.mp4 --what captions --vlm-url http://127.0.0.1:8000/v1
  python main.py serve-vlm --model llava-hf/llava-onevision-qwen2-7b-ov-hf --port 8000
  python main.py search "the budget for the bridge" --video talk.mp4 --json
  python main.py library ls | rm talk.mp4 | stats
  python main.py timeline talk.mp4 -o timeline.png
  python main.py graph talk.mp4 -o actors.png
  python main.py inspect talk.mp4 --what graph --json
  python main.py train-triggers annotations.json --out head.pt
  python main.py embed videos/ --out embeddings/ --format both --consolidated --summary
  python main.py retrieve cooking.mp4 "chopping vegetables" --top-k 5
  python main.py train-retrieval pairs.jsonl --mode joint --epochs 20
  python main.py demo

exit codes: 0 ok, 1 internal error, 2 bad input (unreadable video, bad request),
            3 model unavailable, 4 memory damaged, 5 backend unreachable, 130 interrupted,
            141 stdout's reader went away (as `| head`)"""


COMMAND_EXAMPLES: dict[str, tuple[str, ...]] = {
    "ingest": ("ingest talk.mp4 --json", "ingest videos/ --no-recursive", 'ingest "clips/**/*.mkv" talk.mp4'),
    "ask": (
        'ask talk.mp4 "What does the speaker say about the budget?"',
        'ask talk.mp4 "When does the second person first appear?" --json',
        'ask talk.mp4 "Where is coffee served?" --option "the garden" --option "the bridge" --json',
        'ask talk.mp4 "And what happens after that?" --thread THREAD_ID',
        'ask a.mp4 b.mp4 "Which video mentions the museum?"',
    ),
    "chat": ("chat talk.mp4", "chat talk.mp4 panel.mp4 --vlm-url http://127.0.0.1:8000/v1"),
    "eval": (
        "eval questions.jsonl",
        "eval nextqa/val.csv --video-root nextqa/videos --workers 2 --out runs/nextqa",
        "eval egoschema/ --limit 50 --judge",
        "eval --compare runs/baseline runs/no-actors",
    ),
    "inspect": ("inspect talk.mp4 --what transcript --json", "inspect talk.mp4 --what scenes"),
    "search": ('search "the budget for the bridge" --video talk.mp4 --json', 'search "a red car" --between 10 60'),
    "library": ("library ls", "library rm talk.mp4", "library stats --json"),
    "timeline": ("timeline talk.mp4 -o timeline.png",),
    "graph": ("graph talk.mp4 -o actors.png",),
    "train-triggers": ("train-triggers annotations.json --out head.pt",),
    "embed": ("embed videos/ --out embeddings/ --format both --consolidated --summary",),
    "retrieve": ('retrieve cooking.mp4 "chopping vegetables" --top-k 5', "retrieve cooking.mp4 --image frame.jpg"),
    "train-retrieval": ("train-retrieval pairs.jsonl --mode joint --epochs 20",),
    "serve-vlm": (
        "serve-vlm --model llava-hf/llava-onevision-qwen2-7b-ov-hf --port 8000 --tools",
        "serve-vlm --engine transformers --model ./tiny-llava --print-command",
    ),  # fmt: skip
    "demo": ("demo", "demo --out /tmp/vidsage-demo"),
}
"""Shown under each command's --help."""


def _quiet_libraries(debug: bool) -> None:
    """Keep third-party chatter (progress bars, warnings) off the terminal unless debugging."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("YOLO_VERBOSE", "False")
    if debug:
        return
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    warnings.filterwarnings("ignore")
    import logging

    logging.basicConfig(level=logging.ERROR)
    for name in (
        "",
        "transformers",
        "sentence_transformers",
        "open_clip",
        "chromadb",
        "ultralytics",
        "faster_whisper",
        "bm25s",
    ):
        logging.getLogger(name).setLevel(logging.ERROR)


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    from core.settings import Settings

    overrides: dict[str, Any] = dict(extra)
    if args.profile:
        overrides["profile"] = args.profile
    if args.data_dir:
        overrides["data_dir"] = Path(args.data_dir)
    if args.device:
        overrides["device"] = args.device
    if args.vlm_url:
        overrides["vlm_url"] = args.vlm_url
    if args.vlm_model:
        overrides["vlm_model"] = args.vlm_model
    return Settings(**overrides)


def _progress(args: argparse.Namespace) -> ConsoleProgress:
    from ui.console import ConsoleProgress

    return ConsoleProgress(quiet=args.quiet)


def cmd_ingest(args: argparse.Namespace) -> int:
    """Ingest each path; a bad file is reported and skipped (exit 2 at the end); damaged memory, a server that
    does not answer or a missing model stops the run with its own exit code (4, 5, 3)."""
    from core.errors import VidsageError
    from memory.ingest.pipeline import ingest_video
    from memory.ingest.sources import expand_sources
    from models.loading.cache import ModelCache
    from models.loading.registry import ModelPlan

    settings = _settings(args)
    sources = expand_sources(args.paths, recursive=not args.no_recursive)
    for _, problem in sources.problems:
        _error(problem)
    failures, worst = len(sources.problems), 0
    reports: list[dict[str, Any]] = [{"path": given, "error": problem, "exit_code": 2} for given, problem in sources.problems]
    with _progress(args) as progress:
        models = ModelCache(ModelPlan(settings, progress.notice))
        for path in sources.paths:
            try:
                report = ingest_video(path, settings, models=models, progress=progress)
            except VidsageError as error:
                failures += 1
                _error(str(error))
                reports.append({"path": str(path), "error": str(error), "exit_code": error.exit_code})
                if error.exit_code != 2:  # damaged memory, a server down, a model missing: every next file fails too
                    worst = error.exit_code
                    break
                continue
            reports.append({"path": str(path), **report.to_dict()})
            if not args.json and not args.quiet:
                state = "already in memory" if report.cached else "ingested (" + ", ".join(report.ran) + ")"
                progress.console.print(
                    terminal_line(f"{path}: {state} in {report.seconds:.2f} s, video id {report.video.video_id}, "
                                  f"{report.video.duration:.1f} s long"),
                    highlight=False, markup=False,
                )  # fmt: skip
                for note in report.notes:
                    progress.console.print(terminal_line(f"  note: {note}"), highlight=False, markup=False)
    if args.json:
        print(json.dumps(reports, indent=2))  # always a list, one entry per input, whatever their number
    elif len(reports) > 1 and not args.quiet:
        done = sum(1 for r in reports if "error" not in r)
        print(f"{done} of {len(reports)} inputs in memory" + (f"; {failures} failed" if failures else ""))
    return worst or (2 if failures else 0)


def _print_answer(answer: Any, *, json_out: bool = False) -> None:
    """The answer on stdout (text, or --json's object), then each failed source as an error line on stderr;
    when no source answered, the error lines alone: the text would only repeat them."""
    if json_out:
        print(terminal_json(answer.to_dict()))
    elif not answer.failed:
        print(terminal_safe(answer.text))
        print()
        calls = ", ".join(dict.fromkeys(c["name"] for c in answer.tool_calls)) or "none"
        print(f"(answered in {answer.timings.get('total', 0.0):.2f} s; tools: {calls}; "
              f"evidence items: {len(answer.evidence)}; thread {answer.thread_id})")  # fmt: skip
        for note in answer.notes:
            print(terminal_line(f"note: {note}"))
    sys.stdout.flush()  # the answer comes before the errors that qualify it, also when both go to one file
    from core.types import failure_lines

    lines = failure_lines(answer.errors)
    if answer.failed:
        _error("cannot answer: " + "; ".join(lines))
    else:
        for line in lines:
            _error(f"this answer is incomplete: {line}")


def _agent_settings(args: argparse.Namespace) -> Any:
    """Settings with the agent flags of `ask`/`chat` applied."""
    changes = {
        "planner": getattr(args, "planner", None),
        "agent_max_tool_calls": getattr(args, "max_tool_calls", None),
        "agent_max_vlm_calls": getattr(args, "max_vlm_calls", None),
    }
    return _settings(args, **{k: v for k, v in changes.items() if v is not None})


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question about one or more videos (multiple choice with --option)."""
    from agent.api import ask

    settings = _agent_settings(args)
    with _progress(args) as progress:
        answer = ask(args.video, args.question, options=args.option, thread_id=args.thread, settings=settings,
                     progress=progress, top_k=args.top_k, force_choice=args.force_choice)  # fmt: skip
    _print_answer(answer, json_out=args.json)
    return int(answer.exit_code)  # a failed source: 4 damaged memory, 5 a server down (the first one's code)


def cmd_chat(args: argparse.Namespace) -> int:
    """The terminal chat over one or more videos (ingests what is not in memory first)."""
    from ui.chat import run_chat

    return run_chat(args.video, _agent_settings(args), thread_id=args.thread)


def cmd_eval(args: argparse.Namespace) -> int:
    """Run a QA dataset through the agent, score it, write report.json / report.md / plots; or compare runs."""
    from evaluation.report import compare_runs, write_reports

    if args.compare:
        print(terminal_safe(compare_runs(args.compare)))
        return 0
    if not args.dataset:
        raise _bad_input("eval needs a DATASET (or --compare RUN_DIR RUN_DIR ...)")
    from evaluation.agent_answers import AgentAnswerer, configured_judge
    from evaluation.datasets import load_dataset
    from evaluation.runner import run_evaluation

    dataset = load_dataset(args.dataset, args.format)
    out = Path(args.out) if args.out else Path("runs") / Path(args.dataset).stem
    settings = _agent_settings(args)
    if not args.quiet:
        print(terminal_line(dataset.describe()))
    answerer = AgentAnswerer(settings, force_choice=args.force_choice)
    try:
        judge = configured_judge(settings, answerer.models) if args.judge else None
        config = {"profile": settings.profile, "planner": settings.planner, "models": answerer.models.plan.summary(),
                  "max_tool_calls": settings.agent_max_tool_calls, "max_vlm_calls": settings.agent_max_vlm_calls}  # fmt: skip
        result = run_evaluation(dataset, answerer, out, video_root=args.video_root, workers=args.workers,
                                judge=judge, limit=args.limit, progress=not args.quiet,
                                retry_failed=args.retry_failed, config=config,
                                allow_outside_paths=args.allow_outside_paths)  # fmt: skip
    finally:
        answerer.close()
    files = write_reports(out)
    summary = json.loads(Path(files.json).read_text())
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        answered = result.ran - result.missing - result.errors
        print(terminal_line(f"{answered} answered now, {result.skipped} already done, {result.missing} missing "
                            f"videos, {result.errors} errors; reports: {files.markdown}, {files.json}, "
                            f"{files.accuracy_plot}, {files.latency_plot}"))  # fmt: skip
    return 0


def _ingested_memory(args: argparse.Namespace) -> Any:
    """The memory of `args.video`, ingesting it first (with progress) when it is not current."""
    from memory.ingest.pipeline import ingest_video
    from memory.video_memory import VideoMemory

    settings = _settings(args)
    with _progress(args) as progress:
        ingest_video(args.video, settings, progress=progress)
    return VideoMemory.for_path(settings, args.video)


def cmd_inspect(args: argparse.Namespace) -> int:
    """Show what memory holds about a video (ingesting it first if needed)."""
    from memory.views import VIEWS

    view = VIEWS[args.what](_ingested_memory(args))
    if args.json:
        print(terminal_json(view))
    else:
        from ui.console import print_view

        print_view(args.what, view)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    """Hybrid search over the whole library (or the --video ones): speech, captions and pictures."""
    from memory.library import Library

    settings = _settings(args)
    t_range = tuple(args.between) if args.between else None
    with _progress(args):
        library = Library(settings)
        hits = library.search(args.query, videos=args.video, t_range=t_range, actors=args.actor, top_k=args.top_k)
    if args.json:
        print(terminal_json({"query": args.query, "results": [h.to_dict() for h in hits]}))
        return 0
    if not hits:
        print("nothing in memory matches")
    for hit in hits:
        name = library.memory(hit.video_id).ref.path.name
        print(terminal_line(f"{name} {hit.cite()} {hit.kind:<13} {hit.text}"))
    return 0


def cmd_library(args: argparse.Namespace) -> int:
    """List, remove or count the videos in memory."""
    from memory.library import Library

    library = Library(_settings(args))
    if args.action == "rm":
        if not args.videos:
            raise _bad_input("library rm needs at least one VIDEO (a path, video id or file name)")
        removed = [library.remove(video) for video in args.videos]
        if args.json:
            print(json.dumps({"removed": removed}))
        else:
            for video_id in removed:
                print(terminal_line(f"removed {video_id}"))
        return 0
    if args.action == "stats":
        stats = library.stats()
        if args.json:
            print(json.dumps(stats, indent=2))
        else:
            for key, value in stats.items():
                print(terminal_line(f"{key:>13}: {value}"))
        return 0
    rows = library.listing()
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        print(terminal_line(f"the library at {library.settings.data_dir} is empty"))
    else:
        from ui.console import print_library

        print_library(rows)
    return 0


def _bad_input(message: str) -> Exception:
    from core.errors import InvalidRequest

    return InvalidRequest(message)


def cmd_timeline(args: argparse.Namespace) -> int:
    """Draw one video's structure over time: scene clusters, triggers, speech, actors."""
    from ui.timeline_picture import draw_timeline

    out = draw_timeline(_ingested_memory(args), Path(args.out).expanduser())
    print(terminal_line(str(out)))
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    """Draw one video's actor graph (temporal, spatial, speech and interaction edges) as a PNG."""
    from ui.graph_picture import draw_actor_graph

    memory = _ingested_memory(args)
    out = draw_actor_graph(memory.actor_graph(), Path(args.out).expanduser(), title=f"actors of {memory.ref.path.name}")
    print(terminal_line(str(out)))
    return 0


def cmd_train_triggers(args: argparse.Namespace) -> int:
    """Train the optional trigger head on annotated trigger times and save a checkpoint."""
    from perception.trigger_head import train_trigger_head

    settings = _settings(args)
    annotations = Path(args.annotations).expanduser()
    out = Path(args.out).expanduser() if args.out else settings.data_dir / "trigger-heads" / f"{annotations.stem}.pt"
    with _progress(args) as progress:
        report = train_trigger_head(
            annotations, settings, out_path=out, epochs=args.epochs, lr=args.lr, progress=progress.notice
        )
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(
            f"trained on {report.videos} videos, {report.frames} frames ({report.positives} positive) "
            f"in {report.seconds:.1f} s on {report.device}"
        )
        print(
            f"training-frame precision {report.precision:.2f}, recall {report.recall:.2f}, "
            f"annotated events found {report.event_recall:.0%}"
        )
        print(terminal_safe(f"checkpoint: {report.path}\nuse it with: export VIDSAGE_TRIGGER_HEAD={report.path}"))
    return 0


def _retriever(args: argparse.Namespace, progress: ConsoleProgress) -> Any:
    """The TempMe-STOP retriever on the profile's CLIP, with the --config file (seed JSON) if given."""
    from models.loading.cache import ModelCache
    from models.loading.registry import ModelPlan
    from models.retrieval.event_retrieval import create_unified_model

    settings = _settings(args)
    models = ModelCache(ModelPlan(settings, notify=progress.notice))
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

    with _progress(args) as progress:
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
    with _progress(args) as progress:
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
    from models.loading.cache import ModelCache
    from models.loading.registry import ModelPlan
    from models.retrieval.config import load_config
    from models.retrieval.training import TrainingOptions, train_retrieval

    settings = _settings(args)
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
    with _progress(args) as progress:
        clip = ModelCache(ModelPlan(settings, notify=progress.notice)).clip()
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


def cmd_serve_vlm(args: argparse.Namespace) -> int:
    """Start a VLM server (vLLM, or `transformers serve`), wait for /health, print the URL, stop on Ctrl-C."""
    import shlex
    import shutil

    from core.errors import BackendUnreachable
    from models.loading.registry import HF_HOST, host_reachable
    from models.vlm.server import ManagedServer, transformers_serve_command, transformers_serve_env, vllm_command

    env = None
    if args.engine == "vllm":
        argv = vllm_command(args.model, args.port, host=args.host, tool_calling=args.tools)
        install = "vllm is not installed here (GPU machines: pip install -e '.[gpu]')"
    else:
        device = args.device or "auto"
        argv = transformers_serve_command(args.model, args.port, host=args.host, device=device)
        local = Path(args.model).expanduser().is_dir()
        env = transformers_serve_env(
            _settings(args).data_dir / "hub-cache", offline=local or not host_reachable(HF_HOST)
        )
        install = "`transformers serve` is not on PATH (pip install 'transformers[serving]')"
    if args.print_command:
        print(shlex.join(argv))
        return 0
    if shutil.which(argv[0]) is None:
        raise BackendUnreachable(install)
    base_url = f"http://{args.host}:{args.port}"
    server = ManagedServer(argv, base_url, health_path="/health", startup_timeout_s=args.startup_timeout, env=env)
    try:
        with server:
            print(
                terminal_line(f"{args.engine} is serving {args.model}; OpenAI-compatible endpoint: {base_url}/v1 "
                              "(Ctrl-C stops it)"),
                flush=True,
            )  # fmt: skip
            print(f"export VIDSAGE_VLM_URL={base_url}/v1", flush=True)
            while server.running:
                time.sleep(0.5)
    except KeyboardInterrupt:  # the way to stop it: the server is already stopped by the `with`
        print(f"stopped the {args.engine} server at {base_url}", file=sys.stderr)
        return 0
    raise BackendUnreachable(f"the {args.engine} server at {base_url} exited; see {server.log_path}")


DEMO_QUESTIONS = (
    "What does the narrator say about the budget?",
    "And what happens after that?",
    "Who appears in the video, and when?",
    "When is the science museum mentioned, and what is said about it?",
    "What color is the rocket?",
)
"""Asked in one thread: the second is a follow-up that resolves "that" against the first answer; the last needs
the pictures, so without a picture model the answer says it cannot tell."""
DEMO_CHOICE = ("Where is coffee served?", ("on the bridge", "in the garden", "at the science museum"))


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate the sample video, ingest it, ask questions in one thread (a follow-up and a multiple-choice one
    among them), print grounded answers."""
    from agent.session import Session
    from evaluation.sample_video import make_sample_video
    from models.loading.cache import ModelCache
    from models.loading.registry import ModelPlan

    settings = _settings(args)
    out = Path(args.out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    video_path = out / "vidsage-sample.mp4"
    sample = make_sample_video(video_path)
    print(terminal_line(f"sample video: {video_path} ({sample.duration:.1f} s)"))
    for line in sample.narration:
        print(terminal_line(f"  narration at {line.t0:5.1f} s: {line.text}"))
    with _progress(args) as progress:
        models = ModelCache(ModelPlan(settings, progress.notice))
        started = time.perf_counter()
        from memory.ingest.pipeline import ingest_video

        first = ingest_video(video_path, settings, models=models, progress=progress)
        second = ingest_video(video_path, settings, models=models, progress=progress)
    print(
        f"ingest: {first.seconds:.2f} s ({'cached' if first.cached else 'ran ' + ', '.join(first.ran)}); "
        f"again: {second.seconds:.3f} s ({'cache hit' if second.cached else 'ran again'})"
    )
    with Session(video_path, settings=settings, models=models) as session:
        for question in DEMO_QUESTIONS:
            answer = session.ask(question)
            print()
            print(f"Q: {question}")
            print(terminal_safe(answer.text))
            tools = ", ".join(dict.fromkeys(c["name"] for c in answer.tool_calls))
            print(f"(tools: {tools}; {answer.timings['total']:.2f} s)")
        question, options = DEMO_CHOICE
        answer = session.ask(question, options=list(options))
        print()
        print(f"Q: {question} Options: " + " | ".join(f"{chr(65 + i)}. {o}" for i, o in enumerate(options)))
        print(terminal_safe(answer.text))
    print(
        f"\ndemo finished in {time.perf_counter() - started:.1f} s; models: "
        + "; ".join(f"{role}: {name}" for role, name in models.plan.summary().items())
    )
    return 0


def _agent_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--top-k", type=int, default=5, help="results per search (default 5)")
    parser.add_argument(
        "--planner",
        choices=["auto", "llm", "rules"],
        help="who picks the tools (default auto: a tool-calling model when an endpoint is set)",
    )
    parser.add_argument("--max-tool-calls", type=int, metavar="N", help="tool-call budget per question (default 8)")
    parser.add_argument("--max-vlm-calls", type=int, metavar="N", help="model-call budget per question (default 6)")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--profile", choices=["auto", "real", "offline", "tiny"], help="model profile (default auto)")
    common.add_argument("--data-dir", help="memory location (default ~/.cache/vidsage or $VIDSAGE_DATA_DIR)")
    common.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where models run (default auto)")
    common.add_argument(
        "--vlm-url",
        help="OpenAI-compatible VLM endpoint, e.g. http://127.0.0.1:8000/v1 "
        "(default $VIDSAGE_VLM_URL; none: in-process)",
    )
    common.add_argument("--vlm-model", help="VLM model: the served name with --vlm-url, else a hub id or directory")
    common.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    common.add_argument("--quiet", action="store_true", help="no progress bars or notices (ingest: errors only)")
    common.add_argument("--debug", action="store_true", help="show tracebacks and library logs")

    parser = argparse.ArgumentParser(
        prog="vidsage",
        description="Agentic video question answering, grounded in timestamps, transcripts and tracked people.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest = commands.add_parser("ingest", parents=[common], help="turn videos into memory (cached)")
    ingest.add_argument("paths", nargs="+", help="video files, directories (searched for videos) or glob patterns")
    ingest.add_argument("--no-recursive", action="store_true", help="search directories without their sub-folders")
    ingest.set_defaults(run=cmd_ingest)

    ask = commands.add_parser("ask", parents=[common], help="ask a question about a video")
    ask.add_argument("video", nargs="+", help="video file(s) (ingested first if needed)")
    ask.add_argument("question", help="the question, in plain language")
    ask.add_argument(
        "--option",
        action="append",
        metavar="TEXT",
        help="a multiple-choice option (repeat for each); the JSON gives the chosen 0-based `choice`",
    )
    ask.add_argument(
        "--thread", metavar="ID", help="continue a conversation: follow-ups resolve against its earlier questions"
    )
    ask.add_argument("--force-choice", action="store_true",
                     help="with --option: pick one even when no evidence tells them apart (marked as forced)")  # fmt: skip
    _agent_flags(ask)
    ask.set_defaults(run=cmd_ask)

    chat = commands.add_parser("chat", parents=[common], help="chat about videos in the terminal (Textual)")
    chat.add_argument("video", nargs="+", help="video file(s) (ingested first if needed)")
    chat.add_argument("--thread", metavar="ID", help="continue an earlier conversation")
    _agent_flags(chat)
    chat.set_defaults(run=cmd_chat)

    evaluate = commands.add_parser("eval", parents=[common], help="run a QA dataset, score it, write reports")
    evaluate.add_argument("dataset", nargs="?", help="dataset file or folder (native JSONL, NExT-QA, MSRVTT-QA, "
                          "EgoSchema, Video-MME, ActivityNet-QA)")  # fmt: skip
    evaluate.add_argument("--format", default="auto", help="dataset format (default auto-detect)")
    evaluate.add_argument("--video-root", help="folder holding the dataset's videos (default: the dataset's folder)")
    evaluate.add_argument("--allow-outside-paths", action="store_true",
                          help="let dataset rows name videos outside that folder (absolute or ../ paths); "
                          "without it such a row is an error row, never opened")  # fmt: skip
    evaluate.add_argument("--out", help="run folder: results.jsonl and reports (default runs/DATASET_NAME)")
    evaluate.add_argument("--workers", type=int, default=1, help="questions answered at once (default 1)")
    evaluate.add_argument("--limit", type=int, help="only the first N questions")
    evaluate.add_argument("--judge", action="store_true", help="score open answers with the configured LLM too")
    evaluate.add_argument("--retry-failed", action="store_true", help="run again the rows that errored or missed")
    evaluate.add_argument("--compare", nargs="+", metavar="RUN_DIR", help="print an ablation table of runs")
    evaluate.add_argument("--force-choice", action="store_true",
                          help="pick an option on every multiple-choice row, as published benchmarks score them; "
                          "forced picks (no evidence) and their accuracy are reported separately")  # fmt: skip
    _agent_flags(evaluate)
    evaluate.set_defaults(run=cmd_eval)

    inspect = commands.add_parser("inspect", parents=[common], help="show what memory holds about a video")
    inspect.add_argument("video", help="video file (ingested first if needed)")
    inspect.add_argument(
        "--what",
        choices=["transcript", "triggers", "actors", "captions", "scenes", "graph"],
        default="transcript",
        help="which view (default transcript)",
    )
    inspect.set_defaults(run=cmd_inspect)

    search = commands.add_parser("search", parents=[common], help="search the whole library (or some videos)")
    search.add_argument("query", help="what to find, in words")
    search.add_argument("--video", action="append", help="only this video (path, id or file name); repeatable")
    search.add_argument("--between", nargs=2, type=float, metavar=("T0", "T1"), help="only this time range (s)")
    search.add_argument("--actor", action="append", type=int, help="only while this actor is on screen; repeatable")
    search.add_argument("--top-k", type=int, default=10, help="results (default 10)")
    search.set_defaults(run=cmd_search)

    library = commands.add_parser("library", parents=[common], help="list, remove or count videos in memory")
    library.add_argument("action", choices=["ls", "rm", "stats"], help="ls: list videos; rm: remove; stats: totals")
    library.add_argument("videos", nargs="*", help="for rm: videos (paths, ids or file names)")
    library.set_defaults(run=cmd_library)

    timeline = commands.add_parser("timeline", parents=[common], help="draw a video's timeline as a PNG")
    timeline.add_argument("video", help="video file (ingested first if needed)")
    timeline.add_argument("-o", "--out", default="timeline.png", help="output PNG (default timeline.png)")
    timeline.set_defaults(run=cmd_timeline)

    graph = commands.add_parser("graph", parents=[common], help="draw a video's actor graph as a PNG")
    graph.add_argument("video", help="video file (ingested first if needed)")
    graph.add_argument("-o", "--out", default="actors.png", help="output PNG (default actors.png)")
    graph.set_defaults(run=cmd_graph)

    train = commands.add_parser("train-triggers", parents=[common], help="train the optional trigger head")
    train.add_argument("annotations", help="annotations JSON (format in the README)")
    train.add_argument("--out", help="checkpoint path (default DATA_DIR/trigger-heads/NAME.pt)")
    train.add_argument("--epochs", type=int, default=40, help="training epochs (default 40)")
    train.add_argument("--lr", type=float, default=3e-3, help="learning rate (default 3e-3)")
    train.set_defaults(run=cmd_train_triggers)

    embed = commands.add_parser("embed", parents=[common], help="embed every video of a directory (TempMe-STOP)")
    embed.add_argument("directory", help="folder of videos")
    embed.add_argument("--out", required=True, help="output folder")
    embed.add_argument("--format", choices=["npy", "json", "both"], default="npy", help="per-video files (default npy)")
    embed.add_argument("--consolidated", action="store_true", help="also write consolidated_embeddings.json")
    embed.add_argument("--summary", action="store_true", help="also write processing_summary.json")
    embed.add_argument("--recursive", action="store_true", help="include videos in sub-folders")
    embed.add_argument("--config", help="encoder configuration JSON (seed layout)")
    embed.set_defaults(run=cmd_embed)

    retrieve = commands.add_parser("retrieve", parents=[common], help="find the frames of a video matching a query")
    retrieve.add_argument("video", help="video file")
    retrieve.add_argument("query", nargs="?", help="what to find, in words")
    retrieve.add_argument("--image", help="find frames like this image instead of a text query")
    retrieve.add_argument("--top-k", type=int, default=5, help="frames to return (default 5)")
    retrieve.add_argument("--config", help="encoder configuration JSON (seed layout)")
    retrieve.set_defaults(run=cmd_retrieve)

    tr = commands.add_parser(
        "train-retrieval", parents=[common], help="train TempMe-STOP adapters on video-caption pairs"
    )
    tr.add_argument("pairs", help='JSON Lines: {"video": PATH, "caption": TEXT} per line')
    tr.add_argument(
        "--mode",
        choices=["tempme_only", "stop_only", "joint", "sequential"],
        default="joint",
        help="what to train (default joint)",
    )
    tr.add_argument("--out", help="checkpoint folder (default DATA_DIR/retrieval-training/NAME)")
    tr.add_argument("--config", help="encoder configuration JSON (seed layout)")
    tr.add_argument("--epochs", type=int, default=10, help="epochs (default 10)")
    tr.add_argument("--batch-size", type=int, default=32, help="pairs per batch (default 32)")
    tr.add_argument("--grad-accumulation", type=int, default=1, help="batches per optimiser step (default 1)")
    tr.add_argument("--tempme-lr", type=float, default=1e-4, help="learning rate of the LoRA adapters (1e-4)")
    tr.add_argument("--stop-lr", type=float, default=1e-5, help="learning rate of the prompts (1e-5)")
    tr.add_argument("--train-text", action="store_true", help="also fine-tune CLIP's text tower")
    tr.add_argument("--no-amp", action="store_true", help="no bf16 mixed precision on GPU")
    tr.add_argument("--seed", type=int, default=0, help="shuffling seed (default 0)")
    tr.add_argument("--resume", help="checkpoint to continue from (checkpoint_epoch_N.pth or last.pth)")
    tr.set_defaults(run=cmd_train_retrieval)

    serve = commands.add_parser("serve-vlm", parents=[common], help="start a vLLM server for the VLM")
    serve.add_argument(
        "--model", default="llava-hf/llava-onevision-qwen2-7b-ov-hf", help="hub id or local model directory to serve"
    )
    serve.add_argument(
        "--engine",
        choices=["vllm", "transformers"],
        default="vllm",
        help="vllm (GPU, production) or transformers serve (small models, CPU too); default vllm",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--tools", action="store_true", help="enable tool calling (vllm: hermes parser)")
    serve.add_argument("--startup-timeout", type=float, default=900.0, help="seconds to wait for /health")
    serve.add_argument("--print-command", action="store_true", help="print the server command line and exit")
    serve.set_defaults(run=cmd_serve_vlm)

    demo = commands.add_parser("demo", parents=[common], help="offline demo on a generated sample video")
    demo.add_argument("--out", default="build/demo", help="where to write the sample video (default build/demo)")
    demo.set_defaults(run=cmd_demo)
    for name, sub in commands.choices.items():
        sub.epilog = "examples:\n" + "\n".join(f"  python main.py {line}" for line in COMMAND_EXAMPLES[name])
        sub.formatter_class = argparse.RawDescriptionHelpFormatter
    return parser


def _error(message: str) -> None:
    print(f"vidsage: error: {terminal_line(message)}", file=sys.stderr)


EXIT_BROKEN_PIPE = 141
"""What a shell reports for a Unix tool whose output reader went away (128 + SIGPIPE), as `... | head -1`."""


def _stdout_copy() -> int | None:
    """A second descriptor of stdout, to ask later whether its reader went away: rich, finding out first,
    puts /dev/null in its place and exits 1."""
    try:
        return os.dup(sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):
        return None


def _reader_gone(stdout: int | None) -> bool:
    """Whether `stdout` is a pipe whose reading end is closed (a BrokenPipeError from a socket is not that)."""
    import select

    if stdout is None:
        return False
    poller = select.poll()
    poller.register(stdout, select.POLLOUT)
    return any(events & select.POLLERR for _, events in poller.poll(0))


def _quiet_broken_pipe() -> int:
    """End quietly after the reader of stdout went away: unflushed output goes nowhere, no message."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


def run(argv: list[str] | None = None) -> int:
    """Entry point: returns the process exit code."""
    args = build_parser().parse_args(argv)
    _quiet_libraries(args.debug)
    stdout = _stdout_copy()
    try:
        from core.process_env import prepare_process  # before any command loads a library: no telemetry

        prepare_process(_settings(args).data_dir)
        code = int(args.run(args))
        sys.stdout.flush()  # a reader that went away shows here, not in Python's own flush at exit
        return code
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except SystemExit:
        if _reader_gone(stdout):  # rich's own exit on a closed stdout: end as any other broken pipe
            return _quiet_broken_pipe()
        raise
    except Exception as error:  # the one place every failure becomes a one-line message
        from core.errors import VidsageError

        if isinstance(error, BrokenPipeError) and _reader_gone(stdout):
            return _quiet_broken_pipe()
        if args.debug:
            raise
        if isinstance(error, VidsageError):
            _error(str(error))
            return error.exit_code
        from pydantic import ValidationError

        if isinstance(error, ValidationError):
            _error(f"invalid settings: {error.errors()[0]['loc']}: {error.errors()[0]['msg']}")
            return 2
        _error(f"internal error: {type(error).__name__}: {error} (run with --debug for the traceback)")
        return 1
    finally:
        if stdout is not None:
            os.close(stdout)


if __name__ == "__main__":
    sys.exit(run())
