"""Answer composition without a VLM: the best evidence, quoted, each with its [mm:ss] citation.

Nothing is invented: every line is a quoted transcript line, a tracked person with their time span, a
visual match or caption, or a note a tool gave (e.g. "nobody is on screen at 0:30"), or the explicit
statement that nothing matched.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.types import Evidence, format_timestamp
from memory.text_search import QUESTION_FRAME_WORDS, content_tokens
from prompts import render
from tools.timecodes import parse_time

if TYPE_CHECKING:
    from agent.context import AgentContext

MAX_SPEECH = 3
MAX_SPEECH_IN_ORDER = 12
"""Lines kept when reading a stretch of speech in order (a follow-up or a summary)."""
MAX_PEOPLE = 8
MAX_VISUAL = 3
MAX_NOTES = 4
MAX_SCREEN = 8
MAX_OBJECTS = 12
VISUAL_KINDS = ("segment", "caption", "dense_caption", "scene")
TEXT_PRESENCE_S = 1.0
"""Text on screen this long within a scene's showing counts the showing as one with text (an item's end may run up
to half a second past its last read frame, into the next shot)."""
SCENE_PRESENCE_S = 1.0
SCENE_PRESENCE_SHARE = 0.3
"""A person on screen this long (and this share of the scene) counts the scene as one with a person; a track
running a moment past a cut does not count the next scene."""
SPEECH_LEAD = "What is said:"
SPEAKERS_LEAD = "Who speaks:"
PEOPLE_LEAD = "Who is on screen:"
VISUAL_LEAD = "Where it is seen:"
NOTES_LEAD = "What the tools noted:"
"""Remarks, not findings: "no key moments between 00:20 and 00:30" is where a tool looked and found nothing."""
SCREEN_LEAD = "What is written on screen:"
OBJECTS_LEAD = "Objects seen (the object detector):"
"""Headings of the rule answer's blocks (its layout is code; prompts/ holds what a model reads)."""


@dataclass(frozen=True)
class Composition:
    """The answer text and exactly the evidence it cites."""

    text: str
    cited: list[Evidence]


def _span(evidence: Evidence, names: Mapping[str, str] | None = None) -> str:
    start, end = format_timestamp(evidence.t0), format_timestamp(evidence.t1)
    name = f"{names[evidence.video_id]} " if names and evidence.video_id in names else ""
    return f"[{name}{start}]" if start == end else f"[{name}{start}]-[{end}]"


def _named(evidence: Evidence, names: Mapping[str, str] | None) -> str:
    """'talk.mp4: ' before a line of a several-video answer ('' for one video)."""
    return f"{names[evidence.video_id]}: " if names and evidence.video_id in names else ""


def video_names(context: AgentContext) -> dict[str, str] | None:
    """Video id -> file name when the conversation spans several videos (citations then name their video);
    None for one video."""
    if len(context.memories) < 2:
        return None
    return {m.video_id: m.ref.path.name for m in context.memories}


def _speech(evidence: list[Evidence], in_order: bool) -> list[Evidence]:
    lines = [e for e in evidence if e.kind == "transcript"]
    if in_order:
        return sorted(lines, key=lambda e: e.t0)[:MAX_SPEECH_IN_ORDER]
    return sorted(sorted(lines, key=lambda e: -e.score)[:MAX_SPEECH], key=lambda e: e.t0)


