"""Honest answers: a question's needs set against what the loaded models perceive. A need no model can
see is said in one sentence ("I can't look at the pictures with the models loaded: ..."); "not in the
video" is said only when every sense that could show the thing was searched; a guess is never an answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agent.needs import Need, Needs
from core.types import Evidence
from memory.text_search import QUESTION_FRAME_WORDS, content_tokens
from prompts import render


@dataclass(frozen=True)
class Sight:
    """What of a question the loaded models cannot perceive."""

    blind: tuple[Need, ...]
    """The needed senses no loaded model provides."""
    limitations: tuple[str, ...]
    """One sentence per blind sense, for the answer and its JSON."""
    all_blind: bool
    """Every sense the question needs is blind: whatever the other sources show, no claim can be made."""

    @property
    def absence_unknowable(self) -> bool:
        """A sense that could show the thing is blind: finding nothing does not mean it is not there."""
        return bool(self.blind)


def sight_of(needs: Needs, gaps: dict[Need, str]) -> Sight:
    """The blind part of a question; a question naming no sense is blind only where speech and pictures,
    either of which could answer it, both are."""
    considered: Sequence[Need] = ("speech", "pictures") if needs.either else needs.senses
    blind = tuple(n for n in considered if n in gaps)
    all_blind = bool(considered) and len(blind) == len(considered)
    return Sight(blind, tuple(gaps[n] for n in blind), all_blind)


@dataclass(frozen=True)
class HonestText:
    """The answer text after the honesty rules, whether it abstains, and the limitations it states."""

    text: str
    abstained: bool
    limitations: list[str]


def _sentence(limitations: Sequence[str]) -> str:
    return "; ".join(limitations)


def honest_text(
    composed: str, cited: Sequence[Evidence], sight: Sight, needs: Needs, searched: str, question: str
) -> HonestText:
    """The composition as an honest answer: it abstains when a sense the question needs is blind (what the
    other sources show follows, as context, not as the answer), or when nothing was found where a blind sense
    could have shown it (a question naming no sense); otherwise it is the composition as it is."""
    limitations = list(sight.limitations)
    substantive = [e for e in cited if e.kind != "note"]
    needed_blind = any(n in needs.senses for n in sight.blind)  # a blind sense searched but not needed: below
    if needed_blind or sight.all_blind or (not substantive and sight.absence_unknowable):
        lead = render("blind_lead", limitations=_sentence(limitations))
        if substantive:
            return HonestText(f"{lead}\n\n{render('blind_partial')}\n\n{composed}", True, limitations)
        return HonestText(f"{lead} {render('blind_nothing', searched=searched, question=question)}", True, limitations)
    return HonestText(composed, False, [])


def yes_no_lead(needs: Needs, sight: Sight, cited: Sequence[Evidence], topic: str) -> str:
    """'Yes.' or 'No.' before the evidence of a yes/no question a loaded model can answer ('' otherwise):
    people by the tracked people found, speech by a quoted line that says the topic's words."""
    if not needs.yes_no or sight.blind:
        return ""
    if "people" in needs.senses and not needs.count:  # speech only anchors the moment ("while X is said")
        if any(e.kind == "actor" for e in cited):
            return "Yes."
        # "no" only from the actor graph's own answer: not when the moment asked about was never found
        return "No." if any(e.source == "query_actors" for e in cited) else ""
    if needs.senses == ("objects",) and not needs.count:
        found = [e for e in cited if e.kind == "object" and e.source == "find_objects" and "; next" not in e.text
                 and "; last" not in e.text]  # fmt: skip
        if found:
            return "Yes." if any(not e.text.startswith("probably") for e in found) else "Probably yes."
        return ""  # not detected is not absent: see unseen_objects
    if needs.senses == ("speech",):
        if not cited:
            return "No."
        wanted = set(content_tokens(topic, drop=QUESTION_FRAME_WORDS))
        said = any(wanted & set(content_tokens(e.text)) for e in cited if e.kind == "transcript")
        return "Yes." if said else ""
    return ""


UNSEEN_OBJECTS = ("the object detector found none of what the question names, and it misses small, unusual or "
                  "drawn objects (measured: a clock photo and a cat in the slideshows), so that is no proof of absence")


def unseen_objects(needs: Needs, cited: Sequence[Evidence]) -> str:
    """The limitation to state when a question needs objects and the detector found none of them ('' otherwise):
    its "not detected" is not "not there", so the answer abstains rather than say no or count zero."""
    if "objects" not in needs.senses or any(e.kind == "object" for e in cited):
        return ""
    unseen = any(e.source == "find_objects" and e.kind == "note" and "was detected" in e.text for e in cited)
    return UNSEEN_OBJECTS if unseen else ""
