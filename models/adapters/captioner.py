"""Video captioning with SpaceTimeGPT (TimeSformer encoder + GPT-2 decoder), batched over clips.

One factory, `load_captioner(spec, settings)`, for every profile: `real` is
Neleac/timesformer-gpt2-video-captioning with the MCG-NJU/videomae-base image processor and the
GPT-2 tokenizer, `tiny` a small VisionEncoderDecoder with seeded random weights and a byte-level
BPE tokenizer trained here (tests only; never downloads). Each clip is 8 frames; captions come
from beam search with 8 beams and 30-60 new tokens, as SpaceTimeGPT was evaluated.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import InvalidRequest, ModelUnavailable, VideoUnreadable
from core.settings import Settings
from core.types import VideoRef
from models.adapters.video import iter_frames
from models.registry import CAPTIONER_PROCESSOR, CAPTIONER_TOKENIZER, REAL_CAPTIONER, ModelSpec, resolve

REAL_REPO = REAL_CAPTIONER
PROCESSOR_REPO = CAPTIONER_PROCESSOR
TOKENIZER_REPO = CAPTIONER_TOKENIZER
FRAMES_PER_CLIP = 8
NUM_BEAMS = 8
MIN_NEW_TOKENS = 30
MAX_NEW_TOKENS = 60
DECODE_BATCH = 64
"""Frames decoded per batch by `caption_segments`."""

VIDEOMAE_MEAN = (0.485, 0.456, 0.406)
VIDEOMAE_STD = (0.229, 0.224, 0.225)
TINY_SEED = 0
TINY_IMAGE_SIZE = 32
TINY_WIDTH = 32
TINY_LAYERS = 2
TINY_HEADS = 2
TINY_VOCAB = 320
TINY_CORPUS = (
    "a man is walking a dog along a path in the park.",
    "a woman is cooking food in a small kitchen.",
    "two people are talking to each other in a room.",
    "a person is riding a bicycle down the street.",
    "a group of children are playing soccer on a field.",
    "a man is playing the guitar on a stage in front of people.",
    "a car is driving on a road between tall trees.",
    "someone is opening a door and walking into the house.",
)
"""Caption-like sentences the tiny byte-level BPE tokenizer is trained on."""

def captioner_spec(settings: Settings) -> ModelSpec | None:
    """The captioner the registry picks for these settings (None: captioning disabled)."""
    return resolve("captioner", settings).spec


@dataclass
class Captioner:
    """A loaded video captioner: `caption_clips` for decoded clips, `caption_segments` for spans of a video."""

    model: Any
    processor: Any
    tokenizer: Any
    device: str
    dtype: Any
    spec: ModelSpec
    batch_size: int
    num_frames: int = FRAMES_PER_CLIP
    num_beams: int = NUM_BEAMS
    min_new_tokens: int = MIN_NEW_TOKENS
    max_new_tokens: int = MAX_NEW_TOKENS

    def _check_clips(self, clips: np.ndarray) -> None:
        """Reject anything but (B, num_frames, H, W, 3) uint8, so a wrong layout fails loudly."""
        if clips.ndim != 5 or clips.shape[1] != self.num_frames or clips.shape[-1] != 3 or clips.dtype != np.uint8:
            raise InvalidRequest(
                f"captioner: clips must be (B, {self.num_frames}, H, W, 3) uint8 RGB, "
                f"got {tuple(clips.shape)} {clips.dtype}"
            )

    def pixel_values(self, clips: np.ndarray) -> Any:
        """Resize, crop and normalise a batch of clips on the device -> (B, T, 3, S, S) in the model dtype."""
        import torch

        batch = torch.from_numpy(np.ascontiguousarray(clips)).to(self.device, non_blocking=True)
        videos = list(batch.permute(0, 1, 4, 2, 3))
        pixels = self.processor(videos, return_tensors="pt")["pixel_values"]
        return pixels.to(device=self.device, dtype=self.dtype)

    def generate_ids(self, clips: np.ndarray) -> Any:
        """Beam-search token ids for one batch of clips (decoder start token first)."""
        import torch

        self._check_clips(clips)
        with torch.inference_mode():
            return self.model.generate(
                pixel_values=self.pixel_values(clips),
                num_beams=self.num_beams,
                min_new_tokens=self.min_new_tokens,
                max_new_tokens=self.max_new_tokens,
            )

    def caption_clips(self, clips: np.ndarray) -> list[str]:
        """Caption (B, 8, H, W, 3) uint8 RGB clips, `batch_size` clips per generate call."""
        self._check_clips(clips)
        captions: list[str] = []
        for start in range(0, len(clips), self.batch_size):
            ids = self.generate_ids(clips[start : start + self.batch_size])
            texts = self.tokenizer.batch_decode(ids.cpu(), skip_special_tokens=True)
            captions.extend(text.strip() for text in texts)
        return captions

    def caption_segments(
        self, ref: VideoRef, bounds: Sequence[tuple[float, float]], batch_size: int | None = None
    ) -> list[str]:
        """One caption per (t0, t1) segment from 8 evenly spaced frames, decoding the video once in time order."""
        size = batch_size or self.batch_size
        captions: list[str] = [""] * len(bounds)
        pending: list[tuple[int, np.ndarray]] = []
        for index, clip in segment_clips(ref, bounds, self.num_frames):
            pending.append((index, clip))
            if len(pending) == size:
                self._flush(pending, captions)
        if pending:
            self._flush(pending, captions)
        return captions

    def _flush(self, pending: list[tuple[int, np.ndarray]], captions: list[str]) -> None:
        """Caption the pending clips in one batch, store each at its segment index, and empty the list."""
        indices = [index for index, _ in pending]
        texts = self.caption_clips(np.stack([clip for _, clip in pending]))
        for index, text in zip(indices, texts):
            captions[index] = text
        pending.clear()


def clip_times(t0: float, t1: float, count: int = FRAMES_PER_CLIP) -> np.ndarray:
    """`count` timestamps evenly inside [t0, t1): the centres of equal sub-intervals."""
    span = max(float(t1) - float(t0), 0.0)
    return float(t0) + (np.arange(count, dtype=np.float64) + 0.5) * span / count


def segment_clips(
    ref: VideoRef, bounds: Sequence[tuple[float, float]], count: int = FRAMES_PER_CLIP
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (segment index, (count, H, W, 3) clip) as soon as each segment's frames are decoded."""
    if not bounds:
        return
    times = np.stack([clip_times(t0, t1, count) for t0, t1 in bounds])
    flat = np.clip(times.ravel(), 0.0, max(ref.duration, 0.0))
    order = np.argsort(flat, kind="stable")
    remaining = np.full(len(bounds), count)
    buffers: dict[int, np.ndarray] = {}
    position = 0
    for _, frames in iter_frames(ref, flat[order], batch_size=DECODE_BATCH):
        for frame in frames:
            segment, slot = divmod(int(order[position]), count)
            position += 1
            buffer = buffers.setdefault(segment, np.empty((count, *frame.shape), dtype=np.uint8))
            buffer[slot] = frame
            remaining[segment] -= 1
            if remaining[segment] == 0:
                yield segment, buffers.pop(segment)
    if position != len(flat):
        raise VideoUnreadable(f"{ref.path}: only {position} of {len(flat)} caption frames could be decoded")


