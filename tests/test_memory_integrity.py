"""Memory that is damaged, half-written or written by two processes at once is detected, repaired or kept apart,
never reported as "already in memory" or mixed into answers."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, IngestedSample, cli_env, run_cli

from core.errors import VideoUnreadable
from core.progress import SilentProgress
from core.settings import Settings
from evaluation.sample_video import make_sample_video
from memory.ingest.pipeline import STAGES, ingest_video
from memory.library import Library
from memory.store import VectorStore
from memory.video_memory import VideoMemory


class _Notices(SilentProgress):
    def __init__(self) -> None:
        self.notices: list[str] = []

    def notice(self, message: str) -> None:
        self.notices.append(message)


def _corrupt_middle(source: Path, target: Path) -> Path:
    """A copy of `source` with 40 KB of noise in the middle of its bytes (seeded)."""
    data = bytearray(source.read_bytes())
    rng = random.Random(0)
    middle = len(data) // 2
    data[middle : middle + 40_000] = bytes(rng.randrange(256) for _ in range(40_000))
    target.write_bytes(bytes(data))
    return target


def test_ingest_repairs_a_damaged_stage_file_instead_of_calling_it_already_in_memory(
    offline_memory: IngestedSample, memory_copy: Settings
) -> None:
    video = offline_memory.video.path
    before = VideoMemory.for_path(memory_copy, video)
    spans = before.transcript()
    transcript_file = before.directory / f"transcript-{before.run_id('transcript')}.json"
    transcript_file.write_text(json.dumps([{"t0": 0.0, "t1": 1.0, "text": "planted", "words": []}]))

    progress = _Notices()
    report = ingest_video(video, memory_copy, models=offline_memory.models, progress=progress)
    assert "transcript" in report.ran and not report.cached
    assert any("transcript" in n and "damaged" in n for n in progress.notices), progress.notices
    assert VideoMemory.for_path(memory_copy, video).transcript() == spans, "the transcript was not rebuilt"
    assert ingest_video(video, memory_copy, models=offline_memory.models).cached, "repaired memory is current"


def test_ingest_rebuilds_vector_rows_lost_from_the_store(offline_memory: IngestedSample, memory_copy: Settings) -> None:
    video = offline_memory.video.path
    memory = VideoMemory.for_path(memory_copy, video)
    collection = memory.summary("transcript_index")["collection"]
    store = VectorStore(memory_copy)
    store.delete_stale(collection, memory.video_id, None)
    assert store.fingerprint(collection, memory.video_id, memory.run_id("transcript_index"))["count"] == 0

    report = ingest_video(video, memory_copy, models=offline_memory.models)
    assert "transcript_index" in report.ran and "transcript" in report.reused
    run_id = VideoMemory.for_path(memory_copy, video).run_id("transcript_index")
    assert store.fingerprint(collection, memory.video_id, run_id)["count"] == len(memory.transcript()) > 0


def test_a_damaged_vector_store_exits_4_naming_it_and_ingest_rebuilds_after_it_is_moved_aside(
    offline_memory: IngestedSample, memory_copy: Settings
) -> None:
    store = memory_copy.data_dir / "chroma" / "chroma.sqlite3"
    data = bytearray(store.read_bytes())
    for page in range(0, len(data), 4096):
        data[page + 100 : page + 400] = b"\xff" * 300
    store.write_bytes(bytes(data))
    env = cli_env(memory_copy)
    result = run_cli("ingest", str(offline_memory.video.path), "--quiet", env=env)
    assert result.returncode == 4, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("vidsage: error:")]
    assert len(errors) == 1 and str(store.parent) in errors[0] and "Traceback" not in result.stderr

    store.parent.rename(store.parent.with_name("chroma.damaged"))
    report = ingest_video(offline_memory.video.path, memory_copy, models=offline_memory.models)
    assert {"transcript_index", "graph"} <= set(report.ran) and "transcript" in report.reused
    hits = Library(memory_copy, offline_memory.models).search(offline_memory.video.narration[0].text)
    assert hits and hits[0].kind == "transcript"
    assert hits[0].text.casefold() == offline_memory.video.narration[0].text.casefold()  # tiny.en may capitalise


def test_a_half_ingested_video_is_listed_unfinished_and_kept_out_of_search(
    offline_memory: IngestedSample, memory_copy: Settings, tmp_path: Path
) -> None:
    broken = _corrupt_middle(offline_memory.video.path, tmp_path / "broken.mp4")
    with pytest.raises(VideoUnreadable):
        ingest_video(broken, memory_copy, models=offline_memory.models)
    library = Library(memory_copy, offline_memory.models)
    states = {Path(row["path"]).name: row["state"] for row in library.listing()}
    assert states == {"sample.mp4": "complete", "broken.mp4": "unfinished"}
    broken_id = VideoMemory.for_path(memory_copy, broken).video_id
    assert VideoMemory.for_path(memory_copy, broken).transcript(), "its transcript committed before the damage"
    hits = library.search(offline_memory.video.narration[0].text, top_k=20)
    assert hits and all(hit.video_id != broken_id for hit in hits), "an unfinished video's speech was searched"

    stale = memory_copy.model_copy(update={"segment_seconds": 5.0})
    assert {Path(r["path"]).name: r["state"] for r in Library(stale, offline_memory.models).listing()} == {
        "sample.mp4": "stale",
        "broken.mp4": "unfinished",
    }
    listed = run_cli("library", "ls", "--json", env=cli_env(memory_copy))
    assert listed.returncode == 0 and {r["state"] for r in json.loads(listed.stdout)} == {"complete", "unfinished"}


def test_three_ingests_at_once_two_of_one_video_all_succeed_and_lose_no_rows(tmp_path: Path) -> None:
    def clip(name: str, line: str) -> Path:
        return make_sample_video(tmp_path / name, narration=[(0.5, line)], size=(320, 180), duration=6.0).path

    bridge, museum = clip("bridge.mp4", "The bridge budget is ten million."), clip("museum.mp4", "The museum opens at nine.")
    settings = Settings(profile="offline", data_dir=tmp_path / "data", detector_fps=1.0)
    env = cli_env(settings)
    command = [sys.executable, str(REPO / "main.py"), "ingest"]
    processes = [
        subprocess.Popen([*command, str(path)], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)  # fmt: skip
        for path in (bridge, bridge, museum)
    ]
    outputs = [process.communicate(timeout=600) for process in processes]
    for process, (out, err) in zip(processes, outputs):
        assert process.returncode == 0, err
    waited = [err for _, err in outputs[:2] if "another vidsage process is writing it" in err]
    reused = [out + err for out, err in outputs[:2] if "already in memory" in out + err]
    # The second ingest of one video waits for the first (or, on a slow start, finds it done): never both working.
    assert len(waited) <= 1 and len(reused) == 1, outputs[:2]

    store = VectorStore(settings)
    for path in (bridge, museum):
        memory = VideoMemory.for_path(settings, path)
        assert set(memory.manifest.stages) == set(STAGES)
        for stage, record in memory.manifest.stages.items():
            if record.rows:
                assert store.fingerprint(record.rows["collection"], memory.video_id, record.run_id) == record.rows, stage
    spans = [VideoMemory.for_path(settings, path).transcript() for path in (bridge, museum)]
    collection = VideoMemory.for_path(settings, museum).summary("transcript_index")["collection"]
    assert store.count(collection) == sum(len(s) for s in spans) > 0
