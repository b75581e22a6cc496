"""Sentence embeddings for transcript and caption search (sentence-transformers)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import ModelUnavailable
from core.settings import Settings
from models.registry import ModelSpec


@dataclass
class TextEmbedder:
    """A loaded sentence-transformers model producing L2-normalised float32 vectors."""

    model: Any
    spec: ModelSpec
    batch_size: int

    @property
    def dim(self) -> int:
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts -> (N, D) unit vectors."""
        import torch

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with torch.inference_mode():
            vectors = self.model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)


def load_text_embedder(spec: ModelSpec, settings: Settings) -> TextEmbedder:
    """Load from a local directory (offline/tiny) or a hub id (real; cached under data_dir)."""
    from sentence_transformers import SentenceTransformer

    from models.device import pick_device

    device = pick_device(settings)
    local_only = spec.source in ("offline", "tiny")
    try:
        model = SentenceTransformer(
            spec.location,
            device=device,
            cache_folder=str(settings.data_dir / "weights" / "sentence-transformers"),
            local_files_only=local_only,
        )
    except Exception as error:  # sentence-transformers raises OSError/ValueError/HF errors
        raise ModelUnavailable(f"text embedder {spec.location}: cannot be loaded ({str(error).splitlines()[0]})") from error
    if device == "cuda":
        model = model.half()
    return TextEmbedder(model=model, spec=spec, batch_size=max(32, settings.batch_size))
