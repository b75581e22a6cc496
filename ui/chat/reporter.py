"""Ingest progress from a worker thread to the screen: a ProgressReporter that posts Textual messages and
stops the ingest (by raising IngestCancelled at its next callback) once the user cancels."""

from __future__ import annotations

import threading
import time

from textual.message import Message
from textual.message_pump import MessagePump


class IngestCancelled(Exception):
    """The user cancelled the ingest; stages already committed stay in memory."""


class VideoStarted(Message):
    """Ingest of one of the videos began."""

    def __init__(self, name: str, index: int, count: int) -> None:
        super().__init__()
        self.name, self.index, self.count = name, index, count


class StageStarted(Message):
    """A stage began; `total` is None when its length is unknown."""

    def __init__(self, stage: str, total: float | None, unit: str, at: float) -> None:
        super().__init__()
        self.stage, self.total, self.unit, self.at = stage, total, unit, at


class StageAdvanced(Message):
    """A stage reached `completed` of its total."""

    def __init__(self, stage: str, completed: float) -> None:
        super().__init__()
        self.stage, self.completed = stage, completed


class StageFinished(Message):
    """A stage is done, with a note for people ("4 spans")."""

    def __init__(self, stage: str, note: str, at: float) -> None:
        super().__init__()
        self.stage, self.note, self.at = stage, note, at


class IngestNotice(Message):
    """A one-off notice (a model choice, a missing audio track)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class IngestReporter:
    """A ProgressReporter, safe to call from any thread, that posts each call to `target` as a message."""

    def __init__(self, target: MessagePump) -> None:
        self.target = target
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        """Ask the ingest to stop: the next start or update raises IngestCancelled."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def check(self) -> None:
        """Raise IngestCancelled when cancel was asked for (called between videos, too)."""
        if self._cancelled.is_set():
            raise IngestCancelled("ingest cancelled")

    def video(self, name: str, index: int, count: int) -> None:
        self.check()
        self.target.post_message(VideoStarted(name, index, count))

    def start(self, stage: str, total: float | None, unit: str = "s") -> None:
        self.check()
        self.target.post_message(StageStarted(stage, total, unit, time.perf_counter()))

    def update(self, stage: str, completed: float) -> None:
        self.check()
        self.target.post_message(StageAdvanced(stage, completed))

    def finish(self, stage: str, note: str = "") -> None:
        self.target.post_message(StageFinished(stage, note, time.perf_counter()))

    def notice(self, message: str) -> None:
        self.target.post_message(IngestNotice(message))
