"""The question box: enter asks, up and down walk back and forth through the questions already asked."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import Input


class QuestionHistory:
    """Questions asked, oldest first, browsed like a shell's history (the unsent draft comes back last)."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._index: int | None = None
        self._draft = ""

    def add(self, question: str) -> None:
        """Remember a question just asked (a repeat of the last one is kept once) and stop browsing."""
        if not self.items or self.items[-1] != question:
            self.items.append(question)
        self._index = None
        self._draft = ""

    def back(self, current: str) -> str | None:
        """The previous question (None when there is none); `current` is kept as the draft."""
        if not self.items:
            return None
        if self._index is None:
            self._draft = current
            self._index = len(self.items) - 1
        else:
            self._index = max(0, self._index - 1)
        return self.items[self._index]

    def forward(self) -> str | None:
        """The next question, then the draft; None when not browsing."""
        if self._index is None:
            return None
        self._index += 1
        if self._index >= len(self.items):
            self._index = None
            return self._draft
        return self.items[self._index]


class QuestionInput(Input):
    """An Input with question history and bindings that the footer lists."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", "ask"),
        Binding("up", "history_back", "previous question"),
        Binding("down", "history_forward", "next question", show=False),
        Binding("tab", "app.focus_evidence", "citations"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="opening the videos…", id=id, disabled=True)
        self.history = QuestionHistory()

    def _recall(self, question: str | None) -> None:
        if question is not None:
            self.value = question
            self.cursor_position = len(question)

    def action_history_back(self) -> None:
        self._recall(self.history.back(self.value))

    def action_history_forward(self) -> None:
        self._recall(self.history.forward())
