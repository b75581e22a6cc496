"""The people and moments a question names, resolved against one video's actors.

Users say "actor 2", "person #3", "the first person who appears", "the second man", "the last person
to arrive", "the person on screen at 0:30", "the two people at the end", "both people", or "she"
(someone from the previous answer). Each becomes an actor id; a name that matches nobody is kept as
a problem to report, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from core.types import Actor

NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                "nine": 9, "ten": 10, "both": 2}  # fmt: skip
ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
            "fifth": 5, "5th": 5, "last": -1, "final": -1}  # fmt: skip
PERSON_NOUN = r"(?:person|man|woman|guy|individual|actor|people|persons|men|women|one|figure|someone)"
CLOCK = r"(\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?|\d+(?:\.\d+)?\s*(?:s|sec|secs|seconds?)\b)"
EDGE_WINDOW_FRACTION = 0.15
"""'At the end' / 'at the start' means the last / first 15% of the video (at least EDGE_MIN_S)."""
EDGE_MIN_S = 3.0

_BY_ID = re.compile(r"\b(?:actor|person|people|individual|track|human)\s*(?:#|no\.?\s*|number\s*)?(\d+|"
                    + "|".join(k for k in NUMBER_WORDS if k != "both") + r")\b", re.IGNORECASE)  # fmt: skip
_BY_ORDINAL = re.compile(
    r"\b(?:the\s+)?(" + "|".join(ORDINALS) + r")\s+" + PERSON_NOUN + r"\b(?!\s+(?:time|scene|line|frame))",
    re.IGNORECASE,
)
_AT_TIME = re.compile(
    r"\b(?:the\s+)?" + PERSON_NOUN + r"\s+(?:who\s+is\s+|who's\s+|that\s+is\s+|)(?:on[- ]screen\s+|visible\s+|"
    r"seen\s+|shown\s+|there\s+)?(?:at|around|near)\s+" + CLOCK,
    re.IGNORECASE,
)
_GROUP = re.compile(
    r"\b(?:the\s+)?(two|three|four|both|2|3|4)\s+(?:of\s+the\s+)?(?:people|persons|actors|men|women|guys|"
    r"individuals)(?:\s+(?:who\s+(?:are|appear)\s+)?(?:at|in|near|towards?)\s+the\s+(end|beginning|start|"
    r"close|finish))?",
    re.IGNORECASE,
)
_EDGE_ONE = re.compile(
    r"\b(?:the\s+)?(?:person|man|woman|actor|one)\s+(?:who\s+is\s+|on[- ]screen\s+)?(?:at|in)\s+the\s+"
    r"(end|beginning|start)\b",
    re.IGNORECASE,
)
_PRONOUN = re.compile(r"\b(he|she|him|her|his|they|them|their)\b", re.IGNORECASE)


@dataclass(frozen=True)
class PersonRef:
    """One person a question names: the actor id it resolves to (None: nobody matches) and the words."""

    actor_id: int | None
    phrase: str
    position: int
    """Where in the question it was named (references keep the question's order)."""


def _number(token: str) -> int:
    return int(token) if token.isdigit() else NUMBER_WORDS[token.lower()]


def _seconds(token: str) -> float:
    from tools.timecodes import parse_time

    return parse_time(re.sub(r"\s+", "", token.lower()).replace("seconds", "s").replace("second", "s"))


def person_actors(actors: Sequence[Actor]) -> list[Actor]:
    """The actors a person noun may mean: people when any were tracked, else every actor."""
    persons = [a for a in actors if a.label == "person"]
    return sorted(persons or list(actors), key=lambda a: (a.t0, a.actor_id))


def _on_screen_at(actors: Sequence[Actor], t: float, slack: float = 0.5) -> list[Actor]:
    return [a for a in actors if any(t0 - slack <= t <= t1 + slack for t0, t1 in a.intervals)]


def _screen_time(actor: Actor, t0: float, t1: float) -> float:
    return sum(max(0.0, min(b, t1) - max(a, t0)) for a, b in actor.intervals)


def _edge_window(edge: str, duration: float) -> tuple[float, float]:
    width = max(EDGE_MIN_S, duration * EDGE_WINDOW_FRACTION)
    return (max(0.0, duration - width), duration) if edge in ("end", "close", "finish") else (0.0, width)


def most_present(actors: Sequence[Actor], count: int, window: tuple[float, float]) -> list[Actor]:
    ranked = sorted(actors, key=lambda a: (-_screen_time(a, *window), a.actor_id))
    return [a for a in ranked[:count] if _screen_time(a, *window) > 0]


def find_people(
    question: str, actors: Sequence[Actor], duration: float, previous: Sequence[int] = ()
) -> list[PersonRef]:
    """Every person the question names, resolved to actor ids, in the order named (no duplicates)."""
    people = person_actors(actors)
    known = {a.actor_id for a in actors}
    found: list[PersonRef] = []
    taken: list[tuple[int, int]] = []

    def claim(match: re.Match[str]) -> bool:
        span = match.span()
        if any(span[0] < end and start < span[1] for start, end in taken):
            return False
        taken.append(span)
        return True

    for match in _AT_TIME.finditer(question):
        if claim(match):
            present = _on_screen_at(people, _seconds(match.group(1)))
            if not present:
                found.append(PersonRef(None, match.group(0), match.start()))
            for actor in present[:2]:
                found.append(PersonRef(actor.actor_id, match.group(0), match.start()))
    for match in _GROUP.finditer(question):
        if claim(match):
            count = _number(match.group(1))
            window = _edge_window(match.group(2), duration) if match.group(2) else (0.0, duration)
            chosen = most_present(people, count, window)
            found += [PersonRef(a.actor_id, match.group(0), match.start()) for a in sorted(chosen, key=lambda a: a.t0)]
            if len(chosen) < count:
                found.append(PersonRef(None, match.group(0), match.start()))
    for match in _EDGE_ONE.finditer(question):
        if claim(match):
            chosen = most_present(people, 1, _edge_window(match.group(1), duration))
            found.append(PersonRef(chosen[0].actor_id if chosen else None, match.group(0), match.start()))
    for match in _BY_ORDINAL.finditer(question):
        if claim(match):
            rank = ORDINALS[match.group(1).lower()]
            index = rank - 1 if rank > 0 else len(people) + rank
            actor = people[index] if 0 <= index < len(people) else None
            found.append(PersonRef(actor.actor_id if actor else None, match.group(0), match.start()))
    for match in _BY_ID.finditer(question):
        if claim(match):
            number = _number(match.group(1))
            found.append(PersonRef(number if number in known else None, match.group(0), match.start()))
    if not found and previous:
        pronoun = _PRONOUN.search(question)
        if pronoun:
            found += [PersonRef(actor_id, pronoun.group(0), pronoun.start()) for actor_id in previous[:2]]
    ordered: list[PersonRef] = []
    for ref in sorted(found, key=lambda r: r.position):
        if ref.actor_id is None or all(ref.actor_id != r.actor_id for r in ordered):
            ordered.append(ref)
    return ordered


_RANGE = re.compile(r"\b(?:between|from)\s+" + CLOCK + r"\s+(?:and|to|until|till|-)\s+" + CLOCK, re.IGNORECASE)
_MOMENT = re.compile(r"\b(?:at|around|near|by)\s+" + CLOCK, re.IGNORECASE)
_EDGE_SPAN = re.compile(r"\b(?:in|during)\s+the\s+(first|last|final|opening|closing)\s+(\d+(?:\.\d+)?)\s*"
                        r"(?:s|sec|secs|seconds?)\b", re.IGNORECASE)  # fmt: skip


_AT_EDGE = re.compile(r"\b(?:at|in|near|towards?)\s+the\s+(very\s+)?(end|beginning|start|close)\b(?!\s+of\s+(?!the video))",
                      re.IGNORECASE)  # fmt: skip


def mentioned_range(question: str, duration: float) -> tuple[float, float] | None:
    """A time range the question names: 'between 0:10 and 0:20', 'in the last 5 seconds', 'at the end'."""
    match = _RANGE.search(question)
    if match:
        t0, t1 = sorted((_seconds(match.group(1)), _seconds(match.group(2))))
        return t0, t1
    match = _EDGE_SPAN.search(question)
    if match:
        width = float(match.group(2))
        if match.group(1).lower() in ("first", "opening"):
            return 0.0, min(width, duration)
        return max(0.0, duration - width), duration
    match = _AT_EDGE.search(question)
    if match and not _GROUP.search(question) and not _EDGE_ONE.search(question):
        return _edge_window(match.group(2).lower(), duration)
    return None


def mentioned_moment(question: str) -> float | None:
    """A single moment the question names outside any person reference: 'what is said at 0:30'."""
    if _RANGE.search(question):
        return None
    match = _MOMENT.search(question)
    return _seconds(match.group(1)) if match else None
