"""Object tools: `find_objects` says when everyday objects (the detector's COCO classes) are shown, how often, how
many at once, what is shown with them or after them; `list_objects` says which objects are shown in a time range.

The user's words map to classes through memory.objects.ObjectVocabulary ("a mug" finds `cup`). A class the
detector knows but never found is said as "not detected", with the classes it did find; a video no object
detector ran on is said to be unknown, never empty.
"""

from __future__ import annotations

from typing import Literal

from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from core.types import Evidence, ObjectSightings
from memory.objects import Appearance, ObjectVocabulary, appearances, at_once, classes_seen
from memory.video_memory import VideoMemory
from tools.binding import ToolInfo, ToolResult, VideoSet, check_within, make_tool
from tools.render import render_evidence
from tools.search import overlaps
from tools.timecodes import TimeRange

Relation = Literal["with", "after", "before"]
NEXT_WITHIN_S = 1.0
"""Objects first shown within this long of the first one after (or before) an appearance all count as 'next'."""
MAX_LISTED = 40


def unseen_reason(memory: VideoMemory) -> str:
    """Why a video's objects are unknown ('' when an object detector ran on it)."""
    if memory.object_sightings() is None:
        return (f"{memory.ref.path.name}: no object detector ran on this video, so which objects it shows is "
                "unknown")  # fmt: skip
    return ""


def appearance_text(shown: Appearance) -> str:
    """'cup on screen (1 at once)', or 'probably a cup on screen (detector score 0.46; 1 at once)'."""
    many = f"{shown.most} at once"
    if shown.sure:
        return f"{shown.label} on screen ({many})"
    return f"probably a {shown.label} on screen (detector score {shown.confidence:.2f}; {many})"


def appearance_evidence(memory: VideoMemory, shown: Appearance, source: str, extra: str = "") -> Evidence:
    return Evidence("object", memory.video_id, shown.t0, shown.t1, appearance_text(shown) + extra, shown.confidence,
                    source, keyframe=shown.t0)  # fmt: skip


def _all_appearances(memory: VideoMemory, sightings: ObjectSightings) -> list[Appearance]:
    cuts = memory.shot_cuts()
    found = [a for label in sightings.counts if label != "person" for a in appearances(sightings, label, cuts)]
    return sorted(found, key=lambda a: (a.t0, a.label))


def _seen_list(memory: VideoMemory, sightings: ObjectSightings) -> str:
    seen = classes_seen(sightings, memory.shot_cuts())
    step = (sightings.times[-1] - sightings.times[0]) / max(len(sightings.times) - 1, 1) if sightings.times else 0
    rate = f", about {1 / step:.0f} a second" if step > 0 else ""
    listed = ", ".join(seen) if seen else "nothing"
    return (f"the object detector looked at {len(sightings.times)} frames{rate} and found: {listed} (it knows "
            f"{len(sightings.classes)} everyday classes; smaller or unusual things may be missed)")  # fmt: skip


def _note(memory: VideoMemory, text: str, source: str) -> Evidence:
    """A remark about the whole video (what was not detected, a count): cited as spanning all of it."""
    return Evidence("note", memory.video_id, 0.0, round(memory.ref.duration, 2), text, 0.0, source)


class FindObjectsArgs(BaseModel):
    """Arguments for finding everyday objects by name."""

    query: str = Field(description="The objects, in the user's words (e.g. 'mug', 'cat and dog', 'animals').")
    video: str | None = Field(default=None, description="Which video (file name or id); omit for the first.")
    t_range: TimeRange | None = Field(default=None, description="Only [start, end] in seconds or 'mm:ss'.")
    relation: Relation | None = Field(
        default=None, description="Also what is shown 'with' the object, or first 'after' / 'before' it."
    )
    count: bool = Field(default=False, description="Also count its separate showings and the most at once.")