def tiny_tokenizer() -> Any:
    """A byte-level BPE tokenizer trained on TINY_CORPUS, wrapped with GPT-2-style special tokens."""
    from transformers import PreTrainedTokenizerFast

    from models.adapters.tiny_tokenizer import train_byte_level_bpe

    tokenizer = train_byte_level_bpe(TINY_CORPUS, TINY_VOCAB, ["<|endoftext|>", "<pad>"])
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token="<|endoftext|>", eos_token="<|endoftext|>", pad_token="<pad>"
    )


def _tiny_processor() -> Any:
    """VideoMAE preprocessing at the tiny image size, built from its constructor (no hub files)."""
    from transformers import VideoMAEImageProcessor

    return VideoMAEImageProcessor(
        size={"shortest_edge": TINY_IMAGE_SIZE},
        crop_size={"height": TINY_IMAGE_SIZE, "width": TINY_IMAGE_SIZE},
        image_mean=list(VIDEOMAE_MEAN),
        image_std=list(VIDEOMAE_STD),
    )


def build_vision_encoder_decoder(encoder: Any, decoder: Any, tokenizer: Any, seed: int) -> Any:
    """A randomly initialised (seeded) VisionEncoderDecoder with its generation token ids set."""
    import torch
    from transformers import VisionEncoderDecoderConfig, VisionEncoderDecoderModel

    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    config.decoder_start_token_id = tokenizer.bos_token_id
    config.pad_token_id = tokenizer.pad_token_id
    config.eos_token_id = tokenizer.eos_token_id
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = VisionEncoderDecoderModel(config=config)
    generation = model.generation_config
    generation.decoder_start_token_id = tokenizer.bos_token_id
    generation.bos_token_id = tokenizer.bos_token_id
    generation.pad_token_id = tokenizer.pad_token_id
    generation.eos_token_id = tokenizer.eos_token_id
    return model