def compose_answer(
    question: str,
    evidence: list[Evidence],
    searched: list[str],
    asked_people: bool,
    notes: list[str],
    *,
    first: bool = False,
    in_order: bool = False,
    best_first: bool = False,
    count_of: str | None = None,
    names: Mapping[str, str] | None = None,
    count_topic: str = "",
    screen_topic: str = "",
    again: bool = False,
) -> Composition:
    """Group evidence by kind, keep the strongest, and render it through the answer templates.

    `first` leads with the earliest person found (for "when does X first appear"); `in_order` keeps a
    read stretch of speech in time order rather than the best few lines; `best_first` puts the best line
    first (for "when is X mentioned"); `count_of` leads with the count a "how many" question asks for; `names`
    (video id -> file name) makes every citation name its video; `screen_topic` (a question not about text on
    screen) keeps only the on-screen texts found by search that share a word with it; `again` leads with when the
    person found comes back ("when does she come back on screen")."""
    speech = _speech(evidence, in_order)
    if best_first and not in_order:
        speech.sort(key=lambda e: -e.score)
    people = sorted((e for e in evidence if e.kind == "actor"), key=lambda e: e.t0)[:MAX_PEOPLE]
    speakers = sorted((e for e in evidence if e.kind == "speaker"), key=lambda e: e.t0)[:MAX_SPEECH_IN_ORDER]
    visual = sorted((e for e in evidence if e.kind in VISUAL_KINDS), key=lambda e: -e.score)[:MAX_VISUAL]
    notes_all = list(dict.fromkeys(e for e in evidence if e.kind == "note"))
    object_counts = [e for e in notes_all if e.source == "find_objects" and e.text.startswith("Counted:")]
    tool_notes = [e for e in notes_all if e not in object_counts][:MAX_NOTES]
    objects = sorted(dict.fromkeys(e for e in evidence if e.kind == "object"), key=lambda e: (e.t0, e.text))
    blocks: list[str] = []
    counted = _count(count_of, evidence, count_topic)
    if counted:
        blocks.append(counted)
    if object_counts and count_of in ("object_times", "object_most"):
        blocks.append("\n".join(f"{_named(e, names)}{e.text}." for e in object_counts))
    if again and people:
        blocks.append(_back_on_screen(people[0], names))
    elif first and people:
        blocks.append(f"First: {people[0].cite(names)} {people[0].text}")
    if speech:
        lines = [f"- {e.cite(names)} “{e.text.strip()}”" for e in speech]
        blocks.append("\n".join([SPEECH_LEAD, *lines]))
    screen = _screen_text(evidence, screen_topic)
    if screen:
        lines = [f"- {e.cite(names)} “{e.text.strip()}”" for e in screen]
        blocks.append("\n".join([SCREEN_LEAD, *lines]))
    if objects:
        lines = [f"- {_span(e, names)} {e.text}" for e in objects[:MAX_OBJECTS]]
        blocks.append("\n".join([OBJECTS_LEAD, *lines]))
    if speakers:
        lines = [f"- {e.cite(names)} {e.text}" for e in speakers]
        blocks.append("\n".join([SPEAKERS_LEAD, *lines]))
    if people:
        lines = [f"- {_named(e, names)}{e.text}" for e in people]
        blocks.append("\n".join([PEOPLE_LEAD, *lines]))
    elif asked_people and "the tracked people" in searched and not tool_notes and not speakers and not any(
        e.source == "query_actors" for e in evidence
    ):  # "nobody was tracked" only from the actor graph's own answer
        reason = "".join(f" ({note})" for note in notes if "tracked" in note)
        blocks.append(render("no_people", reason=reason))
    if visual:
        lines = [f"- {_span(e, names)} {e.text}" for e in visual]
        blocks.append("\n".join([VISUAL_LEAD, *lines]))
    if tool_notes:
        lines = [f"- {_span(e, names)} {e.text}" for e in tool_notes]
        blocks.append("\n".join([NOTES_LEAD, *lines]))
    cited = [*speech, *screen, *objects[:MAX_OBJECTS], *speakers, *people, *visual, *tool_notes, *object_counts]
    if not cited and not (asked_people and blocks):
        searched_text = join_names(searched) if searched else "the video's memory"
        text = render("no_evidence", searched=searched_text, question=question.strip())
        extra = [note for note in notes if note]
        if extra:
            text += " Note: " + "; ".join(extra) + "."
        return Composition(text, [])
    return Composition("\n\n".join(blocks), cited)


PLACING_WORDS = frozenset(
    "first last again back come comes came return returns second third time times appear appears appeared shown "
    "show shows seen screen picture video clip start end beginning".split()
)
"""Words that place a thing in the video rather than name it: a text sharing only these is no match."""


def _screen_text(evidence: list[Evidence], topic: str = "") -> list[Evidence]:
    """The on-screen texts to quote: in the order shown when they were read in order, else best first; with a
    `topic`, searched texts only when they share a word with it (a near miss by meaning is noise there)."""
    found = list(dict.fromkeys(e for e in evidence if e.kind == "screen_text"))
    if topic:
        wanted = set(content_tokens(topic, drop=QUESTION_FRAME_WORDS | PLACING_WORDS))
        found = [e for e in found if e.source != "search_screen_text" or wanted & set(content_tokens(e.text))]
    if any(e.source == "read_screen_text" for e in found):
        return sorted(found, key=lambda e: (e.t0, e.video_id))[:MAX_SPEECH_IN_ORDER]
    return sorted(found, key=lambda e: -e.score)[:MAX_SCREEN]


COUNT_FRAME = frozenset(
    "many time times lines line sentences sentence statements statement count number often total speak speaks spoke "
    "word words distinct separate different spoken heard audio".split()
)
"""Words of a how-many question that frame it rather than name what is counted."""


