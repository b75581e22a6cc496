"""A crash mid-ingest exposes nothing half-written; the next run keeps finished stages and resumes."""

from __future__ import annotations

import pytest
from conftest import IngestedSample
from helpers import snapshot

from core.settings import Settings
from memory.ingest.pipeline import ingest_video
from memory.video_memory import VideoMemory
from models.cache import ModelCache


class _Crash(RuntimeError):
    pass


def test_crash_in_a_late_stage_keeps_memory_readable_and_resumes(
    offline_memory: IngestedSample, memory_copy: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    changed = memory_copy.model_copy(update={"asr_language": "en", "segment_seconds": 5.0})
    models = ModelCache.for_settings(changed)
    before = VideoMemory.for_path(memory_copy, offline_memory.video.path)
    old_segments = before.segments()

    def explode(*args: object, **kwargs: object) -> None:
        raise _Crash("power cut")

    monkeypatch.setattr("memory.ingest.pipeline._Run._segments", explode)
    with pytest.raises(_Crash):
        ingest_video(offline_memory.video.path, changed, models=models)
    monkeypatch.undo()

    during = VideoMemory.for_path(changed, offline_memory.video.path)
    assert during.transcript(), "the transcript stage finished before the crash and is visible"
    assert during.segments() == old_segments, "the crashed stage still shows its previous, complete output"

    resumed = ingest_video(offline_memory.video.path, changed, models=models)
    assert "transcript" not in resumed.ran and "segments" in resumed.ran
    after = VideoMemory.for_path(changed, offline_memory.video.path)
    assert {round(s.t1 - s.t0, 1) for s in after.segments()[:-1]} == {5.0}
    names = {path.split("/")[-1].split("-")[0] for path in snapshot(changed.data_dir) if path.startswith("videos/")}
    assert names <= {"manifest.json", "transcript", "segments", "tracks", "frames", "objects", "actors", "triggers", "ocr",
                     "captions", "graph", "clusters"}
    files = [p for p in snapshot(changed.data_dir) if p.startswith("videos/") and "segments-" in p and p.endswith(".json")]
    assert len(files) == 1, f"superseded segment files were swept: {files}"
