"""The argument parser: the common flags, one sub-command per command (its `run` is the command's function in
this package), examples under each --help. Building it imports no heavy library."""

from __future__ import annotations

import argparse

from cli.memory_commands import cmd_graph, cmd_inspect, cmd_library, cmd_search, cmd_timeline
from cli.qa import cmd_ask, cmd_chat, cmd_demo, cmd_eval, cmd_ingest
from cli.retrieval import cmd_embed, cmd_retrieve, cmd_train_retrieval
from cli.serve import cmd_serve_vlm
from cli.training import cmd_train_triggers

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
    "inspect": (
        "inspect talk.mp4 --what transcript --json",
        "inspect talk.mp4 --what screen_text",
        "inspect talk.mp4 --what objects",
        "inspect talk.mp4 --what scenes",
    ),
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
        choices=["transcript", "screen_text", "objects", "triggers", "actors", "captions", "scenes", "graph"],
        default="transcript",
        help="which view (default transcript)",
    )
    inspect.set_defaults(run=cmd_inspect)

    search = commands.add_parser("search", parents=[common], help="search the whole library (or some videos)")
    search.add_argument("query", help="what to find, in words")
    search.add_argument("--video", action="append", help="only this video (path, id or file name); repeatable")
    search.add_argument("--between", nargs=2, type=float, metavar=("T0", "T1"), help="only this time range (s)")
    search.add_argument("--actor", action="append", type=int, help="only while this actor is on screen; repeatable")
    search.add_argument("--object", action="append", dest="objects", metavar="NAME",
                        help="only while this object is shown (e.g. cup, 'a mug', animals); repeatable")
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
