"""Training of the TempMe-STOP retrieval adapters on four tiny generated videos with the tiny random
CLIP: the loss falls, checkpoints and `adapters.pth` are written and load into the encoder, frozen
families stay exactly as they were, resume matches an uninterrupted run, and bad inputs are refused
or skipped with messages naming the file. Offline, CPU, seeded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from core.errors import InvalidRequest
from core.settings import Settings
from evaluation.sample_video import VIDEO_CODECS, letterbox, pick_codec, write_video
from models.adapters.clip import ClipEncoder
from models.adapters.video import iter_frames, probe
from models.cache import ModelCache
from models.retrieval.adapters import RetrievalAdapters
from models.retrieval.config import TempMeConfig, UnifiedModelConfig
from models.retrieval.segment_encoder import SegmentEncoder
from models.retrieval.training import TrainingOptions, TrainingResult, train_retrieval
from models.retrieval.training_data import read_pairs

CLIPS = (
    ("rocket", "a rocket standing on the launch pad"),
    ("camera", "a man holding a camera on a tripod"),
    ("astronaut", "an astronaut in a white space suit"),
    ("coffee", "a cup of coffee on a saucer"),
)
"""(scikit-image photo, caption): four videos of distinct content with distinct captions."""
SIZE = (96, 64)
FPS = 8
SECONDS = 2.0
FAST = {"tempme_lr": 1e-2, "stop_lr": 1e-2, "weight_decay": 0.0}
"""Learning rates high enough that a few steps visibly move a random tiny model."""


def write_clip(path: Path, photo: str) -> Path:
    """A 2 s, 96x64 video of a photo panning sideways (so frames differ and the temporal prompt has motion)."""
    base = letterbox(photo, SIZE)
    frames = (np.roll(base, shift=2 * index, axis=1) for index in range(round(SECONDS * FPS)))
    write_video(path, frames, FPS, SIZE, pick_codec(VIDEO_CODECS, "video"), None, None)
    return path


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Torch on one CPU thread: the tiny model only pays for thread sync, badly so on a busy 2-core machine."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> ClipEncoder:
    """The tiny random CLIP (4-layer ViT, 64 px) on the CPU."""
    settings = Settings(profile="tiny", device="cpu", data_dir=tmp_path_factory.mktemp("data"))
    encoder = ModelCache.for_settings(settings).clip()
    assert encoder is not None
    return encoder


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four videos beside a pairs file that names them by relative path."""
    folder = tmp_path_factory.mktemp("pairs")
    lines = []
    for photo, caption in CLIPS:
        write_clip(folder / "videos" / f"{photo}.mp4", photo)
        lines.append(json.dumps({"video": f"videos/{photo}.mp4", "caption": caption}))
    path = folder / "pairs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def config() -> UnifiedModelConfig:
    """4 frames a segment; merge layers placed automatically for the 4-layer tiny ViT."""
    return UnifiedModelConfig(tempme=TempMeConfig(merge_layer=()), max_frames=4, video_size=64)


def sampled_frames(pairs_file: Path) -> np.ndarray:
    """(videos, 4, H, W, 3) uint8: each training video's first four frames, for comparing embeddings."""
    clips = []
    for photo, _ in CLIPS:
        ref = probe(pairs_file.parent / "videos" / f"{photo}.mp4")
        clips.append(np.concatenate([batch for _, batch in iter_frames(ref, [0.0, 0.5, 1.0, 1.5])]))
    return np.stack(clips)


def state_of(path: Path) -> dict[str, torch.Tensor]:
    """The adapter weights in an `adapters.pth` or a training checkpoint."""
    data = torch.load(path, map_location="cpu", weights_only=True)
    return dict(data.get("adapters", data)["state"])


def random_adapters(clip: ClipEncoder, config: UnifiedModelConfig, path: Path) -> Path:
    """Adapters with every weight non-zero (so every one gets a gradient), saved for a warm start."""
    encoder = SegmentEncoder(clip, config)
    adapters = RetrievalAdapters(config, encoder.depth, encoder.width)
    generator = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for param in adapters.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) * 0.02)
    adapters.save(path)
    return path


