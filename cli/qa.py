"""The question-answering commands: ingest videos, ask about them (once, in the chat, over a dataset), the demo."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from cli.common import agent_settings, console_progress, settings_for
from cli.errors import bad_input, error
from ui.terminal_text import terminal_json, terminal_line, terminal_safe


def cmd_ingest(args: argparse.Namespace) -> int:
    """Ingest each path; a bad file is reported and skipped (exit 2 at the end); damaged memory, a server that
    does not answer or a missing model stops the run with its own exit code (4, 5, 3)."""
    from core.errors import VidsageError
    from memory.ingest.pipeline import ingest_video
    from memory.ingest.sources import expand_sources
    from models.cache import ModelCache

    settings = settings_for(args)
    sources = expand_sources(args.paths, recursive=not args.no_recursive)
    for _, problem in sources.problems:
        error(problem)
    failures, worst = len(sources.problems), 0
    reports: list[dict[str, Any]] = [{"path": given, "error": problem, "exit_code": 2} for given, problem in sources.problems]
    with console_progress(args) as progress:
        models = ModelCache.for_settings(settings, progress.notice)
        for path in sources.paths:
            try:
                report = ingest_video(path, settings, models=models, progress=progress)
            except VidsageError as failure:
                failures += 1
                error(str(failure))
                reports.append({"path": str(path), "error": str(failure), "exit_code": failure.exit_code})
                if failure.exit_code != 2:  # damaged memory, a server down, a model missing: every next file fails too
                    worst = failure.exit_code
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


def print_answer(answer: Any, *, json_out: bool = False) -> None:
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
        error("cannot answer: " + "; ".join(lines))
    else:
        for line in lines:
            error(f"this answer is incomplete: {line}")


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question about one or more videos (multiple choice with --option)."""
    from agent.api import ask

    settings = agent_settings(args)
    with console_progress(args) as progress:
        answer = ask(args.video, args.question, options=args.option, thread_id=args.thread, settings=settings,
                     progress=progress, top_k=args.top_k, force_choice=args.force_choice)  # fmt: skip
    print_answer(answer, json_out=args.json)
    return int(answer.exit_code)  # a failed source: 4 damaged memory, 5 a server down (the first one's code)


def cmd_chat(args: argparse.Namespace) -> int:
    """The terminal chat over one or more videos (ingests what is not in memory first)."""
    from ui.chat import run_chat

    return run_chat(args.video, agent_settings(args), thread_id=args.thread)


def cmd_eval(args: argparse.Namespace) -> int:
    """Run a QA dataset through the agent, score it, write report.json / report.md / plots; or compare runs."""
    from evaluation.report import compare_runs, write_reports

    if args.compare:
        print(terminal_safe(compare_runs(args.compare)))
        return 0
    if not args.dataset:
        raise bad_input("eval needs a DATASET (or --compare RUN_DIR RUN_DIR ...)")
    from evaluation.agent_answers import AgentAnswerer, configured_judge
    from evaluation.datasets import load_dataset
    from evaluation.runner import run_evaluation

    dataset = load_dataset(args.dataset, args.format)
    out = Path(args.out) if args.out else Path("runs") / Path(args.dataset).stem
    settings = agent_settings(args)
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


DEMO_QUESTIONS = (
    "What does the narrator say about the budget?",
    "And what happens after that?",
    "Who appears in the video, and when?",
    "When is the science museum mentioned, and what is said about it?",
    "What titles are written on screen?",
    "When is a mug shown?",
    "What color is the rocket?",
)
"""Asked in one thread: the second is a follow-up that resolves "that" against the first answer; the titles are
read by the on-screen text reader; the mug is found by the COCO object detector (as a `cup`, the class the words
name); the last needs the pictures, so without a picture model the answer says it cannot tell."""
DEMO_CHOICE = ("Where is coffee served?", ("on the bridge", "in the garden", "at the science museum"))


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate the sample video, open a session over it (ingesting it, then once more to show the cache hit), ask
    questions in one thread (a follow-up and a multiple-choice one among them), print grounded answers."""
    from agent.session import Session
    from evaluation.sample_video import make_sample_video
    from memory.ingest.pipeline import ingest_video

    settings = settings_for(args)
    out = Path(args.out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    video_path = out / "vidsage-sample.mp4"
    sample = make_sample_video(video_path)
    print(terminal_line(f"sample video: {video_path} ({sample.duration:.1f} s)"))
    for line in sample.narration:
        print(terminal_line(f"  narration at {line.t0:5.1f} s: {line.text}"))
    with console_progress(args) as progress:
        started = time.perf_counter()
        session = Session.open(video_path, settings=settings, progress=progress)
        first = session.ingest_reports[0]
        second = ingest_video(video_path, settings, models=session.models, progress=progress)
    print(
        f"ingest: {first.seconds:.2f} s ({'cached' if first.cached else 'ran ' + ', '.join(first.ran)}); "
        f"again: {second.seconds:.3f} s ({'cache hit' if second.cached else 'ran again'})"
    )
    with session:
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
        + "; ".join(f"{role}: {name}" for role, name in session.models.plan.summary().items())
    )
    return 0
