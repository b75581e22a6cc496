"""Which VLM backend answers: a configured OpenAI-compatible server, else vLLM or transformers in-process.

Every backend takes the same requests, OpenAI-style messages with RGB frames attached to the last
one, and answers many at once (`caption_batch`), so callers never caption one segment at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from core.errors import BackendUnreachable
from core.settings import Settings
from models.registry import ModelSpec
from models.vlm.client import Messages


class VisionLanguageModel(Protocol):
    """What ingest and the agent need of a VLM, whichever backend serves it."""

    @property
    def description(self) -> str: ...

    def complete(self, messages: Messages, images: Sequence[np.ndarray] = (), **params: Any) -> str: ...

    def caption_batch(self, items: Sequence[tuple[Messages, Sequence[np.ndarray]]], **params: Any) -> list[str]: ...


def load_vlm(spec: ModelSpec, settings: Settings) -> VisionLanguageModel:
    """The backend for a resolved VLM spec: the endpoint client, vLLM on a GPU when importable, else transformers."""
    if spec.source == "endpoint":
        return _endpoint_client(settings)
    from models.device import pick_device
    from models.vlm.local import load_transformers_vlm
    from models.vlm.vllm_engine import load_vllm_vlm, vllm_available

    if spec.source == "tiny":
        from models.vlm.tiny_llava import build_tiny_llava

        return load_transformers_vlm(spec, settings, str(build_tiny_llava(settings.data_dir / "weights")))
    if vllm_available() and pick_device(settings) == "cuda":
        return load_vllm_vlm(spec, settings, spec.location)
    return load_transformers_vlm(spec, settings, spec.location)


def _endpoint_client(settings: Settings) -> VisionLanguageModel:
    """A client for `settings.vlm_url`; without `vlm_model` it asks the server which model it serves."""
    from models.vlm.client import VLMClient

    assert settings.vlm_url is not None
    client = VLMClient(
        settings.vlm_url,
        settings.vlm_model or "",
        api_key=settings.vlm_api_key,
        timeout_s=settings.vlm_timeout_s,
        max_concurrency=settings.vlm_concurrency,
        image_max_side=settings.vlm_image_side,
    )
    if not settings.vlm_model:
        served = client.served_models()
        if not served:
            client.close()
            raise BackendUnreachable(
                f"the VLM server at {client.base_url} lists no model: set VIDSAGE_VLM_MODEL (or --vlm-model) "
                "to the name it serves"
            )
        client.model = served[0]
    return client
