"""In-process VLM on vLLM's offline engine (`vllm.LLM`), used on a GPU when vLLM is importable.

`LLM.chat` takes whole lists of OpenAI-format conversations and batches them itself (continuous
batching, paged attention), so captions go in as one call. The engine is built with the same
limits as `main.py serve-vlm` (images per prompt, context length).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import ModelUnavailable
from core.settings import Settings
from core.usage import record
from models.registry import ModelSpec
from models.vlm.client import Messages, chat_messages

DEFAULT_MAX_TOKENS = 256


def vllm_available() -> bool:
    """Whether `vllm` can be imported here (it needs a CUDA machine and its own wheel)."""
    return importlib.util.find_spec("vllm") is not None


def vllm_engine_args(model: str, limit_images: int = 16, max_model_len: int = 32768, seed: int = 0) -> dict[str, Any]:
    """Keyword arguments of `vllm.LLM(...)`, matching the flags `vllm_command` gives `vllm serve`."""
    return {
        "model": model,
        "limit_mm_per_prompt": {"image": limit_images},
        "max_model_len": max_model_len,
        "dtype": "auto",
        "seed": seed,
    }


def vllm_sampling_args(params: dict[str, Any]) -> dict[str, Any]:
    """`SamplingParams` keywords from OpenAI-style request parameters (greedy by default)."""
    return {
        "temperature": float(params.get("temperature", 0.0) or 0.0),
        "max_tokens": int(params.get("max_tokens", DEFAULT_MAX_TOKENS)),
        **({"top_p": float(params["top_p"])} if "top_p" in params else {}),
    }


@dataclass
class VllmVLM:
    """A vLLM engine in this process; requests are OpenAI chat messages with base64 JPEG image parts."""

    llm: Any
    spec: ModelSpec
    image_max_side: int = 384

    @property
    def description(self) -> str:
        return f"{self.spec.description} (in-process, vLLM)"

    def complete(self, messages: Messages, images: Sequence[np.ndarray] = (), **params: Any) -> str:
        return self.caption_batch([(messages, images)], **params)[0]

    def caption_batch(self, items: Sequence[tuple[Messages, Sequence[np.ndarray]]], **params: Any) -> list[str]:
        """All requests in one `LLM.chat` call, which batches them on the GPU; answers in the order given."""
        if not items:
            return []
        from vllm import SamplingParams

        conversations = [chat_messages(messages, images, self.image_max_side) for messages, images in items]
        outputs = self.llm.chat(conversations, SamplingParams(**vllm_sampling_args(params)), use_tqdm=False)
        for (_, images), output in zip(items, outputs):
            record(images=len(images), prompt_tokens=len(output.prompt_token_ids or ()),
                   completion_tokens=len(output.outputs[0].token_ids or ()))  # fmt: skip
        return [output.outputs[0].text.strip() for output in outputs]


def load_vllm_vlm(spec: ModelSpec, settings: Settings, location: str) -> VllmVLM:
    """Start a vLLM engine for `location` (hub id or local dir); ModelUnavailable with one line on failure."""
    try:
        from vllm import LLM

        llm = LLM(**vllm_engine_args(location, settings.vlm_images_per_prompt, settings.vlm_max_model_len))
    except Exception as error:  # vLLM raises many kinds (CUDA, config, download)
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelUnavailable(f"VLM {location}: vLLM could not start it ({first})") from error
    return VllmVLM(llm, spec, settings.vlm_image_side)
