"""Hybrid search latency over a large library: p50/p95/p99 of `Library.search`, filtered and not.

    python -m benchmarks.search [--videos 10] [--segments-per-video 1000] [--queries 200]

Builds a synthetic library in a temp dir through the real memory layout (manifests, transcript and
caption files, Chroma collections): 10 videos x 1,000 segments of 4 s by default, i.e. 10,000
segments, each with a spoken sentence and a caption made from a topic vocabulary, text vectors from
the real all-MiniLM-L6-v2 (the queries are encoded by it too) and segment vectors in the tiny CLIP's
space. Then it times questions through every channel (CLIP text->segments, text vectors of speech
and captions, BM25, RRF), unfiltered, filtered to one video, and filtered to a time range; the first
query (index building, model warm-up) is reported apart. A baseline measured in the same run is the
same search with the BM25 index rebuilt for every query (what a naive implementation does).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from core.settings import Settings  # noqa: E402
from core.types import VideoRef  # noqa: E402
from memory.layout import DataLayout, write_json_atomic  # noqa: E402
from memory.library import Library  # noqa: E402
from memory.manifest import Manifest  # noqa: E402
from memory.store import VectorStore, collection_name  # noqa: E402
from models.cache import ModelCache  # noqa: E402

TOPICS = {
    "harbour": "ferry boats sail out of the harbour past the lighthouse",
    "kitchen": "a chef chops onions and stirs a pot in the kitchen",
    "budget": "the council discusses the budget for the new bridge",
    "football": "players run across the pitch and the goalkeeper dives",
    "garden": "children plant apple trees in the school garden",
    "concert": "the orchestra tunes up before the concert in the park",
    "weather": "heavy rain and wind are expected across the valley",
    "museum": "visitors look at paintings of old sailing ships",
    "train": "a new train line will connect the two cities",
    "market": "traders sell fresh bread and cheese at the market",
}
QUESTIONS = (
    "What was said about the budget for the bridge?", "when do the boats leave the harbour",
    "Who is cooking in the kitchen?", "the goalkeeper dives", "what did the children plant",
    "Is there a concert?", "rain in the valley", "paintings of ships", "Which cities does the railway link?",
    "bread at the market",
)  # fmt: skip


def build_library(root: Path, videos: int, per_video: int, models: ModelCache, seed: int = 0) -> None:
    """Write `videos` synthetic videos of `per_video` segments each into the data dir at `root`."""
    rng = np.random.default_rng(seed)
    settings = models.plan.settings
    layout = DataLayout(settings.data_dir)
    store = VectorStore(settings)
    embedder, clip = models.text_embedder(), models.clip()
    assert embedder is not None and clip is not None
    topics = list(TOPICS)
    topic_vectors = dict(zip(topics, embedder.encode(list(TOPICS.values()))))
    clip_vectors = dict(zip(topics, clip.encode_texts(list(TOPICS.values()))))
    for v in range(videos):
        video_id = f"{v:04d}" + uuid.UUID(int=int(rng.integers(2**62))).hex[:12]
        ref = VideoRef(Path(root / f"video{v}.mp4"), video_id + "0" * 48, per_video * 4.0, 25.0, 640, 360,
                       per_video * 100, per_video * 4.0)  # fmt: skip
        manifest = Manifest(ref)
        run = uuid.uuid4().hex[:12]
        chosen = rng.integers(len(topics), size=per_video)
        spans, captions, segments = [], [], []
        for i, t in enumerate(chosen):
            t0, t1 = i * 4.0, i * 4.0 + 4.0
            words = TOPICS[topics[t]].split()
            said = " ".join(words[: int(rng.integers(4, len(words) + 1))]) + f" part {i}"
            spans.append({"t0": t0 + 0.5, "t1": t0 + 3.5, "text": said, "words": []})
            captions.append({"index": i, "t0": t0, "t1": t1, "caption": f"a scene about {topics[t]}", "dense": "",
                             "frames": []})  # fmt: skip
            segments.append({"index": i, "t0": t0, "t1": t1, "keyframe": t0 + 2.0})
        directory = layout.video_dir(video_id)
        write_json_atomic(directory / f"transcript-{run}.json", spans)
        write_json_atomic(directory / f"captions-{run}.json", {"segments": captions, "video_summary": ""})
        write_json_atomic(directory / f"segments-{run}.json", segments)
        noise = lambda base, dim: base + rng.normal(0, 0.05, (per_video, dim))  # noqa: E731
        text_rows = noise(np.stack([topic_vectors[topics[t]] for t in chosen]), embedder.dim)
        seg_rows = noise(np.stack([clip_vectors[topics[t]] for t in chosen]), clip.dim)
        meta = [{"video_id": video_id, "run_id": run, "t0": s["t0"], "t1": s["t1"]} for s in spans]
        names = {
            "transcript": collection_name("transcript", embedder.spec.key),
            "captions": collection_name("captions", embedder.spec.key),
            "segments": collection_name("segments", clip.spec.key),
        }
        store.add(names["transcript"], [f"{video_id}:{run}:{i}" for i in range(per_video)], text_rows,
                  [s["text"] for s in spans], [m | {"span": i} for i, m in enumerate(meta)])  # fmt: skip
        store.add(names["captions"], [f"{video_id}:{run}:{i}:caption" for i in range(per_video)], text_rows,
                  [c["caption"] for c in captions],
                  [{"video_id": video_id, "run_id": run, "t0": c["t0"], "t1": c["t1"], "segment": c["index"],
                    "kind": "caption"} for c in captions])  # fmt: skip
        store.add(names["segments"], [f"{video_id}:{run}:{i}" for i in range(per_video)], seg_rows,
                  ["" for _ in segments],
                  [{"video_id": video_id, "run_id": run, "segment": s["index"], "t0": s["t0"], "t1": s["t1"],
                    "keyframe": s["keyframe"]} for s in segments])  # fmt: skip
        for stage, summary in (
            ("transcript", {"spans": per_video}),
            ("transcript_index", {"collection": names["transcript"], "model": embedder.spec.description}),
            ("segments", {"collection": names["segments"], "model": clip.spec.description}),
            ("captions", {"collection": names["captions"], "random_weights": False}),
        ):
            manifest.record(stage, "benchmark", run, 0.0, summary)
        manifest.save(layout)


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]  # noqa: E731
    return {"p50": pick(0.5) * 1000, "p95": pick(0.95) * 1000, "p99": pick(0.99) * 1000,
            "mean": statistics.fmean(ordered) * 1000}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=10)
    parser.add_argument("--segments-per-video", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--build-into", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.build_into is not None:
        settings = Settings(profile="tiny", device="cpu", data_dir=args.build_into / "data")
        build_library(args.build_into, args.videos, args.segments_per_video, ModelCache.for_settings(settings))
        return 0
    with tempfile.TemporaryDirectory(prefix="vidsage-search-") as tmp:
        started = time.perf_counter()
        # Built by another process, as a library is in use: Chroma's background indexing is finished.
        command = [sys.executable, "-m", "benchmarks.search", "--build-into", tmp, "--videos", str(args.videos),
                   "--segments-per-video", str(args.segments_per_video)]  # fmt: skip
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        total = args.videos * args.segments_per_video
        print(f"library: {args.videos} videos, {total} segments, {total} speech spans, {total} captions "
              f"(built in {time.perf_counter() - started:.1f} s)")  # fmt: skip
        settings = Settings(profile="tiny", device="cpu", data_dir=Path(tmp) / "data")
        models = ModelCache.for_settings(settings)
        library = Library(settings, models)
        first_video = library.video_ids()[0]
        cold = time.perf_counter()
        library.search(QUESTIONS[0])
        print(f"first query (BM25 index over {2 * total} texts, warm-up): {(time.perf_counter() - cold) * 1000:.0f} ms")
        cases = {
            "all videos": {},
            "one video": {"videos": [first_video]},
            "time range": {"t_range": (400.0, 800.0)},
        }
        embedder, clip = models.text_embedder(), models.clip()
        begin = time.perf_counter()
        for q in range(50):
            embedder.encode([QUESTIONS[q % len(QUESTIONS)]])
            clip.encode_texts([QUESTIONS[q % len(QUESTIONS)]])
        print(f"query encoding alone (MiniLM + CLIP text): {(time.perf_counter() - begin) / 50 * 1000:.1f} ms a query")
        print(f"{'filter':<12} {'queries':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'results':>7}")
        for name, options in cases.items():
            samples, results = [], 0
            for q in range(args.queries):
                begin = time.perf_counter()
                hits = library.search(QUESTIONS[q % len(QUESTIONS)], top_k=10, **options)
                samples.append(time.perf_counter() - begin)
                results += len(hits)
            stats = _percentiles(samples)
            print(f"{name:<12} {args.queries:>7} {stats['p50']:>8.1f} {stats['p95']:>8.1f} {stats['p99']:>8.1f} "
                  f"{stats['mean']:>8.1f} {results / args.queries:>7.1f}")  # fmt: skip
        naive = []
        for q in range(min(20, args.queries)):
            library._keyword = None  # the naive baseline: index the corpus again for every query
            begin = time.perf_counter()
            library.search(QUESTIONS[q % len(QUESTIONS)], top_k=10)
            naive.append(time.perf_counter() - begin)
        stats = _percentiles(naive)
        print(f"{'naive (BM25 rebuilt per query)':<30} p50 {stats['p50']:.1f} ms, p95 {stats['p95']:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
