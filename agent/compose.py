"""Answer composition without a VLM: the best evidence, quoted, each with its [mm:ss] citation.

Nothing is invented: every sentence is either a quoted transcript line, a tracked object with its
time span, a visual match with its score, or the explicit statement that nothing matched.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.types import Evidence, format_timestamp
from prompts import render

MAX_SPEECH = 3
MAX_PEOPLE = 8
MAX_VISUAL = 3


@dataclass(frozen=True)
class Composition:
    """The answer text and exactly the evidence it cites."""

    text: str
    cited: list[Evidence]


def _span(evidence: Evidence) -> str:
    return f"[{format_timestamp(evidence.t0)}]-[{format_timestamp(evidence.t1)}]"


def compose_answer(
    question: str, evidence: list[Evidence], searched: list[str], asked_people: bool, notes: list[str]
) -> Composition:
    """Group evidence by kind, keep the strongest, and render it through the answer templates."""
    speech = sorted(
        sorted((e for e in evidence if e.kind == "transcript"), key=lambda e: -e.score)[:MAX_SPEECH],
        key=lambda e: e.t0,
    )
    people = sorted((e for e in evidence if e.kind == "actor"), key=lambda e: e.t0)[:MAX_PEOPLE]
    visual = sorted((e for e in evidence if e.kind == "segment"), key=lambda e: -e.score)[:MAX_VISUAL]
    blocks: list[str] = []
    if speech:
        lines = [render("speech_item", cite=e.cite(), text=e.text.strip()) for e in speech]
        blocks.append("\n".join([render("speech_lead"), *lines]))
    if people:
        lines = [render("people_item", text=e.text) for e in people]
        blocks.append("\n".join([render("people_lead"), *lines]))
    elif asked_people:
        reason = "".join(f" ({note})" for note in notes if "tracked" in note)
        blocks.append(render("no_people", reason=reason))
    if visual:
        lines = [render("visual_item", span=_span(e), text=e.text) for e in visual]
        blocks.append("\n".join([render("visual_lead"), *lines]))
    cited = [*speech, *people, *visual]
    if not cited and not (asked_people and blocks):
        searched_text = _join(searched) if searched else "the video's memory"
        text = render("no_evidence", searched=searched_text, question=question.strip())
        extra = [note for note in notes if note]
        if extra:
            text += " Note: " + "; ".join(extra) + "."
        return Composition(text, [])
    return Composition("\n\n".join(blocks), cited)


def _join(items: list[str]) -> str:
    unique = list(dict.fromkeys(items))
    if len(unique) == 1:
        return unique[0]
    return ", ".join(unique[:-1]) + " and " + unique[-1]