def test_joint_training_lowers_the_loss_and_writes_adapters_the_encoder_loads(
    clip: ClipEncoder, pairs_file: Path, config: UnifiedModelConfig, tmp_path: Path
) -> None:
    progress: list[tuple[int, int, int, float]] = []
    clip_before = {name: value.clone() for name, value in clip.model.state_dict().items()}
    options = TrainingOptions(mode="joint", epochs=4, batch_size=4, checkpoint_dir=tmp_path / "run", **FAST)
    result = train_retrieval(pairs_file, clip, config, options, on_progress=lambda *args: progress.append(args))

    clip_after = clip.model.state_dict()
    assert all(torch.equal(clip_before[name], clip_after[name]) for name in clip_before)
    assert all(param.requires_grad for param in clip.model.parameters())

    assert isinstance(result, TrainingResult)
    assert (result.epochs, result.resumed_from, result.pairs, result.videos, result.skipped) == (4, 0, 4, 4, [])
    assert len(result.history) == 4 and result.history[-1] < result.history[0]
    assert [(epoch, step, total) for epoch, step, total, _ in progress] == [(e, 1, 1) for e in range(1, 5)]
    assert result.checkpoints == [tmp_path / "run" / f"checkpoint_epoch_{n}.pth" for n in range(1, 5)]
    assert all(path.is_file() for path in result.checkpoints)
    assert result.adapters_path.is_file() and result.last_checkpoint.is_file()
    assert not list((tmp_path / "run").glob(".*partial*"))

    checkpoint = torch.load(result.last_checkpoint, map_location="cpu", weights_only=True)
    assert checkpoint["epoch"] == 4 and checkpoint["mode"] == "joint" and checkpoint["history"] == result.history
    assert checkpoint["config"] == config.to_dict()
    assert {group["name"]: group["lr"] for group in checkpoint["optimizer"]["param_groups"]} == {
        "tempme": 1e-2,
        "stop": 1e-2,
    }
    assert set(checkpoint["adapters"]) == {"depth", "width", "state"}

    log = [json.loads(line) for line in result.log_path.read_text().splitlines()]
    assert [line["epoch"] for line in log] == [1, 2, 3, 4]
    assert [line["loss"] for line in log] == pytest.approx(result.history, abs=1e-5)
    assert all(line["lr"] == {"tempme": 1e-2, "stop": 1e-2} and line["grad_norm"] > 0 for line in log)

    frames = sampled_frames(pairs_file)
    plain = SegmentEncoder(clip, config).encode(frames).segments
    untrained = SegmentEncoder(clip, config)
    untrained.attach(RetrievalAdapters(config, untrained.depth, untrained.width))
    np.testing.assert_array_equal(untrained.encode(frames).segments, plain)
    trained = SegmentEncoder.build(clip, replace(config, adapter_path=str(result.adapters_path)))
    assert float(np.abs(trained.encode(frames).segments - plain).max()) > 1e-4
    from_checkpoint = SegmentEncoder.build(clip, replace(config, adapter_path=str(result.last_checkpoint)))
    np.testing.assert_array_equal(from_checkpoint.encode(frames).segments, trained.encode(frames).segments)


PROMPTS = ("spatial.", "temporal.")
LORA = ("lora.",)


def changed(prefixes: tuple[str, ...], before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]) -> bool:
    """Whether any adapter weight whose name starts with one of `prefixes` differs."""
    names = [name for name in before if name.startswith(prefixes)]
    assert names, f"no adapter weights named {prefixes}"
    return any(not torch.equal(before[name], after[name]) for name in names)


@pytest.mark.parametrize(("mode", "frozen", "trained"), [("stop_only", LORA, PROMPTS), ("tempme_only", PROMPTS, LORA)])
def test_single_family_modes_leave_the_other_family_unchanged(
    clip: ClipEncoder,
    pairs_file: Path,
    config: UnifiedModelConfig,
    tmp_path: Path,
    mode: str,
    frozen: tuple[str, ...],
    trained: tuple[str, ...],
) -> None:
    start = random_adapters(clip, config, tmp_path / "start.pth")
    options = TrainingOptions(mode=mode, epochs=2, batch_size=2, checkpoint_dir=tmp_path / "run", **FAST)
    result = train_retrieval(pairs_file, clip, replace(config, adapter_path=str(start)), options)

    before, after = state_of(start), state_of(result.adapters_path)
    assert not changed(frozen, before, after)
    assert changed(trained, before, after)