def _count(count_of: str | None, evidence: list[Evidence], topic: str = "") -> str:
    """'Counted: 4 lines of speech.' for a how-many question, from the evidence of that kind ('' if none); a
    speech count naming a topic ("how many times is the bridge mentioned") counts the lines that say it."""
    if count_of == "speech":
        lines = {(e.t0, e.text) for e in evidence if e.kind == "transcript"}
        wanted = set(content_tokens(topic, drop=QUESTION_FRAME_WORDS | COUNT_FRAME))
        if wanted:
            lines = {(t0, text) for t0, text in lines if wanted & set(content_tokens(text))}
            n, noun = len(lines), f"lines of speech that say {' / '.join(sorted(wanted))}"
            return f"Counted: {n} {noun}."
        n, noun = len(lines), "lines of speech"
    elif count_of == "scenes":
        n, noun = len([e for e in evidence if e.kind == "scene"]), "scenes"
    elif count_of == "people_scenes":
        people = [part for e in evidence if e.kind == "actor" for part in _appearances(e)]
        scenes = {(e.t0, e.t1) for e in evidence if e.kind == "scene"}
        n = _showings_with(scenes, people, lambda t0, t1, p: _overlap(t0, t1, p.t0, p.t1)
                           >= max(SCENE_PRESENCE_S, SCENE_PRESENCE_SHARE * (t1 - t0)))  # fmt: skip
        noun = "scenes with a tracked person on screen"
        return f"Counted: {n} {noun}." if scenes else ""
    elif count_of == "text_scenes":
        texts = [e for e in evidence if e.kind == "screen_text"]
        scenes = {(e.t0, e.t1) for e in evidence if e.kind == "scene"}
        n = _showings_with(scenes, texts, lambda t0, t1, x: _overlap(t0, t1, x.t0, x.t1) >= TEXT_PRESENCE_S)
        return f"Counted: {n} scenes with text on screen." if scenes and texts else ""
    elif count_of == "people":
        n, noun = len({e.text.split(" on screen")[0] for e in evidence if e.kind == "actor"}), "tracked people"
    else:
        return ""
    return f"Counted: {n} {noun}." if n else ""


_APPEARANCE = re.compile(r"\[(\d+(?::\d{2}){1,2})\]-\[(\d+(?::\d{2}){1,2})\]")


def _appearances(person: Evidence) -> list[Evidence]:
    """A person's evidence split into its separate appearances ("on screen [00:16]-[00:20], [00:36]-[00:40]"
    spans 16-40 as one item, though nobody is on screen between): the gaps are not counted as presence."""
    text = person.text
    listed = (text.partition("all appearances ")[2] if "all appearances " in text
              else text.partition(" on screen ")[2].split(" (")[0]).split(";")[0]  # fmt: skip
    spans = [(parse_time(a), parse_time(b)) for a, b in _APPEARANCE.findall(listed)]
    if len(spans) < 2:
        return [person]
    return [dataclasses.replace(person, t0=t0, t1=t1) for t0, t1 in spans]


def _back_on_screen(person: Evidence, names: Mapping[str, str] | None) -> str:
    """'Back on screen: [00:36] ...' (the person's second appearance), or that the tracker saw them only once."""
    parts = _appearances(person)
    who = person.text.split(" on screen")[0]
    if len(parts) < 2:
        return f"Not back: {who} is on screen once, {_span(person, names)}."
    return f"Back on screen: {parts[1].cite(names)} {who} returns, appearance 2 of {len(parts)} ({_span(parts[1], names)})."


def _showings_with(
    scenes: set[tuple[float, float]], things: list[Evidence], shows: Callable[[float, float, Evidence], bool]
) -> int:
    """How many scene showings show one of `things`, a showing that continues the one before it (no gap) with only
    what that one showed counting once: clustering can cut one shot in two where its segments change scene."""
    count, previous, previous_end = 0, frozenset[int](), None
    for t0, t1 in sorted(scenes):
        shown = frozenset(i for i, thing in enumerate(things) if shows(t0, t1, thing))
        if shown and not (previous_end is not None and abs(t0 - previous_end) < 1e-6 and shown <= previous):
            count += 1
        previous, previous_end = shown, t1
    return count


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def join_names(items: list[str]) -> str:
    """'a, b and c' (repeats dropped)."""
    unique = list(dict.fromkeys(items))
    if len(unique) == 1:
        return unique[0]
    return ", ".join(unique[:-1]) + " and " + unique[-1]
