"""Loads each role's model at most once per process, only when a stage or a query needs it."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from core.settings import Settings
from models.registry import ROLE_TABLE, ModelPlan, Role, check_weights

if TYPE_CHECKING:
    from models.adapters.asr import SpeechRecognizer
    from models.adapters.captioner import Captioner
    from models.adapters.clip import ClipEncoder
    from models.adapters.detector import Detector
    from models.adapters.objects import ObjectDetector
    from models.adapters.ocr import TextReader
    from models.adapters.text_embedder import TextEmbedder
    from models.vlm.backend import VisionLanguageModel

_LOADED: dict[tuple[str, str, str], Any] = {}
"""Process-wide cache (role, model key, device setting) -> loaded model; models are large and immutable."""
_LOCKS: dict[tuple[str, str, str], threading.Lock] = {}


class ModelCache:
    """The loaded models of one ModelPlan; a disabled role yields None."""

    def __init__(self, plan: ModelPlan) -> None:
        self.plan = plan

    @classmethod
    def for_settings(cls, settings: Settings, notify: Callable[[str], None] | None = None) -> ModelCache:
        """The models of these settings' profile; `notify` hears each role's choice once (a progress notice)."""
        return cls(ModelPlan(settings, notify))

    def get(self, role: Role) -> Any:
        """The loaded model of a role (loaded on first use, once per process), or None when the role is disabled."""
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
                check_weights(spec)
                module, _, function = ROLE_TABLE[role].loader.partition(":")
                load = getattr(importlib.import_module(module), function)
                with _no_loading_bars(role):
                    _LOADED[cache_key] = load(spec, settings)
        return _LOADED[cache_key]

    # Typed shorthands of `get`, so callers keep the adapter's type.
    def clip(self) -> ClipEncoder | None:
        return self.get("clip")

    def text_embedder(self) -> TextEmbedder | None:
        return self.get("text_embedder")

    def asr(self) -> SpeechRecognizer | None:
        return self.get("asr")

    def detector(self) -> Detector | None:
        return self.get("detector")

    def captioner(self) -> Captioner | None:
        return self.get("captioner")

    def vlm(self) -> VisionLanguageModel | None:
        return self.get("vlm")

    def ocr(self) -> TextReader | None:
        return self.get("ocr")

    def objects(self) -> ObjectDetector | None:
        return self.get("objects")


_TRANSFORMERS_ROLES = ("text_embedder", "captioner", "vlm")
"""Roles loaded through transformers, whose `from_pretrained` draws a tqdm "Loading weights" bar."""
_QUIET = threading.local()
_HOOK_LOCK = threading.Lock()
_hook_installed = False


@contextmanager
def _no_loading_bars(role: Role) -> Iterator[None]:
    """Keep transformers' tqdm bars off stderr while this thread loads a model: the caller's progress reporter
    says what is loading, and a library must not draw on its user's terminal. Other threads are unaffected."""
    if role not in _TRANSFORMERS_ROLES or not _install_quiet_hook():
        yield
        return
    _QUIET.depth = getattr(_QUIET, "depth", 0) + 1
    try:
        yield
    finally:
        _QUIET.depth -= 1


def _install_quiet_hook() -> bool:
    """Install (once) a transformers tqdm hook that gives threads loading a model an empty bar."""
    global _hook_installed
    with _HOOK_LOCK:
        if _hook_installed:
            return True
        try:
            from transformers.utils import logging as hf_logging
        except ImportError:
            return False
        if not hasattr(hf_logging, "set_tqdm_hook"):
            return False
        previous = None

        def hook(factory: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            if getattr(_QUIET, "depth", 0):
                return hf_logging.EmptyTqdm(*args, **kwargs)
            return previous(factory, args, kwargs) if previous is not None else factory(*args, **kwargs)

        previous = hf_logging.set_tqdm_hook(hook)
        _hook_installed = True
        return True
