"""What a question needs perceived (speech, people, pictures, on-screen text; counts and times on top),
read from its form. The answer compares it with what the loaded models can perceive (agent.senses): a
need no loaded model can see is said plainly, never answered by a guess.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from agent.question import APPEAR, SPEECH, QuestionForm, content_words

Need = Literal["speech", "people", "objects", "pictures", "text", "count", "time"]
SENSES: tuple[Need, ...] = ("speech", "people", "objects", "pictures", "text")
"""The needs that take a model to perceive; counts and times qualify one of them."""

SEEING = re.compile(
    r"\b(?:see|seen|sees|shows?|shown|showing|display(?:s|ed|ing)?|depict\w*|pictured|looks? like|visible|visually|"
    r"on (?:the )?screen|the screen|in (?:the )?(?:frame|shot|background|foreground|picture)|fills? the (?:screen|frame)|"
    r"(?:shots?|photos?|photographs?|pictures?|images?|footage|views?) of|looking at|in view|leaves? the (?:screen|frame)|"
    r"return(?:s|ed)? to (?:the )?(?:screen|view))\b",
    re.IGNORECASE,
)
"""Verbs and phrases of seeing: the question is about what the picture shows."""
PICTURE_NOUNS = re.compile(
    r"\b(?:pictures?|photos?|photographs?|images?|frames?|colou?rs?|wear(?:s|ing)?|holding|holds|carr(?:y|ies|ying)|"
    r"objects?|animals?|setting|scenery|visuals?)\b",
    re.IGNORECASE,
)
"""Nouns of pictures: a question about what is said may name them as its topic ("what is said about the animals")."""
SHOWN = re.compile(
    r"\b(?:appears?|appeared|appearing|appearance|show(?:s|ed)? up|enters?|entered|arrives?|arrived|on[- ]screen|"
    r"in (?:the )?(?:frame|shot|picture)|visible|seen)\b",
    re.IGNORECASE,
)
"""Cues that something is seen ('there' and 'present' are left out: "is there any mention of X" is speech)."""
LOOKS = re.compile(
    r"\b(?:colou?rs?|wear(?:s|ing)?|dressed|clothes|holding|holds|carr(?:y|ies|ying)|objects?|animals?|looks? like|"
    r"what (?:is|are|was|were) (?:he|she|they|the \w+) doing)\b",
    re.IGNORECASE,
)
"""What a people question asks beyond presence that only the pictures show (clothes, objects, looks)."""
LOOKS_OF_THINGS = re.compile(
    r"\b(?:colou?rs?|wear\w*|dressed|clothes|hold(?:s|ing)?|carr(?:y|ies|ying)|looks? like|doing|size|shape|brand|"
    r"made of|full|empty)\b",
    re.IGNORECASE,
)
"""What a question about a detected object asks beyond where and how many: only the pictures show it."""
HEARD = re.compile(r"\b(?:hear\w*|heard|spoken|learn\w*|detail|remark\w*|commentary|audio|listen\w*|sound\w*)\b",
                   re.IGNORECASE)
"""Words of a question about what is said beyond SPEECH's verbs ("what do you learn about the yard cat"): an object
named there is a topic of the speech, not a question to the object detector."""
YES_NO = re.compile(
    r"(?:^\W*(?:and\s+|so\s+)?|,\s*)(?:is|are|was|were|does|do|did|has|have|had|can|could|will)\b(?![^?]*\bor\b)",
    re.IGNORECASE,
)
"""A yes/no question, also after a leading clause ("When X is said, is anyone on screen?"); not "is it A or B"."""
PEOPLE_ONLY = frozenset(
    "person persons people man men woman women someone somebody anyone anybody actor actors human humans "
    "individual individuals guy boy girl kid kids child children crowd appear appears appeared screen visible "
    "first time".split()
)


@dataclass(frozen=True)
class Needs:
    """The senses a question needs, whether either speech or pictures would do, and its yes/no form."""

    senses: tuple[Need, ...]
    """The senses it names (speech, people, objects, pictures, text), in that order."""
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


SCENE_WORDS = frozenset(
    "scene scenes shot shots cut cuts setting settings location locations place places different distinct separate "
    "each own total video clip show shows contain contains many much number still picture pictures image images "
    "photo photos segment segments stretch stretches imagery footage counting count one as".split()
)
"""Words that frame a count of shots ("counting each stretch of one picture as a shot") rather than name a thing."""


def _thing_beyond_scenes(form: QuestionForm) -> bool:
    """Whether a scene count names a thing the scenes must show ("in how many shots can a cat be seen?")."""
    return any(w.lower() not in SCENE_WORDS and w.lower() not in PEOPLE_ONLY for w in content_words(form.text))


THERE_IS = re.compile(r"\b(?:is|are|was|were) there\b|\bany\b", re.IGNORECASE)
"""'Is there a phone?', 'are there any animals?': whether something is in the video at all."""
WHO_OR_WHAT = re.compile(r"\b(?:who or what|what or who)\b", re.IGNORECASE)
"""'Who or what is shown': a thing may be the answer, and only the pictures show things."""
NAMED = re.compile(r"\b(?:name[sd]?|called)\b", re.IGNORECASE)
"""A person's name: the detector sees that someone is there, only the speech (or a caption) says who."""


def question_needs(form: QuestionForm, options: Sequence[str] | None = None) -> Needs:
    """The senses a question needs, from its cues: said words need speech, on-screen words text, a thing
    seen or shown the pictures, people the person detector. A quoted line is speech."""
    text = form.text
    senses: list[Need] = []
    if form.speech and (SPEECH.search(text) or form.audio_only or form.quoted or form.count_of == "speech"):
        senses.append("speech")
    elif form.people and NAMED.search(text):
        senses.append("speech")  # "what's the name of the colleague": who someone is, the speech says
    if form.people:
        senses.append("people")
    spoken = "speech" in senses
    seen = bool(SEEING.search(text) or SHOWN.search(text) or (PICTURE_NOUNS.search(text) and not spoken))
    # shot cuts are read from the frames' pixels by every profile: counting scenes needs no picture model,
    # counting the scenes that show a thing does
    scene_count = form.count_of in ("scenes", "people_scenes", "text_scenes") and not (
        seen and _thing_beyond_scenes(form)
    )
    if form.people:  # "is a person on screen during the harbor scene": the detector sees it, unless more is asked
        shown_thing = bool(LOOKS.search(text) or WHO_OR_WHAT.search(text))
    else:
        shown_thing = seen and _thing_beyond_people(form)
    written = form.written  # counting titled scenes reads the titles
    if written:
        senses.append("text")
    presence = seen or bool(APPEAR.search(text) or THERE_IS.search(text)) or form.counting or form.direction is not None
    # "what kind of cake is being baked" names a cake but asks nothing about one being on screen: not a detector
    # question, so a cake not detected is no reason to abstain
    asks_objects = (bool(form.objects) and presence and not ((spoken or HEARD.search(text)) and not seen)
                    and not scene_count)  # fmt: skip
    if asks_objects:  # the object detector sees them; how they look takes the pictures
        senses.append("objects")
        shown_thing = shown_thing and bool(LOOKS_OF_THINGS.search(text))
    if shown_thing and not written and not scene_count:
        senses.append("pictures")
    scene_count = scene_count and not written
    either = not senses and not form.summary and not form.general and not scene_count
    return Needs(tuple(n for n in SENSES if n in senses), either, form.counting, form.when, bool(YES_NO.search(text)))
