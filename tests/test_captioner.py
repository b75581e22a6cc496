"""The video captioner: tiny build offline, batched captions, token limits, segments, spec choice, bad models."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.errors import ModelUnavailable
from core.settings import Settings
from evaluation.sample_video import make_sample_video
from models import registry
from models.adapters.captioner import Captioner, captioner_spec, clip_times, load_captioner
from models.adapters.video import iter_frames, probe
from models.registry import ModelSpec

LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def _clips(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, 8, 48, 64, 3), dtype=np.uint8)


def _tiny(tmp_path: Path) -> Captioner:
    settings = Settings(profile="tiny", device="cpu", data_dir=tmp_path / "data")
    spec = captioner_spec(settings)
    assert spec is not None and spec.source == "tiny"
    return load_captioner(spec, settings)


@pytest.fixture()
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail every connection and name lookup that is not to the loopback interface."""
    real_connect, real_lookup = socket.create_connection, socket.getaddrinfo

    def connect(address: Any, *args: Any, **kwargs: Any) -> Any:
        if address[0] not in LOOPBACK:
            raise OSError(f"network disabled in tests: {address[0]}")
        return real_connect(address, *args, **kwargs)

    def lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in LOOPBACK and host is not None:
            raise OSError(f"network disabled in tests: {host}")
        return real_lookup(host, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", connect)
    monkeypatch.setattr(socket, "getaddrinfo", lookup)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Captioner:
    return _tiny(tmp_path_factory.mktemp("captioner"))


def _force_eos(captioner: Captioner) -> None:
    """Make the decoder always prefer EOS, so only min_new_tokens can hold it back."""
    import torch

    decoder = captioner.model.decoder
    with torch.no_grad():
        decoder.transformer.ln_f.weight.zero_()
        decoder.transformer.ln_f.bias.fill_(1.0)
        decoder.lm_head.weight[captioner.tokenizer.eos_token_id] = 100.0


def _new_tokens(ids: Any, pad: int) -> list[int]:
    """Tokens generated per row after the decoder start token, padding excluded."""
    return [int((row[1:] != pad).sum()) for row in ids]


def test_tiny_loads_offline_and_captions_a_batch(no_network: None, tmp_path: Path) -> None:
    captioner = _tiny(tmp_path)
    captions = captioner.caption_clips(_clips(3))
    assert len(captions) == 3 and all(isinstance(text, str) for text in captions)
    assert captioner.num_beams == 8 and (captioner.min_new_tokens, captioner.max_new_tokens) == (30, 60)


def test_tiny_captions_are_deterministic(tiny: Captioner, tmp_path: Path) -> None:
    clips = _clips(3, seed=1)
    assert _tiny(tmp_path).caption_clips(clips) == tiny.caption_clips(clips)


def test_batching_does_not_change_captions(tiny: Captioner) -> None:
    clips = _clips(3, seed=2)
    together = tiny.caption_clips(clips)
    tiny.batch_size, saved = 1, tiny.batch_size
    try:
        assert tiny.caption_clips(clips) == together
    finally:
        tiny.batch_size = saved


def test_generation_honours_max_new_tokens(tiny: Captioner) -> None:
    tiny.min_new_tokens, tiny.max_new_tokens = 3, 5
    try:
        ids = tiny.generate_ids(_clips(2))
    finally:
        tiny.min_new_tokens, tiny.max_new_tokens = 30, 60
    assert ids.shape[1] <= 1 + 5
    assert all(3 <= count <= 5 for count in _new_tokens(ids, tiny.tokenizer.pad_token_id))


def test_generation_honours_min_new_tokens(tmp_path: Path) -> None:
    captioner = _tiny(tmp_path)
    _force_eos(captioner)
    eos, pad = captioner.tokenizer.eos_token_id, captioner.tokenizer.pad_token_id
    captioner.min_new_tokens, captioner.max_new_tokens = 0, 10
    assert all(row[1] == eos for row in captioner.generate_ids(_clips(2)).tolist())
    captioner.min_new_tokens = 6
    ids = captioner.generate_ids(_clips(2))
    assert _new_tokens(ids, pad) == [7, 7]  # six held-back tokens, then the EOS it wanted all along
    assert all(eos not in row[1:7] and row[7] == eos for row in ids.tolist())


def test_caption_segments_one_per_segment_in_order(tiny: Captioner, tmp_path: Path) -> None:
    video = make_sample_video(tmp_path / "clip.mp4", with_audio=False, size=(160, 96))
    ref = probe(video.path)
    bounds = [(20.0, 24.0), (0.0, 4.0), (2.0, 6.0)]
    tiny.min_new_tokens, tiny.max_new_tokens = 4, 8
    try:
        captions = tiny.caption_segments(ref, bounds, batch_size=2)
        expected = []
        for t0, t1 in bounds:
            frames = np.concatenate([batch for _, batch in iter_frames(ref, clip_times(t0, t1))])
            expected.extend(tiny.caption_clips(frames[None]))
    finally:
        tiny.min_new_tokens, tiny.max_new_tokens = 30, 60
    assert len(captions) == len(bounds) and all(isinstance(text, str) for text in captions)
    assert captions == expected
    assert tiny.caption_segments(ref, []) == []


def test_spec_choice_per_profile(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(registry, "real_captioner_cached", lambda: False)
    assert captioner_spec(Settings(profile="offline", data_dir=tmp_path)) is None
    assert captioner_spec(Settings(profile="auto", data_dir=tmp_path)) is None
    real = captioner_spec(Settings(profile="real", data_dir=tmp_path))
    assert real is not None and real.source == "real"
    assert real.location == "Neleac/timesformer-gpt2-video-captioning"
    monkeypatch.setattr(registry, "real_captioner_cached", lambda: True)
    assert captioner_spec(Settings(profile="auto", data_dir=tmp_path)) == real
    assert captioner_spec(Settings(profile="offline", data_dir=tmp_path)) is None


def test_auto_with_an_empty_hub_cache_is_disabled(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    assert captioner_spec(Settings(profile="auto", data_dir=tmp_path)) is None


@pytest.mark.parametrize("corrupt", [False, True])
def test_missing_or_corrupt_model_dir_is_one_line(no_network: None, tmp_path: Path, corrupt: bool) -> None:
    folder = tmp_path / "model"
    if corrupt:
        folder.mkdir()
        (folder / "config.json").write_text("{not json")
        (folder / "model.safetensors").write_bytes(b"\x00garbage")
    spec = ModelSpec("captioner", "override", str(folder), "local captioner")  # type: ignore[arg-type]
    settings = Settings(profile="offline", device="cpu", data_dir=tmp_path / "data")
    with pytest.raises(ModelUnavailable) as caught:
        load_captioner(spec, settings)
    message = str(caught.value)
    assert "\n" not in message and str(folder) in message
