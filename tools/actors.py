"""`query_actors`: questions about the people (and objects) on screen, answered from the actor graph.

The arguments are shaped like the questions users ask: `who` is on screen (at a moment, in a range, at
all), `when` is actor N on screen, `with_whom` do they share the screen, their `first_meeting`, their
`trajectory` across the frame, and what is `said` while they are on screen. An actor is named by id,
or by a moment they are on screen (`at`: "the person on screen at 0:30"). The older call
`query_actors(label, t0, t1)` still works and means `who` in that range.
"""

from __future__ import annotations

import math
from typing import Literal

from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from core.types import Actor, Evidence, format_timestamp
from memory.actor_graph.build import build_actor_graph
from memory.actor_graph.query import ActorGraph
from memory.notes import manifest_notes
from memory.video_memory import VideoMemory
from tools.binding import VIDEO_FIELD_HELP, ToolError, ToolInfo, ToolResult, VideoSet, check_within, make_tool
from tools.render import render_evidence
from tools.timecodes import Seconds, TimeRange

Ask = Literal["who", "when", "with_whom", "first_meeting", "trajectory", "said", "speakers"]
ANY_LABEL = ("any", "all", "*")
STILL = 0.05
"""Below this displacement (fraction of the frame) an actor counts as staying in place."""
SOURCE = "query_actors"


class ActorArgs(BaseModel):
    """Arguments of a question about who is on screen."""

    ask: Ask = Field(
        default="who",
        description=(
            "who: who is on screen (at `at`, in `t_range`, or at all); when: when `actor` is on screen; "
            "with_whom: who shares the screen with `actor` (or when with `other`); first_meeting: when `actor` "
            "and `other` (or anyone) first appear together; trajectory: where `actor` moves in the frame; "
            "said: what is said while `actor` is on screen, with the likely speaker; speakers: who says each line "
            "(in `t_range`, or all), an on-screen actor or the narrator / an off-screen voice."
        ),
    )
    actor: int | None = Field(default=None, description="Actor id (as listed by ask='who').")
    other: int | None = Field(default=None, description="A second actor id, for with_whom and first_meeting.")
    at: Seconds | None = Field(
        default=None,
        description="A moment (seconds or 'mm:ss'): with ask='who', who is on screen then; otherwise it names "
        "the actor on screen then, e.g. 'the person on screen at 0:30'.",
    )
    t_range: TimeRange | None = Field(default=None, description="Only within [start, end] (seconds or 'mm:ss').")
    label: str = Field(default="person", description="Object class, e.g. 'person'; 'any' for every class.")
    video: str | None = Field(default=None, description=VIDEO_FIELD_HELP)
    t0: Seconds | None = Field(default=None, description="Deprecated: start of the range; use t_range.")
    t1: Seconds | None = Field(default=None, description="Deprecated: end of the range; use t_range.")


def _span(t0: float, t1: float) -> str:
    return f"[{format_timestamp(t0)}]-[{format_timestamp(t1)}]"


def _spans(intervals: list[tuple[float, float]]) -> str:
    return ", ".join(_span(a, b) for a, b in intervals)


def _region(x: float, y: float) -> str:
    horizontal = "left" if x < 1 / 3 else "right" if x > 2 / 3 else "centre"
    vertical = "top" if y < 1 / 3 else "bottom" if y > 2 / 3 else "middle"
    if horizontal == "centre" and vertical == "middle":
        return "centre"
    return f"{vertical} {horizontal}" if vertical != "middle" else horizontal


