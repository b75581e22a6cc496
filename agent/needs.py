"""What a question needs perceived (speech, people, pictures, on-screen text; counts and times on top),
read from its form. The answer compares it with what the loaded models can perceive (agent.senses): a
need no loaded model can see is said plainly, never answered by a guess.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from agent.question import SPEECH, QuestionForm, content_words

Need = Literal["speech", "people", "pictures", "text", "count", "time"]
SENSES: tuple[Need, ...] = ("speech", "people", "pictures", "text")
"""The needs that take a model to perceive; counts and times qualify one of them."""

ON_SCREEN_TEXT = re.compile(
    r"\b(?:titles?|titled|captioned|captions? on (?:the )?screen|on[- ]screen (?:text|words?|caption)|text|written|printed|"
    r"writing|signs?|signpost|labels?|labell?ed|headlines?|banners?|subtitles?|slogan|logo|spell(?:s|ed)?)\b",
    re.IGNORECASE,
)
PICTURES = re.compile(
    r"\b(?:see|seen|sees|shows?|shown|showing|display(?:s|ed)?|depict\w*|pictured?|pictures|photos?|photographs?|"
    r"images?|frames?|looks? like|colou?rs?|wear(?:s|ing)?|holding|holds|carr(?:y|ies|ying)|objects?|animals?|"
    r"on (?:the )?screen|in (?:the )?(?:frame|shot|background|foreground)|visible|visually|setting|scenery)\b",
    re.IGNORECASE,
)
SHOWN = re.compile(
    r"\b(?:appears?|appeared|appearing|appearance|show(?:s|ed)? up|enters?|entered|arrives?|arrived|on[- ]screen|"
    r"in (?:the )?(?:frame|shot|picture)|visible|seen)\b",
    re.IGNORECASE,
)
"""Cues that something is seen ('there' and 'present' are left out: "is there any mention of X" is speech)."""
YES_NO = re.compile(r"^\W*(?:and\s+|so\s+)?(?:is|are|was|were|does|do|did|has|have|had|can|could|will)\b", re.IGNORECASE)
PEOPLE_ONLY = frozenset(
    "person persons people man men woman women someone somebody anyone anybody actor actors human humans "
    "individual individuals guy boy girl kid kids child children crowd appear appears appeared screen visible "
    "first time".split()
)


@dataclass(frozen=True)
class Needs:
    """The senses a question needs, whether either speech or pictures would do, and its yes/no form."""

    senses: tuple[Need, ...]
    """The senses it names (speech, people, pictures, text), in that order."""
    either: bool
    """It names no sense ("anything about the budget?"): speech or pictures may answer it."""
    count: bool
    time: bool
    yes_no: bool
    """It asks yes or no ("Does a clock appear?", "Is anyone on screen?")."""

    @property
    def all(self) -> tuple[Need, ...]:
        """Every need, counts and times included (for reports)."""
        extra: tuple[Need, ...] = (("count",) if self.count else ()) + (("time",) if self.time else ())
        return self.senses + extra


def _thing_beyond_people(form: QuestionForm) -> bool:
    """Whether the question names a thing besides people ("does a clock appear?"), or nothing at all ("what
    is shown?"): a question about the picture as a whole."""
    words = content_words(form.text)
    return not words or any(w.lower() not in PEOPLE_ONLY for w in words)


def question_needs(form: QuestionForm, options: Sequence[str] | None = None) -> Needs:
    """The senses a question needs, from its cues: said words need speech, on-screen words text, a thing
    seen or shown the pictures, people the person detector. A quoted line is speech."""
    text = form.text
    senses: list[Need] = []
    if SPEECH.search(text) or form.audio_only or form.quoted or form.count_of == "speech":
        senses.append("speech")
    if form.people:
        senses.append("people")
    shown_thing = bool(PICTURES.search(text) or SHOWN.search(text)) and _thing_beyond_people(form)
    written = bool(ON_SCREEN_TEXT.search(text)) and not form.audio_only
    if written:
        senses.append("text")
    scene_count = form.count_of == "scenes"  # shot cuts are read from the frames' pixels by every profile
    if shown_thing and not written and not scene_count:
        senses.append("pictures")
    either = not senses and not form.summary and not form.general and not scene_count
    return Needs(tuple(n for n in SENSES if n in senses), either, form.counting, form.when, bool(YES_NO.search(text)))
