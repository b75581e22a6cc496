"""The TempMe-STOP segment encoder: exact without merging, the token schedule it promises, close when merging."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from core.errors import InvalidRequest
from core.settings import Settings
from evaluation.photo_scenes import PhotoVideo, make_photo_video
from models.adapters.clip import ClipEncoder
from models.adapters.video import iter_frames, probe
from models.cache import ModelCache
from models.retrieval.adapters import RetrievalAdapters
from models.retrieval.config import TempMeConfig, UnifiedModelConfig
from models.retrieval.segment_encoder import SegmentEncoder

SEED_CONFIG = {
    "tempme": {"base_encoder": "ViT-B/32", "lora_dim": 8, "merge_frame_num": "2-2-2", "merge_layer": [6, 8, 10],
               "merge_token_proportion": [0.3, 0.7]},
    "stop": {"cross_model": "cross-base", "sim_header": "meanP", "temporal_prompt": "group2-2",
             "pretrained_clip_name": "ViT-B/32"},
    "max_frames": 12, "num_segments": 32, "video_size": 224, "top_k": 5,
}


@pytest.fixture(scope="module")
def clip() -> ClipEncoder:
    encoder = ModelCache.for_settings(Settings(profile="tiny")).clip()
    assert encoder is not None
    return encoder


@pytest.fixture(scope="module")
def photo_video(tmp_path_factory: pytest.TempPathFactory) -> PhotoVideo:
    return make_photo_video(tmp_path_factory.mktemp("photos") / "photos.mp4", seconds_each=2.4)


@pytest.fixture(scope="module")
def segments(photo_video: PhotoVideo) -> np.ndarray:
    """Two segments of 12 consecutive decoded frames each (two different photos)."""
    ref = probe(photo_video.path)
    times = np.concatenate([np.arange(12) * 0.1 + 0.3, np.arange(12) * 0.1 + 5.1])
    frames = np.concatenate([batch for _, batch in iter_frames(ref, times)])
    return frames.reshape(2, 12, *frames.shape[1:])


def encoder_for(clip: ClipEncoder, **tempme: object) -> SegmentEncoder:
    return SegmentEncoder(clip, UnifiedModelConfig(tempme=TempMeConfig(**tempme)))  # type: ignore[arg-type]


def test_without_merging_frames_equal_open_clip_encode_image(clip: ClipEncoder, segments: np.ndarray) -> None:
    encoder = encoder_for(clip, enabled=False)
    out = encoder.encode(segments)
    reference = clip.encode_images(segments.reshape(-1, *segments.shape[2:])).reshape(out.frames.shape)
    assert np.abs(out.frames - reference).max() < 1e-4
    mean = reference.mean(axis=1)
    np.testing.assert_allclose(out.segments, mean / np.linalg.norm(mean, axis=1, keepdims=True), atol=1e-5)
    assert not out.plan.merging


def test_token_counts_follow_the_merge_schedule(clip: ClipEncoder, segments: np.ndarray) -> None:
    """Tiny ViT: 4 blocks, 64 patches; auto merge layers 2, 3, 3 with '2-2-2' and proportions 0.3/0.7."""
    encoder = encoder_for(clip)
    seen: dict[int, tuple[int, int]] = {}

    def record(layer: int):  # noqa: ANN202 - a forward pre-hook that only looks
        def hook(_module: object, args: tuple) -> None:
            seen.setdefault(layer, tuple(args[0].shape[:2]))

        return hook

    hooks = [
        block.ln_1.register_forward_pre_hook(record(i))
        for i, block in enumerate(clip.model.visual.transformer.resblocks)
    ]
    try:
        out = encoder.encode(segments)
    finally:
        for hook in hooks:
            hook.remove()
    assert encoder.merge_layers == (2, 3, 3)
    # (clips per segment, class tokens per clip, patch tokens per clip) entering each block
    expected = {0: (12, 1, 64), 1: (12, 1, 45), 2: (6, 2, 27), 3: (2, 8, 10)}
    for layer, (clips, classes, patches) in expected.items():
        entry = out.plan.tokens_at(layer)
        assert (entry.clips, entry.class_tokens, entry.patch_tokens) == (clips, classes, patches)
        assert seen[layer] == (2 * clips, classes + patches)  # the tensors really had that shape
    unmerged = 12 * 65 * 4
    assert out.plan.token_layers() < 0.6 * unmerged
    assert out.frames.shape == (2, 12, clip.dim) and out.segments.shape == (2, clip.dim)


def test_merged_embedding_stays_close_to_unmerged(clip: ClipEncoder, segments: np.ndarray) -> None:
    merged = encoder_for(clip).encode(segments)
    plain = encoder_for(clip, enabled=False).encode(segments)
    segment_cosine = (merged.segments * plain.segments).sum(axis=1)
    frame_cosine = (merged.frames * plain.frames).sum(axis=2)
    print(f"tiny CLIP: merged vs unmerged cosine, segments {segment_cosine.round(4)}, frames min {frame_cosine.min():.4f}")
    assert segment_cosine.min() > 0.97
    assert frame_cosine.min() > 0.95
    # merging must not blur the two different photos into one: each stays nearest its own unmerged self
    cross = merged.segments @ plain.segments.T
    assert np.argmax(cross, axis=1).tolist() == [0, 1]


def test_segments_in_one_batch_are_encoded_independently(clip: ClipEncoder, segments: np.ndarray) -> None:
    encoder = encoder_for(clip)
    together = encoder.encode(segments)
    alone = [encoder.encode(segments[i : i + 1]) for i in range(2)]
    for i, single in enumerate(alone):
        np.testing.assert_allclose(together.segments[i], single.segments[0], atol=1e-5)
        np.testing.assert_allclose(together.frames[i], single.frames[0], atol=1e-5)


def test_frame_counts_that_do_not_divide_are_padded_invisibly(clip: ClipEncoder, segments: np.ndarray) -> None:
    """10 frames with '2-2-2': 10 -> 5 -> 3 (one padding clip) -> 2; padding must not leak into outputs."""
    frames = segments[:, :10]
    out = encoder_for(clip).encode(frames)
    plain = encoder_for(clip, enabled=False).encode(frames)
    assert out.frames.shape == (2, 10, clip.dim)
    assert np.isfinite(out.frames).all()
    assert [entry.clips for entry in out.plan.trace] == [10, 10, 5, 2]
    assert (out.segments * plain.segments).sum(axis=1).min() > 0.97


def test_explicit_seed_style_schedule(clip: ClipEncoder, segments: np.ndarray) -> None:
    """merge_layer [1, 2, 3] with '2-2-3': 12 frames become 6, 3 and finally one clip of 12 class tokens."""
    out = encoder_for(clip, merge_layer=(1, 2, 3), merge_frame_num="2-2-3").encode(segments)
    assert [(e.clips, e.class_tokens) for e in out.plan.trace] == [(12, 1), (6, 2), (3, 4), (1, 12)]
    assert out.plan.intra == ()  # no layer before the first merge to merge inside frames


def test_untrained_adapters_change_nothing(clip: ClipEncoder, segments: np.ndarray) -> None:
    config = UnifiedModelConfig(tempme=TempMeConfig())
    bare = SegmentEncoder(clip, config)
    adapted = SegmentEncoder(clip, config)
    adapted.attach(RetrievalAdapters(config, adapted.depth, adapted.width))
    np.testing.assert_allclose(adapted.encode(segments).frames, bare.encode(segments).frames, atol=1e-6)


def test_seed_config_loads_round_trips_and_is_checked_against_the_model(clip: ClipEncoder, tmp_path: Path) -> None:
    path = tmp_path / "unified_model_config.json"
    path.write_text(json.dumps(SEED_CONFIG))
    config = UnifiedModelConfig.from_json(path)
    assert config.tempme.merge_layer == (6, 8, 10) and config.tempme.joins == (2, 2, 2)
    assert config.merge_layers_for(12) == (6, 8, 10)
    saved = tmp_path / "saved.json"
    replace(config, top_k=8).to_json(saved)
    assert UnifiedModelConfig.from_json(saved) == replace(config, top_k=8)
    with pytest.raises(InvalidRequest, match="beyond the vision model's 4 layers"):
        SegmentEncoder(clip, config)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"max_frames": 0}, "max_frames must be >= 1"),
        ({"max_frames": "twelve"}, "max_frames should be int"),
        ({"stop": {"sim_header": "seqTransf"}}, "sim_header 'seqTransf' is not supported"),
        ({"tempme": {"merge_frame_num": "2-2", "merge_layer": [6, 8, 10]}}, "has 3 layers but merge_frame_num"),
        ({"tempme": {"merge_token_proportion": [0.3, 1.5]}}, "two fractions"),
        ({"colour": "red"}, "unknown setting"),
    ],
)
def test_bad_configs_are_refused_naming_the_file(tmp_path: Path, change: dict, message: str) -> None:
    data = json.loads(json.dumps(SEED_CONFIG))
    for key, value in change.items():
        if isinstance(value, dict):
            data[key].update(value)
        else:
            data[key] = value
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InvalidRequest, match=message) as error:
        UnifiedModelConfig.from_json(path)
    assert str(path) in str(error.value)