class _ActorQuery:
    """One question about one video's actors."""

    def __init__(self, memory: VideoMemory, graph: ActorGraph, label: str) -> None:
        self.memory = memory
        self.graph = graph
        self.label = label
        self.records: dict[int, Actor] = {a.actor_id: a for a in memory.actors()}

    def evidence(self, kind: str, t0: float, t1: float, text: str, score: float = 1.0,
                 keyframe: float | None = None) -> Evidence:  # fmt: skip
        middle = round((t0 + t1) / 2, 3)
        return Evidence(kind, self.memory.video_id, round(t0, 3), round(t1, 3), text, score, SOURCE,  # type: ignore[arg-type]
                        keyframe if keyframe is not None else middle)  # fmt: skip

    def note(self, t0: float, t1: float, text: str) -> Evidence:
        return self.evidence("note", t0, t1, text, score=0.0)

    def matches(self, actor_id: int) -> bool:
        return self.label.lower() in ANY_LABEL or self.graph.actor(actor_id).label == self.label

    def name(self, actor_id: int) -> str:
        return f"{self.graph.actor(actor_id).label} (actor {actor_id})"

    def intervals(self, actor_id: int) -> list[tuple[float, float]]:
        return [(i.t0, i.t1) for i in self.graph.appearances(actor_id)]

    def behaviours(self, actor_id: int, window: tuple[float, float] | None) -> str:
        record = self.records.get(actor_id)
        moves = [b for b in (record.behaviours if record else ()) if b.t1 - b.t0 > 0]
        if window is not None:
            moves = [b for b in moves if b.t0 <= window[1] and b.t1 >= window[0]]
        if not moves:
            return ""
        return "; " + ", ".join(f"{b.label.replace('_', ' ')} {_span(b.t0, b.t1)}" for b in moves[:4])

    def whole(self) -> tuple[float, float]:
        return 0.0, self.memory.ref.duration

    # --- the questions ------------------------------------------------------------------------

    def who(self, at: float | None, window: tuple[float, float] | None) -> list[Evidence]:
        asked = (at, at) if at is not None else window
        if asked is None:
            found = []
            for actor_id in self.graph.actor_ids:
                if self.matches(actor_id):
                    spans = self.intervals(actor_id)
                    text = f"{self.name(actor_id)} on screen {_spans(spans)}{self.behaviours(actor_id, None)}"
                    found.append(self.evidence("actor", spans[0][0], spans[-1][1], text,
                                               keyframe=self.graph.actor(actor_id).keyframe))  # fmt: skip
            found.sort(key=lambda e: (e.t0, e.text))
            return found or [self.untracked()]
        found = []
        for presence in self.graph.on_screen(*asked):
            if not self.matches(presence.actor_id):
                continue
            spans = self.intervals(presence.actor_id)
            if at is not None:
                t0, t1 = next(((a, b) for a, b in spans if a <= at <= b), (presence.t0, presence.t1))
                text = (
                    f"{self.name(presence.actor_id)} on screen at [{format_timestamp(at)}] (appearance {_span(t0, t1)})"
                )
            else:
                t0, t1 = presence.t0, presence.t1
                text = (f"{self.name(presence.actor_id)} on screen {_span(t0, t1)} ({presence.seconds:.1f} s of "
                        f"{_span(*asked)}); all appearances {_spans(spans)}")  # fmt: skip
            found.append(self.evidence("actor", t0, t1, text + self.behaviours(presence.actor_id, (t0, t1)),
                                       keyframe=at if at is not None else None))  # fmt: skip
        if found:
            return found
        where = f"at [{format_timestamp(at)}]" if at is not None else f"during {_span(*asked)}"
        return [self.note(*asked, f"no {self._label_words()} is on screen {where}{self._elsewhere()}")]

    def when(self, actor_id: int, window: tuple[float, float] | None) -> list[Evidence]:
        spans = self.intervals(actor_id)
        chosen = [(i, a, b) for i, (a, b) in enumerate(spans) if window is None or (a <= window[1] and b >= window[0])]
        found = [
            self.evidence("actor", a, b, f"{self.name(actor_id)} on screen {_span(a, b)} (appearance {i + 1} of "
                          f"{len(spans)}, {b - a:.1f} s){self.behaviours(actor_id, (a, b))}")
            for i, a, b in chosen
        ]  # fmt: skip
        if found or window is None:
            return found
        text = f"actor {actor_id} is not on screen during {_span(*window)}; they appear {_spans(spans)}"
        return [self.note(*window, text)]

    def with_whom(self, actor_id: int, other: int | None, window: tuple[float, float] | None) -> list[Evidence]:
        others = [other] if other is not None else [c.actor_id for c in self.graph.companions(actor_id)]
        found: list[Evidence] = []
        for partner in others:
            together = self.graph.together(actor_id, partner)
            for interval in together.intervals:
                if window is not None and not (interval.t0 <= window[1] and interval.t1 >= window[0]):
                    continue
                close = [i for i in together.interaction if i.t0 <= interval.t1 and i.t1 >= interval.t0]
                text = (f"{self.name(partner)} on screen with actor {actor_id} {_span(interval.t0, interval.t1)} "
                        f"({together.seconds:.1f} s together in all)")  # fmt: skip
                if close:
                    text += "; close to each other " + _spans([(i.t0, i.t1) for i in close])
                found.append(self.evidence("actor", interval.t0, interval.t1, text))
        if found:
            return sorted(found, key=lambda e: e.t0)
        whom = f"actor {other}" if other is not None else "any other tracked actor"
        during = f" during {_span(*window)}" if window is not None else ""
        return [self.note(*(window or self.whole()), f"actor {actor_id} is never on screen with {whom}{during} "
                          f"(actor {actor_id} appears {_spans(self.intervals(actor_id))})")]  # fmt: skip

    def first_meeting(self, actor_id: int, other: int | None) -> list[Evidence]:
        others = [other] if other is not None else [c.actor_id for c in self.graph.companions(actor_id)]
        found: list[Evidence] = []
        for partner in others:
            meeting = self.graph.meeting(actor_id, partner)
            if meeting is None:
                continue
            first = self.graph.together(actor_id, partner).intervals[0]
            text = f"actors {actor_id} and {partner} first share the screen at [{format_timestamp(meeting.time)}]"
            if meeting.interaction_time is not None:
                text += f"; they first come close at [{format_timestamp(meeting.interaction_time)}]"
            text += f" ({meeting.seconds_together:.1f} s together in all)"
            found.append(self.evidence("actor", meeting.time, first.t1, text, keyframe=meeting.time))
        if found:
            return sorted(found, key=lambda e: e.t0)
        whom = f"actor {other}" if other is not None else "any other tracked actor"
        return [self.note(*self.whole(), f"actor {actor_id} and {whom} are never on screen together")]

    def trajectory(self, actor_id: int, window: tuple[float, float] | None) -> list[Evidence]:
        points = self.graph.trajectory(actor_id)
        found: list[Evidence] = []
        for a, b in self.intervals(actor_id):
            inside = [
                p for p in points if a - 1e-6 <= p.t <= b + 1e-6 and (window is None or window[0] <= p.t <= window[1])
            ]
            if not inside:
                continue
            start, end = inside[0], inside[-1]
            moved = math.hypot(end.cx - start.cx, end.cy - start.cy)
            if moved < STILL:
                text = (f"actor {actor_id} stays at the {_region(start.cx, start.cy)} of the frame (x {start.cx:.2f}, "
                        f"y {start.cy:.2f}) from [{format_timestamp(start.t)}] to [{format_timestamp(end.t)}]")  # fmt: skip
            else:
                text = (f"actor {actor_id} moves from the {_region(start.cx, start.cy)} (x {start.cx:.2f}, y {start.cy:.2f}) "
                        f"at [{format_timestamp(start.t)}] to the {_region(end.cx, end.cy)} (x {end.cx:.2f}, "
                        f"y {end.cy:.2f}) at [{format_timestamp(end.t)}]")  # fmt: skip
            found.append(self.evidence("actor", start.t, end.t, text))
        if found:
            return found
        return [self.note(*(window or self.whole()), f"no positions of actor {actor_id} in the asked range")]

    def said(self, actor_id: int, window: tuple[float, float] | None) -> tuple[list[Evidence], list[str]]:
        lines = [
            line for line in self.graph.said_while_on_screen(actor_id)
            if window is None or (line.t0 <= window[1] and line.t1 >= window[0])
        ]  # fmt: skip
        found = [
            self.evidence("transcript", line.t0, line.t1, line.text, score=round(line.confidence, 3)) for line in lines
        ]
        found += [
            self.note(line.t0, line.t1, f"actor {actor_id} is on screen but not the likely speaker of this line: "
                      + ("the narrator or an off-screen voice" if line.speaker is None else f"actor {line.speaker}"))
            for line in lines if not line.likely_speaker
        ]  # fmt: skip
        remarks = []
        for line in lines:
            speaker = "unknown" if line.speaker is None else f"actor {line.speaker}"
            remarks.append(f" (while actor {actor_id} is on screen, {line.on_screen_fraction:.0%} of the line; "
                           f"likely speaker: {speaker}, confidence {line.confidence:.2f})")  # fmt: skip
        remarks += [""] * (len(found) - len(remarks))  # the notes on lines someone else says
        if found:
            return found, remarks
        return [self.note(*(window or self.whole()), f"nothing is said while actor {actor_id} is on screen")], [""]

    def speakers(self, window: tuple[float, float] | None) -> list[Evidence]:
        """Who says each line: an actor only where a moving person is on screen, else the narrator."""
        found = []
        for line in self.graph.spoken_lines(window):
            if line.speaker is None:
                reason = line.note.split(":")[0]
                who = f"the narrator or an off-screen voice ({reason})" if reason else "the narrator or an off-screen voice"
            else:
                who = f"likely {self.name(line.speaker)} (confidence {line.confidence:.2f}; {line.note})"
            found.append(self.evidence("speaker", line.t0, line.t1, f"{who} says: “{line.text.strip()}”",
                                       score=round(line.confidence, 3) if line.speaker is not None else 1.0))  # fmt: skip
        if found:
            return found
        return [self.note(*(window or self.whole()), "nothing is said" + ("" if window is None else " in that range"))]

    # --- helpers ------------------------------------------------------------------------------

    def untracked(self) -> Evidence:
        return self.note(*self.whole(), f"no {self._label_words()} is tracked in this video{self._why()}")

    def _label_words(self) -> str:
        return "actor" if self.label.lower() in ANY_LABEL else self.label

    def _why(self) -> str:
        reasons = [n for n in manifest_notes(self.memory.manifest) if "detector" in n]
        labels = sorted({self.graph.actor(i).label for i in self.graph.actor_ids})
        if reasons:
            return f" ({'; '.join(reasons)})"
        return f" (tracked: {', '.join(labels)})" if labels else ""

    def _elsewhere(self) -> str:
        shown = [(i, self.intervals(i)) for i in self.graph.actor_ids if self.matches(i)]
        if not shown:
            return self._why()
        return "; on screen elsewhere: " + "; ".join(f"actor {i} {_spans(spans)}" for i, spans in shown[:6])

    def actor_at(self, at: float) -> int:
        """The one actor (of the label) on screen at `at`, or a ToolError naming who is on screen when."""
        here = [i for i in self.graph.actors_at(at) if self.matches(i)]
        if len(here) == 1:
            return here[0]
        if not here:
            raise ToolError(f"no {self._label_words()} is on screen at {format_timestamp(at)}{self._elsewhere()}")
        raise ToolError(f"{len(here)} actors are on screen at {format_timestamp(at)} ({', '.join(map(str, here))}); "
                        "name one with `actor`")  # fmt: skip