def test_sequential_mode_trains_lora_first_then_the_prompts(
    clip: ClipEncoder, pairs_file: Path, config: UnifiedModelConfig, tmp_path: Path
) -> None:
    start = random_adapters(clip, config, tmp_path / "start.pth")
    options = TrainingOptions(
        mode="sequential", epochs=2, batch_size=2, grad_accumulation=2, checkpoint_dir=tmp_path / "run", **FAST
    )
    result = train_retrieval(pairs_file, clip, replace(config, adapter_path=str(start)), options)

    start_state, after_tempme, after_stop = state_of(start), *(state_of(path) for path in result.checkpoints)
    assert changed(LORA, start_state, after_tempme) and not changed(PROMPTS, start_state, after_tempme)
    assert changed(PROMPTS, after_tempme, after_stop) and not changed(LORA, after_tempme, after_stop)
    log = [json.loads(line) for line in result.log_path.read_text().splitlines()]
    assert [(line["phase"], line["lr"], line["steps"]) for line in log] == [
        ("tempme", {"tempme": 1e-2}, 1),
        ("stop", {"stop": 1e-2}, 1),
    ]


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(
    clip: ClipEncoder, pairs_file: Path, config: UnifiedModelConfig, tmp_path: Path
) -> None:
    common = {"mode": "joint", "batch_size": 2, "seed": 3, **FAST}
    whole_options = TrainingOptions(epochs=2, checkpoint_dir=tmp_path / "whole", **common)
    whole = train_retrieval(pairs_file, clip, config, whole_options)
    first = train_retrieval(
        pairs_file, clip, config, TrainingOptions(epochs=1, checkpoint_dir=tmp_path / "split", **common)
    )
    resumed = train_retrieval(
        pairs_file,
        clip,
        config,
        TrainingOptions(epochs=2, checkpoint_dir=tmp_path / "split", resume=first.last_checkpoint, **common),
    )

    assert resumed.resumed_from == 1 and [p.name for p in resumed.checkpoints] == ["checkpoint_epoch_2.pth"]
    assert resumed.history == pytest.approx(whole.history, abs=1e-6)
    expected, actual = state_of(whole.adapters_path), state_of(resumed.adapters_path)
    assert expected.keys() == actual.keys()
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], atol=1e-6, rtol=0)
    assert any(float(value.abs().max()) > 0 for name, value in actual.items() if name.startswith("lora."))
    assert len((tmp_path / "split" / "log.jsonl").read_text().splitlines()) == 2


def test_resume_refuses_a_checkpoint_of_another_mode_or_configuration(
    clip: ClipEncoder, pairs_file: Path, config: UnifiedModelConfig, tmp_path: Path
) -> None:
    first = train_retrieval(
        pairs_file, clip, config, TrainingOptions(mode="joint", epochs=1, batch_size=4, checkpoint_dir=tmp_path, **FAST)
    )
    again = {"epochs": 2, "batch_size": 4, "checkpoint_dir": tmp_path, "resume": first.last_checkpoint}
    with pytest.raises(InvalidRequest, match="mode joint, not stop_only"):
        train_retrieval(pairs_file, clip, config, TrainingOptions(mode="stop_only", **again))
    with pytest.raises(InvalidRequest, match=r"another configuration \(max_frames: 4 -> 6\)"):
        train_retrieval(pairs_file, clip, replace(config, max_frames=6), TrainingOptions(mode="joint", **again))
    with pytest.raises(InvalidRequest, match="already holds 1 epochs"):
        train_retrieval(pairs_file, clip, config, TrainingOptions(mode="joint", **{**again, "epochs": 1}))


