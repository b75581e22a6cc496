"""Loads each role's model at most once per process, only when a stage or a query needs it."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from models.registry import ModelPlan, ModelSpec, Role

if TYPE_CHECKING:
    from models.asr import SpeechRecognizer
    from models.captioner import Captioner
    from models.clip import ClipEncoder
    from models.detector import Detector
    from models.text_embedder import TextEmbedder
    from models.vlm_backend import VisionLanguageModel

_LOADED: dict[tuple[str, str, str], Any] = {}
"""Process-wide cache (role, model key, device setting) -> loaded model; models are large and immutable."""
_LOCKS: dict[tuple[str, str, str], threading.Lock] = {}


class ModelCache:
    """The loaded models of one ModelPlan; a disabled role yields None."""

    def __init__(self, plan: ModelPlan) -> None:
        self.plan = plan

    def _get(self, role: Role) -> Any:
        spec = self.plan.spec(role)
        if spec is None:
            return None
        settings = self.plan.settings
        where = f"{settings.device}:{settings.data_dir}" + (f":{settings.vlm_url}" if role == "vlm" else "")
        cache_key = (role, spec.key, where)
        if cache_key in _LOADED:
            return _LOADED[cache_key]
        with _LOCKS.setdefault(cache_key, threading.Lock()):  # parallel tools load a model once, not twice
            if cache_key not in _LOADED:
                _LOADED[cache_key] = _load(role, spec, self.plan)
        return _LOADED[cache_key]

    def clip(self) -> ClipEncoder | None:
        return self._get("clip")

    def text_embedder(self) -> TextEmbedder | None:
        return self._get("text_embedder")

    def asr(self) -> SpeechRecognizer | None:
        return self._get("asr")

    def detector(self) -> Detector | None:
        return self._get("detector")

    def captioner(self) -> Captioner | None:
        return self._get("captioner")

    def vlm(self) -> VisionLanguageModel | None:
        return self._get("vlm")


def _load(role: Role, spec: ModelSpec, plan: ModelPlan) -> Any:
    settings = plan.settings
    if role == "clip":
        from models.clip import load_clip

        return load_clip(spec, settings)
    if role == "text_embedder":
        from models.text_embedder import load_text_embedder

        return load_text_embedder(spec, settings)
    if role == "asr":
        from models.asr import load_asr

        return load_asr(spec, settings)
    if role == "captioner":
        from models.captioner import load_captioner

        return load_captioner(spec, settings)
    if role == "vlm":
        from models.vlm_backend import load_vlm

        return load_vlm(spec, settings)
    from models.detector import load_detector

    return load_detector(spec, settings)
