"""Per-question accounting of model use: VLM/LLM calls, images sent, tokens in and out.

The agent opens a `metered(usage)` block around one question; every model adapter calls `record(...)`,
which adds to the innermost open meter of the current context (nothing when none is open). Worker
threads see the meter when started with `contextvars.copy_context().run`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass
class Usage:
    """Model use of one question (thread-safe counters)."""

    vlm_calls: int = 0
    """Requests to the VLM or the planner/judge LLM."""
    images: int = 0
    """Images attached to those requests."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, calls: int = 1, images: int = 0, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        with self._lock:
            self.vlm_calls += calls
            self.images += images
            self.prompt_tokens += prompt_tokens
            self.completion_tokens += completion_tokens

    def to_dict(self) -> dict[str, int]:
        return {
            "vlm_calls": self.vlm_calls,
            "images": self.images,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }


_CURRENT: ContextVar[Usage | None] = ContextVar("vidsage_usage", default=None)


@contextmanager
def metered(usage: Usage) -> Iterator[Usage]:
    """Count model use inside the block into `usage`."""
    token = _CURRENT.set(usage)
    try:
        yield usage
    finally:
        _CURRENT.reset(token)


def record(calls: int = 1, images: int = 0, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
    """Add one request's use to the open meter, if any."""
    usage = _CURRENT.get()
    if usage is not None:
        usage.add(calls, images, prompt_tokens, completion_tokens)


def current() -> Usage | None:
    """The open meter (for code that must check a budget before a call)."""
    return _CURRENT.get()
