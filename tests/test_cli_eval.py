"""`main.py eval` on a QA set generated from the sample video's ground truth, answered by the real agent
(offline profile): the three reports with per-type accuracy and latency, a real interrupt and a resume that
repeats no row, `--compare`; `main.py ingest` of directories and glob patterns."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import REPO, IngestedSample, run_cli

from evaluation.datasets import QAItem, write_native
from evaluation.generated_qa import build_questions, load_description

PNG = b"\x89PNG\r\n\x1a\n"


def _qa_set(offline_memory: IngestedSample, directory: Path) -> Path:
    """The generated questions, plus one about a video that is not there."""
    items = build_questions(load_description(offline_memory.video.path))
    missing = QAItem(qid="gone", video="nowhere.mp4", question="What happens?", options=None, answer="nothing",
                     answer_index=None, type="speech")  # fmt: skip
    path = directory / "qa.jsonl"
    write_native([*items, missing], path)
    shutil.copy(offline_memory.video.path, directory / offline_memory.video.path.name)
    return path


def _rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines() if line.strip()]


def test_eval_reports_interrupt_and_resume(offline_memory: IngestedSample, tmp_path: Path) -> None:
    dataset = _qa_set(offline_memory, tmp_path)
    total = len(dataset.read_text().splitlines())
    assert total >= 20
    run = tmp_path / "run"
    argv = [sys.executable, str(REPO / "main.py"), "eval", str(dataset), "--out", str(run)]
    process = subprocess.Popen(argv, env=offline_memory.env(), cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        if (run / "results.jsonl").exists() and len(_rows(run)) >= 3:
            process.send_signal(signal.SIGINT)
            break
        time.sleep(0.02)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-2000:]
    assert stderr.strip().splitlines()[-1] == "vidsage: error: interrupted"
    done = {row["qid"] for row in _rows(run)}
    assert 3 <= len(done) < total

    result = run_cli("eval", str(dataset), "--out", str(run), env=offline_memory.env(), timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (
        f"{total - len(done) - 1} answered now, {len(done)} already done, 1 missing videos, 0 errors" in result.stdout
    )
    rows = _rows(run)
    assert len(rows) == total and len({row["qid"] for row in rows}) == total
    assert [row["status"] for row in rows if row["qid"] == "gone"] == ["missing_video"]

    report = json.loads((run / "report.json").read_text())
    assert report["questions"] == total
    assert report["accuracy"] >= 0.7, report["by_type"]
    markdown = (run / "report.md").read_text()
    assert "Accuracy by type" in markdown
    for kind in ("speech", "speech_time", "multiple_choice", "people", "absent"):
        assert f"| {kind} |" in markdown
    assert "Latency p50" in markdown
    for name in ("accuracy_by_type.png", "latency.png"):
        assert (run / name).read_bytes().startswith(PNG)

    compared = run_cli("eval", "--compare", str(run), str(run), env=offline_memory.env())
    assert compared.returncode == 0 and "| Accuracy |" in compared.stdout


def test_eval_needs_a_dataset(offline_memory: IngestedSample) -> None:
    result = run_cli("eval", env=offline_memory.env())
    assert result.returncode == 2
    assert "eval needs a DATASET" in result.stderr


def test_ingest_takes_directories_and_glob_patterns(offline_memory: IngestedSample, tmp_path: Path) -> None:
    folder = tmp_path / "videos" / "inner"
    folder.mkdir(parents=True)
    shutil.copy(offline_memory.video.path, folder / "copy.mp4")
    (tmp_path / "videos" / "notes.txt").write_text("not a video")
    env = offline_memory.env()
    by_folder = run_cli("ingest", str(tmp_path / "videos"), "--json", "--quiet", env=env)
    assert by_folder.returncode == 0, by_folder.stderr
    [report] = json.loads(by_folder.stdout)
    assert report["cached"] is True and report["path"].endswith("copy.mp4"), "same content: already in memory"
    pattern = str(tmp_path / "videos" / "**" / "*.mp4")
    mixed = run_cli("ingest", pattern, str(tmp_path / "none-*.mkv"), env=env)  # not --quiet: it prints a summary
    assert mixed.returncode == 2
    assert f"vidsage: error: {tmp_path / 'none-*.mkv'}: matches no video files" in mixed.stderr
    assert "1 of 2 inputs in memory; 1 failed" in mixed.stdout
    flat = run_cli("ingest", str(tmp_path / "videos"), "--no-recursive", "--quiet", env=env)
    assert flat.returncode == 2 and "holds no video files" in flat.stderr
    assert os.path.exists(offline_memory.video.path)