def test_train_text_fine_tunes_the_text_tower_only(
    pairs_file: Path, config: UnifiedModelConfig, tmp_path: Path
) -> None:
    settings = Settings(profile="tiny", device="cpu", data_dir=tmp_path / "data")
    own_clip = ModelCache.for_settings(settings).clip()
    assert own_clip is not None
    before = {name: value.clone() for name, value in own_clip.model.state_dict().items()}
    options = TrainingOptions(epochs=2, batch_size=4, train_text=True, text_lr=1e-2, checkpoint_dir=tmp_path, **FAST)
    result = train_retrieval(pairs_file, own_clip, config, options)

    after = own_clip.model.state_dict()
    untouched = [name for name in before if name.startswith("visual.") or name == "logit_scale"]
    assert untouched and all(torch.equal(before[name], after[name]) for name in untouched)
    saved = torch.load(result.adapters_path, map_location="cpu", weights_only=True)["text"]
    assert "token_embedding.weight" in saved and not any(name.startswith("visual.") for name in saved)
    assert all(torch.equal(saved[name], after[name]) for name in saved)
    assert any(not torch.equal(before[name], after[name]) for name in saved)
    fresh = ModelCache.for_settings(Settings(profile="tiny", device="cpu", data_dir=tmp_path / "fresh")).clip()
    assert fresh is not None
    shared_before = fresh.encode_texts(["a cat"])
    tuned = SegmentEncoder.build(fresh, replace(config, adapter_path=str(result.adapters_path)))
    tuned_text = tuned.encode_text(["a cat"])
    np.testing.assert_allclose(fresh.encode_texts(["a cat"]), shared_before, atol=0)  # the shared model is untouched
    assert np.abs(tuned_text - shared_before).max() > 1e-4  # the encoder uses the fine-tuned text tower
    with pytest.raises(InvalidRequest, match="train_text was True, not False"):
        train_retrieval(
            pairs_file,
            own_clip,
            config,
            TrainingOptions(epochs=3, batch_size=4, checkpoint_dir=tmp_path, resume=result.last_checkpoint),
        )


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "not valid JSON"),
        ('["a.mp4", "a caption"]', "expected a JSON object"),
        ('{"caption": "no video here"}', "needs a video path"),
        ('{"video": "a.mp4", "caption": "   "}', "needs a non-empty caption"),
    ],
)
def test_a_bad_pairs_line_is_refused_naming_the_file_and_line(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text('{"video": "a.mp4", "caption": "fine"}\n\n' + line + "\n")
    with pytest.raises(InvalidRequest, match=rf"pairs\.jsonl: line 3: {problem}"):
        read_pairs(path)


def test_unreadable_videos_are_skipped_and_reported(
    clip: ClipEncoder, pairs_file: Path, config: UnifiedModelConfig, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_text("not a video")
    good = [json.loads(line) for line in pairs_file.read_text().splitlines()]
    lines = [{"video_path": str(pairs_file.parent / p["video"]), "text": p["caption"]} for p in good[:3]]
    lines.append({"video_path": "broken.mp4", "text": "a broken file"})
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))

    options = TrainingOptions(epochs=1, batch_size=4, checkpoint_dir=tmp_path / "run", **FAST)
    result = train_retrieval(path, clip, config, options)
    assert (result.pairs, result.videos) == (3, 3)
    assert len(result.skipped) == 1 and result.skipped[0][0] == str(broken)
    assert "broken.mp4" in result.skipped[0][1] and result.adapters_path.is_file()

    path.write_text(json.dumps(lines[0]) + "\n" + json.dumps(lines[3]) + "\n")
    with pytest.raises(InvalidRequest, match="needs at least 2 usable"):
        train_retrieval(path, clip, config, options)


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"mode": "both"}, "mode 'both' is not one of"),
        ({"batch_size": 1}, "batch_size must be >= 2"),
        ({"mode": "sequential", "epochs": 1}, "at least 2 epochs"),
        ({"sequential_split": 1.0}, "sequential_split"),
    ],
)
def test_bad_options_are_refused(overrides: dict[str, object], problem: str) -> None:
    with pytest.raises(InvalidRequest, match=problem):
        TrainingOptions(**overrides)  # type: ignore[arg-type]


def test_train_retrieval_cli_trains_resumes_and_its_adapters_serve_retrieve(pairs_file: Path, tmp_path: Path) -> None:
    from tests.conftest import run_cli

    out, data = tmp_path / "run", str(tmp_path / "data")
    config_path = tmp_path / "config.json"
    UnifiedModelConfig(max_frames=4).to_json(config_path)
    common = ("--profile", "tiny", "--data-dir", data, "--config", str(config_path), "--batch-size", "4",
              "--tempme-lr", "1e-2", "--stop-lr", "1e-2")
    first = run_cli("train-retrieval", str(pairs_file), "--epochs", "2", "--out", str(out), "--json", *common)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["epochs"] == 2 and len(report["history"]) == 2 and report["pairs"] == 4
    resumed = run_cli("train-retrieval", str(pairs_file), "--epochs", "3", "--out", str(out), "--json",
                      "--resume", report["last_checkpoint"], *common)
    assert resumed.returncode == 0, resumed.stderr
    again = json.loads(resumed.stdout)
    assert again["resumed_from"] == 2 and again["history"][:2] == report["history"] and len(again["history"]) == 3
    assert (out / "checkpoint_epoch_3.pth").is_file()
    tuned = tmp_path / "tuned.json"
    UnifiedModelConfig(max_frames=4, adapter_path=again["adapters"]).to_json(tuned)
    video = str(pairs_file.parent / "videos" / "rocket.mp4")
    shown = run_cli("retrieve", video, "a rocket", "--json", "--config", str(tuned), "--profile", "tiny", "--data-dir", data)
    assert shown.returncode == 0, shown.stderr
    assert len(json.loads(shown.stdout)["frames"]) == 5
    bad = run_cli("train-retrieval", str(tmp_path / "missing.jsonl"), *common)
    assert bad.returncode == 2 and "missing.jsonl" in bad.stderr and "Traceback" not in bad.stderr
