"""Triggers through the real pipeline and CLI: ingest finds every scripted event for its cause, within
budget, and `train-triggers` / a configured head fail with one clear line on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli

from core.errors import ModelUnavailable
from core.settings import Settings
from evaluation.speech_synthesis import espeak_available
from evaluation.trigger_scenario import TriggerScenario, make_trigger_video
from memory.ingest.pipeline import ingest_video
from memory.video_memory import VideoMemory
from memory.views import triggers_view


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> TriggerScenario:
    if not espeak_available():
        pytest.skip("espeak-ng is not installed")
    return make_trigger_video(tmp_path_factory.mktemp("triggers") / "events.mp4")


@pytest.fixture(scope="module")
def ingested(scenario: TriggerScenario, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = Settings(data_dir=tmp_path_factory.mktemp("memory"), detector_fps=2.5, trigger_budget=0.35)
    ingest_video(scenario.path, settings)
    return settings


def test_ingest_triggers_every_scripted_event_for_its_cause(scenario: TriggerScenario, ingested: Settings) -> None:
    view = triggers_view(VideoMemory.for_path(ingested, scenario.path))
    triggers = view["triggers"]
    for event in scenario.events:
        near = [t for t in triggers if abs(t["timestamp"] - event.time) <= 1.0]
        assert any(event.kind in t["reasons"] for t in near), (event, triggers)
    assert view["triggered_segments"] / view["num_segments"] <= 0.35
    assert all(t["analysis"] == "" for t in triggers) and view["video_summary"] == ""


def test_cli_inspect_triggers_prints_the_seed_json(scenario: TriggerScenario, ingested: Settings) -> None:
    env = {"VIDSAGE_DATA_DIR": str(ingested.data_dir), "VIDSAGE_DETECTOR_FPS": "2.5", "VIDSAGE_TRIGGER_BUDGET": "0.35"}
    import os

    result = run_cli("inspect", str(scenario.path), "--what", "triggers", "--json", "--quiet", env={**os.environ, **env})
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert {"video_path", "num_frames_analyzed", "num_triggers_detected", "triggers", "video_summary"} <= set(payload)
    assert payload["num_triggers_detected"] == len(payload["triggers"]) > 0
    assert payload["num_frames_analyzed"] == 200, "40 s at the default 5 fps"
    first = payload["triggers"][0]
    assert set(first) == {"timestamp", "frame_index", "trigger_confidence", "reasons", "analysis"}


def test_default_budget_keeps_a_quarter_of_segments(scenario: TriggerScenario, ingested: Settings) -> None:
    tight = ingested.model_copy(update={"trigger_budget": 0.25})
    report = ingest_video(scenario.path, tight)
    assert report.ran == ["triggers", "ocr", "captions", "clusters"], "the budget changes triggers and what reads them"
    view = triggers_view(VideoMemory.for_path(tight, scenario.path))
    assert view["triggered_segments"] <= int(0.25 * view["num_segments"])


@pytest.mark.parametrize(
    ("content", "phrase"),
    [(None, "no such annotations file"), ("{not json", "json"), ("PAST_END", "past the end")],
)
def test_train_triggers_rejects_bad_annotations(
    scenario: TriggerScenario, tmp_path: Path, content: str | None, phrase: str
) -> None:
    path = tmp_path / "annotations.json"
    if content == "PAST_END":
        content = json.dumps({"videos": [{"video_path": str(scenario.path), "triggers": [5.0, 999.0]}]})
    if content is not None:
        path.write_text(content)
    result = run_cli("train-triggers", str(path), "--data-dir", str(tmp_path / "memory"))
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("vidsage: error:")]
    assert len(errors) == 1 and str(path) in errors[0] and phrase in errors[0].lower(), result.stderr
    assert "Traceback" not in result.stderr


def test_train_triggers_cli_writes_a_usable_checkpoint(scenario: TriggerScenario, ingested: Settings, tmp_path: Path) -> None:
    annotations = tmp_path / "annotations.json"
    annotations.write_text(json.dumps({"videos": [{"video_path": str(scenario.path),
                                                    "triggers": [e.time for e in scenario.events]}]}))
    out = tmp_path / "head.pt"
    result = run_cli("train-triggers", str(annotations), "--out", str(out), "--epochs", "20", "--json", "--quiet",
                     "--data-dir", str(tmp_path / "memory"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["event_recall"] >= 0.8
    with_head = ingested.model_copy(update={"trigger_head": out})
    report = ingest_video(scenario.path, with_head)
    assert report.ran == ["triggers", "ocr", "captions", "clusters"]
    reasons = {r for t in VideoMemory.for_path(with_head, scenario.path).triggers() for r in t.reasons}
    assert "trained_head" in reasons


def test_a_corrupt_head_is_refused_before_memory_changes(scenario: TriggerScenario, ingested: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "garbage.pt"
    bad.write_bytes(b"\x00not a checkpoint" * 64)
    with pytest.raises(ModelUnavailable, match="corrupt"):
        ingest_video(scenario.path, ingested.model_copy(update={"trigger_head": bad}))
    assert VideoMemory.for_path(ingested, scenario.path).triggers(), "earlier triggers remain readable"