def query_actors_tool(videos: VideoSet) -> BaseTool:
    graphs: dict[tuple[str, str | None], ActorGraph] = {}

    def graph_of(memory: VideoMemory) -> ActorGraph:
        key = (memory.video_id, memory.run_id("graph"))
        if key not in graphs:
            graph = memory.actor_graph()
            if graph.is_empty and memory.actors():
                graph = ActorGraph(build_actor_graph(memory))  # ingested before the graph stage existed
            graphs[key] = graph
        return graphs[key]

    def run(
        ask: Ask = "who",
        actor: int | None = None,
        other: int | None = None,
        at: float | None = None,
        t_range: tuple[float, float] | None = None,
        label: str = "person",
        video: str | None = None,
        t0: float | None = None,
        t1: float | None = None,
    ) -> ToolResult:
        memory = videos.resolve(video)
        if t_range is None and (t0 is not None or t1 is not None):
            start, end = t0 or 0.0, t1 if t1 is not None else memory.ref.duration
            if end < start:
                raise ToolError(f"the time range ends before it starts ({start:g} s to {end:g} s)")
            t_range = (start, end)
        if t_range is not None:
            check_within(memory, t_range[0])
            t_range = (t_range[0], min(t_range[1], memory.ref.duration))
        if at is not None:
            check_within(memory, at)
        query = _ActorQuery(memory, graph_of(memory), label)
        remarks: list[str] | None = None
        if ask == "who":
            found = query.who(at, t_range)
        elif ask == "speakers":
            found = query.speakers(t_range)
        else:
            if query.graph.is_empty:
                return render_evidence([query.untracked()]), [query.untracked()]
            if actor is None and at is not None:
                actor = query.actor_at(at)
            if actor is None:
                ids = ", ".join(map(str, query.graph.actor_ids))
                raise ToolError(
                    f"ask={ask!r} needs `actor` (an actor id: {ids}) or `at` (a time that actor is on screen)"
                )
            query.graph.actor(actor)  # unknown ids raise InvalidRequest listing the valid ones
            if other is not None:
                query.graph.actor(other)
                if other == actor:
                    raise ToolError(f"`other` must be a different actor than {actor}")
            if ask == "when":
                found = query.when(actor, t_range)
            elif ask == "with_whom":
                found = query.with_whom(actor, other, t_range)
            elif ask == "first_meeting":
                found = query.first_meeting(actor, other)
            elif ask == "trajectory":
                found = query.trajectory(actor, t_range)
            else:
                found, remarks = query.said(actor, t_range)
        return render_evidence(found, videos.render_names(), remarks), found

    return make_tool(
        run,
        "query_actors",
        "Ask about the people (or other tracked objects) on screen: who appears (at a moment or in a range), "
        "when an actor appears, with whom, when two first meet, where they move, what is said while they are "
        "on screen, who says each line. Actors have ids; `at` names the one on screen at a moment.",
        ActorArgs,
        ToolInfo("asking the actor graph", "the tracked people"),
    )
