"""A tiny LLaVA-OneVision (SigLIP + Qwen2) built locally with seeded random weights, for tests only.

It has the real architecture, processor and ChatML template of llava-hf/llava-onevision-*, so the
same loading code, batching and servers (`transformers serve`) run on it; its words mean nothing.
The build is saved as an ordinary model directory, loadable with `AutoProcessor` and
`AutoModelForImageTextToText` offline, and cached by version under the data dir.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TINY_LLAVA_VERSION = 1
SEED = 0
IMAGE_SIZE = 64
PATCH_SIZE = 16
WIDTH = 64
LAYERS = 2
HEADS = 2
VOCAB = 512
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>")
CORPUS = (
    "a person walks across the room and sits down at a table.",
    "two people talk in front of a window while a car passes outside.",
    "the camera pans over a harbour with boats and a lighthouse.",
    "a woman in a red coat opens the door and waves at a man.",
    "the speaker stands at a podium and points to a chart on the screen.",
    "a cat jumps onto the sofa and looks at the camera.",
    "describe what happens in these frames. what is said? who is on screen?",
)
"""Caption- and question-like text the byte-level BPE tokenizer is trained on."""

CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}"
    "{% for part in message['content'] %}{% if part['type'] in ['image', 'image_url'] %}<image>\n{% endif %}{% endfor %}"
    "{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}"
    "{% endif %}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
"""LLaVA-OneVision's ChatML layout: a message's images first (one `<image>` line each), then its text."""


def _tokenizer() -> Any:
    """A byte-level BPE trained on CORPUS, with ChatML and image/video special tokens."""
    from transformers import PreTrainedTokenizerFast

    from models.adapters.tiny_tokenizer import train_byte_level_bpe

    tokenizer = train_byte_level_bpe(CORPUS, VOCAB, SPECIAL_TOKENS)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        extra_special_tokens={"image_token": "<image>", "video_token": "<video>"},
        padding_side="left",
    )


def _pinpoints() -> list[list[int]]:
    """The anyres grid of the real model (multiples of its 384 px tile), scaled to the tiny tile."""
    return [[IMAGE_SIZE * h, IMAGE_SIZE * w] for h in (1, 2) for w in (1, 2)]


def _processor(tokenizer: Any) -> Any:
    """LlavaOnevisionProcessor at the tiny tile size (image, video processors and chat template)."""
    from transformers import (
        LlavaOnevisionImageProcessor,
        LlavaOnevisionProcessor,
        LlavaOnevisionVideoProcessor,
    )

    size = {"height": IMAGE_SIZE, "width": IMAGE_SIZE}
    return LlavaOnevisionProcessor(
        image_processor=LlavaOnevisionImageProcessor(size=size, image_grid_pinpoints=_pinpoints()),
        video_processor=LlavaOnevisionVideoProcessor(size=size),
        tokenizer=tokenizer,
        num_image_tokens=(IMAGE_SIZE // PATCH_SIZE) ** 2,
        vision_feature_select_strategy="full",
        chat_template=CHAT_TEMPLATE,
    )


def _model(tokenizer: Any) -> Any:
    """LlavaOnevisionForConditionalGeneration with tiny SigLIP and Qwen2 towers, seeded random weights."""
    import torch
    from transformers import (
        LlavaOnevisionConfig,
        LlavaOnevisionForConditionalGeneration,
        Qwen2Config,
        SiglipVisionConfig,
    )

    vision = SiglipVisionConfig(
        hidden_size=WIDTH, intermediate_size=WIDTH * 2, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
        image_size=IMAGE_SIZE, patch_size=PATCH_SIZE, vision_use_head=False,
    )  # fmt: skip
    text = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=WIDTH, intermediate_size=WIDTH * 2, num_hidden_layers=LAYERS,
        num_attention_heads=HEADS, num_key_value_heads=HEADS, max_position_embeddings=2048,
        bos_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    config = LlavaOnevisionConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        video_token_index=tokenizer.convert_tokens_to_ids("<video>"),
        vision_feature_select_strategy="full",
        vision_feature_layer=-1,
        image_grid_pinpoints=_pinpoints(),
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        model = LlavaOnevisionForConditionalGeneration(config).eval()
    generation = model.generation_config
    generation.eos_token_id = tokenizer.eos_token_id
    generation.pad_token_id = tokenizer.pad_token_id
    generation.do_sample = False
    return model


def tiny_llava_dir(root: Path) -> Path:
    """Where the tiny model of this version lives under `root` (e.g. the data dir's `weights/`)."""
    return Path(root) / f"tiny-llava-onevision-v{TINY_LLAVA_VERSION}"


def build_tiny_llava(root: Path) -> Path:
    """Build and save the tiny model under `root` once (atomic rename); return its directory."""
    import os
    import shutil
    import tempfile

    target = tiny_llava_dir(root)
    if (target / "vidsage-tiny.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tiny-llava-", dir=target.parent))
    try:
        tokenizer = _tokenizer()
        _processor(tokenizer).save_pretrained(staging)
        _model(tokenizer).save_pretrained(staging)
        (staging / "vidsage-tiny.json").write_text(json.dumps({"version": TINY_LLAVA_VERSION, "seed": SEED}))
        try:
            os.replace(staging, target)
        except OSError:  # another process finished first: keep its copy
            if not (target / "vidsage-tiny.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
