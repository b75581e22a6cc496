"""What kind of evidence a question asks for, read from its wording (the rule planner's first step)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_PEOPLE = re.compile(
    r"\b(who|whom|whose|person|persons|people|man|men|woman|women|someone|somebody|anyone|anybody|everyone|"
    r"actor|actors|crowd|pedestrians?|kids?|child|children|boy|girl|guy|humans?|appears?|appeared|appearing|"
    r"on[- ]screen|visible|shown|present|walks?|walking)\b",
    re.IGNORECASE,
)
_SPEECH = re.compile(
    r"\b(say|says|said|saying|tell|tells|told|talk|talks|talked|talking|mention|mentions|mentioned|speak|speaks|"
    r"spoke|speaking|speech|narrat\w*|announce\w*|quote|words?|explain\w*|discuss\w*|voice)\b|[\"“”]",
    re.IGNORECASE,
)
_VISUAL = re.compile(
    r"\b(see|seen|show|shows|shown|look|looks|looking|scene|scenes|frame|frames|picture|image|color|colour|"
    r"wear|wearing|holding|happen|happens|happened|doing)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Intent:
    """Which memories to search for a question."""

    speech: bool
    people: bool
    visual: bool


def classify(question: str) -> Intent:
    """Speech for words said, people for who/appearance, visual for what is seen. A question that names
    none of these searches both speech and pictures, because either may answer 'what/when' questions."""
    people = bool(_PEOPLE.search(question))
    visual = bool(_VISUAL.search(question))
    said = bool(_SPEECH.search(question))
    unspecific = not (people or said or visual)
    return Intent(speech=said or unspecific or (visual and not people), people=people, visual=visual or unspecific)