def find_objects_tool(videos: VideoSet) -> BaseTool:
    def run(
        query: str,
        video: str | None = None,
        t_range: tuple[float, float] | None = None,
        relation: Relation | None = None,
        count: bool = False,
    ) -> ToolResult:
        memory = videos.resolve(video)
        if t_range is not None:
            check_within(memory, t_range[0])
        sightings = memory.object_sightings()
        if sightings is None:
            return unseen_reason(memory), []
        vocabulary = ObjectVocabulary(sightings.classes or tuple(sightings.counts), videos.models.text_embedder())
        labels = vocabulary.match(query.replace(",", " ").split())
        if not labels:
            note = _note(memory, f'no object class the detector knows matches "{query}"; '
                         + _seen_list(memory, sightings), "find_objects")  # fmt: skip
            return note.text, [note]
        evidence: list[Evidence] = []
        cuts = memory.shot_cuts()
        everything = _all_appearances(memory, sightings) if relation is not None else []
        missing: list[str] = []
        for label in labels:
            shown = [a for a in appearances(sightings, label, cuts) if overlaps(_as_span(a), t_range)]
            if not shown:
                missing.append(label)
                continue
            if count:
                most, when = at_once(sightings, label)
                times = "time" if len(shown) == 1 else "times"
                evidence.append(_note(memory, f"Counted: {label} shown {len(shown)} separate {times}; at most {most} "
                                      f"at once (first at {when:.1f} s)", "find_objects"))  # fmt: skip
            for appearance in shown:
                extra = ""
                if relation == "with":
                    others = sorted({a.label for a in everything if a.label != label and a.t0 <= appearance.t1
                                     and a.t1 >= appearance.t0})  # fmt: skip
                    others += ["a person"] if _people_during(memory, appearance) else []
                    extra = f"; shown with: {', '.join(others) if others else 'no other object it knows'}"
                evidence.append(appearance_evidence(memory, appearance, "find_objects", extra))
            if relation in ("after", "before"):
                evidence += _neighbours(memory, everything, shown[0], relation)
        if missing:
            where = "" if t_range is None else f" between {t_range[0]:g} s and {t_range[1]:g} s"
            names = missing[0] if len(missing) == 1 else ", ".join(missing[:-1]) + " or " + missing[-1]
            evidence.append(_note(memory, f"no {names} was detected{where}: " + _seen_list(memory, sightings),
                                  "find_objects"))  # fmt: skip
        return render_evidence(evidence, videos.render_names()), evidence

    return make_tool(
        run,
        "find_objects",
        "When everyday objects (cup, cat, clock, car... the detector's COCO classes) are shown, how often, how many "
        "at once, and what is shown with or after them; says which objects it can see when one is not found.",
        FindObjectsArgs,
        ToolInfo("looking for objects", "the detected objects"),
    )


def _as_span(appearance: Appearance) -> Evidence:
    return Evidence("object", "", appearance.t0, appearance.t1, appearance.label, 0.0, "")


def _people_during(memory: VideoMemory, appearance: Appearance) -> bool:
    """Whether a tracked person is on screen during the appearance (the actor graph sees people better)."""
    return any(a.label == "person" and a.t0 <= appearance.t1 and a.t1 >= appearance.t0 for a in memory.actors())


def _neighbours(memory: VideoMemory, everything: list[Appearance], anchor: Appearance, relation: Relation) -> list[Evidence]:
    """The other objects first shown next after (or last before) the anchor appearance."""
    if relation == "after":
        later = [a for a in everything if a.t0 > anchor.t1 and a.label != anchor.label]
        if not later:
            return [_note(memory, f"no other object is detected after the {anchor.label}", "find_objects")]
        first = min(a.t0 for a in later)
        chosen = [a for a in later if a.t0 <= first + NEXT_WITHIN_S]
    else:
        earlier = [a for a in everything if a.t1 < anchor.t0 and a.label != anchor.label]
        if not earlier:
            return [_note(memory, f"no other object is detected before the {anchor.label}", "find_objects")]
        last = max(a.t1 for a in earlier)
        chosen = [a for a in earlier if a.t1 >= last - NEXT_WITHIN_S]
    word = "next after" if relation == "after" else "last before"
    return [appearance_evidence(memory, a, "find_objects", f"; {word} the {anchor.label}") for a in chosen]


class ListObjectsArgs(BaseModel):
    """Arguments for listing the objects shown."""

    video: str | None = Field(default=None, description="Which video (file name or id); omit for the first.")
    t_range: TimeRange | None = Field(default=None, description="Only [start, end] in seconds or 'mm:ss'.")


def list_objects_tool(videos: VideoSet) -> BaseTool:
    def run(video: str | None = None, t_range: tuple[float, float] | None = None) -> ToolResult:
        memory = videos.resolve(video)
        if t_range is not None:
            check_within(memory, t_range[0])
        sightings = memory.object_sightings()
        if sightings is None:
            return unseen_reason(memory), []
        shown = [a for a in _all_appearances(memory, sightings) if overlaps(_as_span(a), t_range)][:MAX_LISTED]
        if not shown:
            note = _note(memory, "no object was detected" + ("" if t_range is None else " then") + ": "
                         + _seen_list(memory, sightings), "list_objects")  # fmt: skip
            return note.text, [note]
        evidence = [appearance_evidence(memory, a, "list_objects") for a in shown]
        return render_evidence(evidence, videos.render_names()), evidence

    return make_tool(
        run,
        "list_objects",
        "Every everyday object (COCO class) detected in a time range or the whole video, in the order shown.",
        ListObjectsArgs,
        ToolInfo("listing the objects shown", "the detected objects"),
    )
