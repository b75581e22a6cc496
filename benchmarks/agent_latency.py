"""Ask latency of the agent on the CPU (offline profile, rule planner): median and p95 per question and
per graph step, over a fixed mix of question kinds on the generated sample and meeting videos.

    python -m benchmarks.agent_latency [--repeat 3]

Both videos are generated and ingested first (not timed); the first question of a session, which loads
the text embedder, is reported apart as the cold start. The rest are warm: models and memory loaded,
as in a chat or a benchmark run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from agent import Session
from core.settings import Settings
from evaluation.meeting_scenario import make_meeting_video
from evaluation.sample_video import make_sample_video

SAMPLE_QUESTIONS = (
    "What does the narrator say about the budget?",
    "And what happens after that?",
    "When is the science museum mentioned?",
    "Who appears in the video, and when?",
    "Is a giraffe mentioned?",
    "Summarize the video.",
)
MEETING_QUESTIONS = (
    "Who is with actor 1?",
    "When does the second person first show up?",
    "When do the two people first meet?",
    "Who is on screen at 0:02?",
)
CHOICE = ("Where is coffee served?", ["on the bridge", "in the garden", "at the science museum"])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="times each question set is asked (default 3)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="vidsage-agent-bench-"))
    settings = Settings(data_dir=root / "memory", detector_fps=2.0)
    sample = make_sample_video(root / "sample.mp4").path
    meeting = make_meeting_video(root / "meeting.mp4").path
    totals: list[float] = []
    steps: dict[str, list[float]] = {}
    cold: list[float] = []
    for video, questions in ((sample, SAMPLE_QUESTIONS), (meeting, MEETING_QUESTIONS)):
        with Session(video, settings=settings) as session:
            print(f"{video.name}: ingested in {session.ingest_seconds:.1f} s")
            for round_index in range(args.repeat):
                session.new_thread()
                for i, question in enumerate(questions):
                    started = time.perf_counter()
                    answer = session.ask(question)
                    seconds = time.perf_counter() - started
                    if round_index == 0 and i == 0:
                        cold.append(seconds)
                        continue
                    totals.append(seconds)
                    for name in ("plan", "act", "assess", "answer"):
                        steps.setdefault(name, []).append(answer.timings.get(name, 0.0))
                if video == sample:
                    started = time.perf_counter()
                    session.ask(CHOICE[0], options=CHOICE[1])
                    totals.append(time.perf_counter() - started)
    print(f"first question of each session: {', '.join(f'{s:.2f} s' for s in cold)}")
    print(f"warm questions: {len(totals)}; median {statistics.median(totals) * 1000:.1f} ms, "
          f"p95 {percentile(totals, 0.95) * 1000:.1f} ms, max {max(totals) * 1000:.1f} ms")  # fmt: skip
    for name, values in steps.items():
        print(
            f"  {name:<7} median {statistics.median(values) * 1000:7.2f} ms   p95 {percentile(values, 0.95) * 1000:7.2f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
