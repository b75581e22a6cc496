"""Ingest runs once: the same file and settings reuse memory; a changed setting re-runs only its stages."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import IngestedSample, run_cli

from core.settings import Settings
from memory.ingest.pipeline import STAGES, ingest_video
from memory.video_memory import VideoMemory


def test_first_ingest_ran_every_stage(offline_memory: IngestedSample) -> None:
    assert offline_memory.report.ran == list(STAGES)
    assert offline_memory.report.video.duration == pytest.approx(offline_memory.video.duration, abs=0.2)


def test_second_ingest_is_a_cache_hit(offline_memory: IngestedSample) -> None:
    again = ingest_video(offline_memory.video.path, offline_memory.settings, models=offline_memory.models)
    assert again.cached and again.ran == [] and again.reused == list(STAGES)
    assert again.seconds < offline_memory.report.seconds / 10


def test_cli_reports_the_cache_hit(offline_memory: IngestedSample) -> None:
    result = run_cli("ingest", str(offline_memory.video.path), "--json", "--quiet", env=offline_memory.env())
    assert result.returncode == 0, result.stderr
    [payload] = json.loads(result.stdout)  # always a list, even for one file
    assert payload["cached"] is True and payload["video_id"] == offline_memory.report.video.video_id


def test_renamed_copy_is_recognised_by_content(offline_memory: IngestedSample, memory_copy: Settings, tmp_path: Path) -> None:
    renamed = tmp_path / "renamed.mp4"
    shutil.copyfile(offline_memory.video.path, renamed)
    report = ingest_video(renamed, memory_copy.model_copy(update={"profile": "auto"}), models=offline_memory.models)
    assert report.cached and report.video.video_id == offline_memory.report.video.video_id


def test_changed_settings_rerun_only_their_stages(offline_memory: IngestedSample, memory_copy: Settings) -> None:
    longer = memory_copy.model_copy(update={"segment_seconds": 7.0})
    report = ingest_video(offline_memory.video.path, longer)
    assert report.ran == ["segments", "triggers", "ocr", "captions", "clusters"], "what reads segments follows them"
    memory = VideoMemory.for_path(longer, offline_memory.video.path)
    assert [round(s.t1 - s.t0, 1) for s in memory.segments()[:-1]] == [7.0] * (len(memory.segments()) - 1)
    assert memory.transcript(), "reused stages stay readable"


def test_switching_profile_reuses_what_the_models_share(offline_memory: IngestedSample, memory_copy: Settings) -> None:
    """tiny and offline share tiny.en and MiniLM (and frame descriptors need no model): only the
    stages fed by CLIP or the detector re-run."""
    tiny = memory_copy.model_copy(update={"profile": "tiny", "detector_fps": 1.0})
    report = ingest_video(offline_memory.video.path, tiny)
    assert report.ran == ["segments", "tracks", "actors", "triggers", "ocr", "captions", "graph", "clusters"]
    assert report.reused == ["transcript", "transcript_index", "frames", "objects"]
    memory = VideoMemory.for_path(tiny, offline_memory.video.path)
    assert memory.summary("segments")["collection"], "tiny CLIP wrote segment vectors"


def test_cache_hit_does_not_import_torch(offline_memory: IngestedSample) -> None:
    probe = (
        "import sys, main; code = main.run(['ingest', sys.argv[1], '--quiet']); "
        "print('torch' in sys.modules, code)"
    )
    env = offline_memory.env()
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", probe, str(offline_memory.video.path)],
        capture_output=True, text=True, env=env, cwd=Path(__file__).parent.parent, timeout=120,
    )
    assert result.stdout.split() == ["False", "0"], result.stderr


def test_help_is_fast_and_light() -> None:
    result = run_cli("--help")
    assert result.returncode == 0 and "ingest" in result.stdout and "exit codes" in result.stdout
    import subprocess
    import sys

    check = subprocess.run(
        [sys.executable, "-c", "import sys, main, cli.parser; cli.parser.build_parser(); print('torch' in sys.modules)"],
        capture_output=True, text=True, cwd=Path(__file__).parent.parent, env=dict(os.environ), timeout=60,
    )
    assert check.stdout.strip() == "False"
