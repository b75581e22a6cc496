"""One question of a QA benchmark, and a loaded set of them with where it came from."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class QAItem:
    """A question about one video, its gold answer, and for multiple choice its options."""

    qid: str
    """Unique within the dataset: results are resumed and compared by it."""
    video: str
    """The video as the dataset names it: an id, a file name or a relative path."""
    question: str
    options: list[str] | None
    """Option texts for multiple choice (without "A." prefixes); None for open-ended questions."""
    answer: str
    """The gold answer; for multiple choice the correct option's text."""
    answer_index: int | None
    """Index of the correct option for multiple choice, else None."""
    type: str = ""
    """The dataset's question type ("" when it has none); reports group accuracy by it."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Fields of the source row that vidsage does not interpret (duration, domain, ...)."""
    accept: list[str] = field(default_factory=list)
    """Other answers that also count as correct for open-ended questions."""

    @property
    def is_multiple_choice(self) -> bool:
        """Whether the question has options (scored by the chosen index)."""
        return self.options is not None

    def to_dict(self) -> dict[str, Any]:
        """The native JSONL row for this item (options and accept only when present)."""
        row: dict[str, Any] = {"qid": self.qid, "video": self.video, "question": self.question}
        if self.options is not None:
            row["options"] = list(self.options)
        row["answer"] = self.answer_index if self.answer_index is not None else self.answer
        if self.type:
            row["type"] = self.type
        if self.accept:
            row["accept"] = list(self.accept)
        row.update(self.extra)
        return row


@dataclass(frozen=True)
class Dataset:
    """Questions loaded from one source, the format they were read as, and what was skipped."""

    format: str
    """Registry name of the format: native, nextqa, msrvtt, egoschema, videomme, activitynet."""
    title: str
    """Human name of the format, e.g. "NExT-QA multiple-choice CSV"."""
    source: Path
    items: list[QAItem]
    skipped: int = 0
    """Source questions left out because they cannot be scored (no gold answer)."""
    skipped_reason: str = ""

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[QAItem]:
        return iter(self.items)

    @classmethod
    def with_answer_file(
        cls, format: str, title: str, questions: Path, answers: Path, items: list[QAItem], skipped: int
    ) -> Dataset:
        """A set whose gold answers come in a separate file: questions it has no answer for are skipped."""
        reason = f"no answer in {answers.name}" if skipped else ""
        return cls(format=format, title=title, source=questions, items=items, skipped=skipped, skipped_reason=reason)

    def describe(self) -> str:
        """One line for people: format, how many questions, from where, and what was skipped."""
        text = f"{self.title} ({self.format}): {len(self.items)} questions from {self.source}"
        if self.skipped:
            text += f"; {self.skipped} skipped ({self.skipped_reason})"
        return text
