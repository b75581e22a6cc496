"""The citations of the last answer, one line each ("[00:07] transcript  The budget ..."); moving the
highlight to one shows its keyframe and its place on the timeline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from core.types import Evidence
from ui.terminal_text import terminal_line

KIND_TAGS: dict[str, str] = {"screen_text": "on screen"}
"""How the list names an evidence kind that is not a plain word; other kinds show as they are ("transcript")."""


def kind_tag(kind: str) -> str:
    """The tag a citation shows for its evidence kind: "on screen" for screen text, else the kind itself."""
    return KIND_TAGS.get(kind, kind)


def evidence_line(evidence: Evidence, video_name: str | None = None) -> Text:
    """One citation as the list shows it: time, (video,) kind, text."""
    line = Text(evidence.cite(), style="bold")
    if video_name:
        line.append(f" {terminal_line(video_name)}", style="italic")
    line.append(f" {kind_tag(evidence.kind)}", style="dim")
    line.append(f"  {terminal_line(evidence.text)}")
    return line


class EvidenceList(OptionList):
    """An OptionList of Evidence; `evidence` holds the items in the order shown."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab,escape", "app.focus_question", "question"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.evidence: list[Evidence] = []

    def show(self, evidence: Sequence[Evidence], names: Mapping[str, str]) -> None:
        """List `evidence`; with several videos each line names its video (`names`: video id -> file name)."""
        self.evidence = list(evidence)
        several = len(set(names.values())) > 1
        self.set_options(
            Option(evidence_line(e, names.get(e.video_id) if several else None), id=f"evidence-{i}")
            for i, e in enumerate(self.evidence)
        )
        self.border_subtitle = f"{len(self.evidence)} cited" if self.evidence else ""