def _tiny_model(tokenizer: Any) -> Any:
    """Small TimeSformer (8 frames) + 2-layer GPT-2 with cross-attention, seeded random weights."""
    from transformers import GPT2Config, TimesformerConfig

    encoder = TimesformerConfig(
        image_size=TINY_IMAGE_SIZE,
        patch_size=16,
        num_frames=FRAMES_PER_CLIP,
        hidden_size=TINY_WIDTH,
        num_hidden_layers=TINY_LAYERS,
        num_attention_heads=TINY_HEADS,
        intermediate_size=TINY_WIDTH * 2,
    )
    decoder = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=128,
        n_embd=TINY_WIDTH,
        n_layer=TINY_LAYERS,
        n_head=TINY_HEADS,
        add_cross_attention=True,
        is_decoder=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return build_vision_encoder_decoder(encoder, decoder, tokenizer, TINY_SEED)


def _load_tokenizer(location: str, local_only: bool) -> Any:
    """The tokenizer shipped with the model when there is one, else the GPT-2 tokenizer it was trained with."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(location, local_files_only=local_only)
    except (OSError, ValueError):
        return AutoTokenizer.from_pretrained(TOKENIZER_REPO, local_files_only=local_only)


def _load_processor(location: str, local_only: bool) -> Any:
    """The model's own VideoMAE preprocessing config when it has one, else that of videomae-base."""
    from transformers import VideoMAEImageProcessor

    if (Path(location) / "preprocessor_config.json").is_file():
        return VideoMAEImageProcessor.from_pretrained(location, local_files_only=True)
    return VideoMAEImageProcessor.from_pretrained(PROCESSOR_REPO, local_files_only=local_only)


def _load_pretrained(spec: ModelSpec, dtype: Any) -> tuple[Any, Any, Any]:
    """Model, processor and tokenizer of a hub id or local directory; only `real` specs may download."""
    from transformers import VisionEncoderDecoderModel

    local_only = spec.source != "real"
    model = VisionEncoderDecoderModel.from_pretrained(spec.location, local_files_only=local_only, dtype=dtype)
    tokenizer = _load_tokenizer(spec.location, local_only)
    processor = _load_processor(spec.location, local_only)
    if model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.eos_token_id
    return model, processor, tokenizer


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def load_captioner(spec: ModelSpec, settings: Settings) -> Captioner:
    """Build the captioner of a spec on the chosen device; raises ModelUnavailable with a one-line reason."""
    from models.device import inference_dtype, pick_device

    device = pick_device(settings)
    dtype = inference_dtype(device)
    try:
        if spec.source == "tiny":
            tokenizer = tiny_tokenizer()
            model, processor = _tiny_model(tokenizer), _tiny_processor()
        else:
            model, processor, tokenizer = _load_pretrained(spec, dtype)
    except Exception as error:  # transformers raises OSError/ValueError/EnvironmentError/HF hub errors
        raise ModelUnavailable(f"captioner {spec.location}: cannot be loaded ({_first_line(error)})") from error
    model = model.to(device=device, dtype=dtype).eval()
    num_frames = int(getattr(model.config.encoder, "num_frames", FRAMES_PER_CLIP))
    return Captioner(model, processor, tokenizer, device, dtype, spec, settings.batch_size, num_frames)
