"""In-process VLM backends: transformers `AutoModelForImageTextToText` (LLaVA-OneVision family), batched.

Used when no VLM server is configured. Requests have the same shape as the server client's
(OpenAI chat messages, images attached to the last message), so ingest and the agent do not care
which backend answers. Generation is greedy and batched: captions are sorted by size so a batch
pads little, run `batch_size` at a time under `torch.inference_mode`, in bf16/fp16 on a GPU.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import InvalidRequest, ModelUnavailable
from core.settings import Settings
from core.usage import record
from models.registry import ModelSpec
from models.vlm.client import Messages, fit_image

DEFAULT_MAX_NEW_TOKENS = 256
GPU_BATCH = 64
CPU_BATCH = 16


def hf_conversation(messages: Messages, image_count: int) -> list[dict[str, Any]]:
    """Chat messages in transformers' template format, `image_count` image parts added to the last message."""
    chat = [{"role": "user", "content": messages}] if isinstance(messages, str) else [dict(m) for m in messages]
    if not chat:
        raise InvalidRequest("a VLM request needs at least one message")
    converted: list[dict[str, Any]] = []
    for position, message in enumerate(chat):
        content = message.get("content") or ""
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else []
        if not isinstance(content, str):
            for part in content:
                if part.get("type") == "text":
                    parts.append({"type": "text", "text": part.get("text", "")})
                elif part.get("type") in ("image", "image_url"):
                    raise InvalidRequest("in-process VLM: pass images as arrays, not as message parts")
        if position == len(chat) - 1:
            parts = [{"type": "image"} for _ in range(image_count)] + parts
        converted.append({"role": message.get("role", "user"), "content": parts})
    return converted


@dataclass
class TransformersVLM:
    """A LLaVA-family model loaded with transformers, answering chat requests with images in batches."""

    model: Any
    processor: Any
    device: str
    dtype: Any
    spec: ModelSpec
    batch_size: int = 16
    image_max_side: int = 384

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.processor.tokenizer.padding_side = "left"  # decoder-only batches pad on the left

    @property
    def description(self) -> str:
        return f"{self.spec.description} (in-process, transformers, {self.device})"

    def complete(self, messages: Messages, images: Sequence[np.ndarray] = (), **params: Any) -> str:
        """One answer; `params` accepts the OpenAI names `max_tokens` and `temperature`."""
        return self.generate([(messages, images)], **params)[0]

    def caption_batch(self, items: Sequence[tuple[Messages, Sequence[np.ndarray]]], **params: Any) -> list[str]:
        """Answer many (prompt, images) requests, `batch_size` per generate call, in the order given."""
        return self.generate(items, **params)

    def stream(self, messages: Messages, images: Sequence[np.ndarray] = (), **params: Any) -> Iterator[str]:
        """Yield the answer's text as it is generated (a worker thread runs `generate`)."""
        from transformers import TextIteratorStreamer

        streamer = TextIteratorStreamer(self.processor.tokenizer, skip_prompt=True, skip_special_tokens=True)
        inputs = self._inputs([(messages, images)])
        failure: list[BaseException] = []

        def run() -> None:
            try:
                self._generate_ids(inputs, streamer=streamer, **params)
            except BaseException as error:  # surfaced to the caller below
                failure.append(error)
                streamer.end()

        self._record(inputs, None, [len(images)])
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        yield from (piece for piece in streamer if piece)
        worker.join()
        if failure:
            raise failure[0]

    def generate(self, items: Sequence[tuple[Messages, Sequence[np.ndarray]]], **params: Any) -> list[str]:
        """Greedy (or sampled, with temperature > 0) answers; items sorted by size so batches pad little."""
        if not items:
            return []
        order = sorted(range(len(items)), key=lambda i: (len(items[i][1]), _text_length(items[i][0])))
        answers: list[str] = [""] * len(items)
        for start in range(0, len(order), self.batch_size):
            chosen = order[start : start + self.batch_size]
            inputs = self._inputs([items[i] for i in chosen])
            ids = self._generate_ids(inputs, **params)
            prompt_length = inputs["input_ids"].shape[1]
            self._record(inputs, ids[:, prompt_length:], [len(items[i][1]) for i in chosen])
            texts = self.processor.batch_decode(ids[:, prompt_length:].cpu(), skip_special_tokens=True)
            for index, text in zip(chosen, texts):
                answers[index] = text.strip()
        return answers

    def _inputs(self, items: Sequence[tuple[Messages, Sequence[np.ndarray]]]) -> Any:
        """Tokenised prompts (left padded) and pixel values of one batch, on the model's device."""
        prompts = [
            self.processor.apply_chat_template(hf_conversation(messages, len(images)), add_generation_prompt=True)
            for messages, images in items
        ]
        images = [[fit_image(frame, self.image_max_side) for frame in frames] for _, frames in items]
        with_images = any(images)
        inputs = self.processor(
            text=prompts, images=images if with_images else None, return_tensors="pt", padding=True
        )
        inputs = inputs.to(self.device)
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
        return inputs

    def _record(self, inputs: Any, generated: Any, image_counts: Sequence[int]) -> None:
        """Count these requests, their images and tokens (padding excluded) in the open usage meter."""
        mask = inputs.get("attention_mask")
        prompt_tokens = int(mask.sum()) if mask is not None else int(inputs["input_ids"].numel())
        completion_tokens = 0
        if generated is not None:
            pad = self.processor.tokenizer.pad_token_id
            completion_tokens = int((generated != pad).sum()) if pad is not None else int(generated.numel())
        record(len(image_counts), sum(image_counts), prompt_tokens, completion_tokens)

    def _generate_ids(self, inputs: Any, streamer: Any = None, **params: Any) -> Any:
        """Run generate on prepared inputs, mapping the OpenAI parameter names."""
        import torch

        max_new_tokens = int(params.pop("max_tokens", params.pop("max_new_tokens", DEFAULT_MAX_NEW_TOKENS)))
        temperature = float(params.pop("temperature", 0.0) or 0.0)
        options: dict[str, Any] = {"max_new_tokens": max_new_tokens, "streamer": streamer}
        options |= {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
        options |= {k: v for k, v in params.items() if k in ("min_new_tokens", "top_p", "repetition_penalty")}
        with self._lock, torch.inference_mode():
            return self.model.generate(**inputs, **options)


def _text_length(messages: Messages) -> int:
    return len(messages) if isinstance(messages, str) else sum(len(str(m.get("content", ""))) for m in messages)


def load_transformers_vlm(spec: ModelSpec, settings: Settings, location: str) -> TransformersVLM:
    """Load a hub id or local model directory in-process; only a `real` spec may download."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from models.device import inference_dtype, pick_device

    device = pick_device(settings)
    dtype = inference_dtype(device)
    local_only = spec.source != "real"
    try:
        processor = AutoProcessor.from_pretrained(location, local_files_only=local_only)
        model = AutoModelForImageTextToText.from_pretrained(location, local_files_only=local_only, dtype=dtype)
    except Exception as error:  # transformers raises OSError/ValueError/hub errors
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelUnavailable(f"VLM {location}: cannot be loaded ({first})") from error
    model = model.to(device).eval()
    batch = settings.vlm_batch_size or (GPU_BATCH if device.startswith("cuda") else CPU_BATCH)
    return TransformersVLM(model, processor, device, dtype, spec, batch, settings.vlm_image_side)
