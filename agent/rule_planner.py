"""The rule planner: tool calls chosen from the question's form, widened when the evidence is thin.

Round 1 asks the tools the question's needs point to (quoted speech -> transcript, who / with whom ->
actor graph, when / what happens -> transcript and pictures, a follow-up -> the stretch after or before
the previous answer). Later rounds widen: a keyword-only transcript search, the pictures for a speech
question, every object class for a people question. A call already made is never repeated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.context import AgentContext
from agent.needs import HEARD, SEEING, SHOWN, YES_NO
from agent.object_words import EVERY_CLASS
from agent.question import SPEECH, QuestionForm, content_words, form_of
from agent.references import PersonRef, find_people, mentioned_moment, mentioned_range, most_present, person_actors
from agent.state import AgentState, ToolCall, ToolRecord, Turn
from memory.video_memory import VideoMemory

FOLLOW_UP_WINDOW_S = 10.0
"""'What happens after that' looks this far past the previous answer (or 15% of the video if longer)."""
MOMENT_WINDOW_S = 3.0
FOLLOW_UP_WORDS = frozenset(
    [
        "next",
        "after",
        "before",
        "afterwards",
        "afterward",
        "earlier",
        "later",
        "then",
        "comes",
        "come",
        "came",
        "goes",
        "going",
        "went",
        "follows",
        "follow",
        "following",
        "occurs",
        "occur",
        "occurred",
        "happening",
        "said",
        "spoken",
    ]
)
"""Words of a question that is only a follow-up ("what comes next?"): with nothing else, it refers back."""
"""'What is said at 0:30' reads the speech this far around the moment."""


@dataclass
class Plan:
    """The calls of one round, the actors the question names, and remarks for the answer."""

    calls: list[ToolCall] = field(default_factory=list)
    actors: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, args: dict[str, Any], why: str, context: AgentContext, done: Sequence[ToolRecord]) -> None:
        """Queue a call unless its tool is not offered or the same call was already made or queued."""
        if name not in context.tools:
            return
        key = _key(name, args)
        if any(_key(r.name, r.args) == key for r in done) or any(_key(c.name, c.args) == key for c in self.calls):
            return
        self.calls.append(ToolCall(name, args, why))


def _key(name: str, args: dict[str, Any]) -> str:
    return name + json.dumps(args, sort_keys=True, default=str)


def previous_turn(state: AgentState, context: AgentContext) -> Turn | None:
    """The last turn of this thread about the same videos, if any."""
    ids = {m.video_id for m in context.memories}
    for turn in reversed(state.turns):
        if not turn.videos or set(turn.videos) & ids:
            return turn
    return None


def _anchor(turn: Turn) -> tuple[float, float] | None:
    """Where the previous answer's main claim is: the span of its first cited evidence."""
    cited = [e for e in turn.cited if e.kind != "note"] or list(turn.cited)
    if not cited:
        return None
    return cited[0].t0, cited[0].t1


def _is_follow_up(form: QuestionForm, turn: Turn | None) -> bool:
    if turn is None or form.direction is None:
        return False
    vague = not [w for w in content_words(form.text) if w.lower() not in FOLLOW_UP_WORDS]
    return form.back_reference or vague or form.text.lower().startswith(("and ", "then ", "so "))


def target_memory(state: AgentState, context: AgentContext) -> VideoMemory:
    """The video a question is about: the one it names; else the video of the previous answer in this thread
    (a follow-up, "actor 3", "she" stay there); else the first."""
    named = context.named_memory(state.question)
    if named is not None:
        return named
    turn = previous_turn(state, context)
    if turn is not None:
        cited = [e.video_id for e in turn.cited if e.kind != "note"] or [e.video_id for e in turn.cited]
        previous = context.memory_of(cited[0]) if cited else None
        if previous is not None:
            return previous
    return context.memory


def _video_arg(memory: VideoMemory, context: AgentContext) -> dict[str, Any]:
    return {} if len(context.memories) == 1 else {"video": memory.video_id}


def _span_args(t_range: tuple[float, float] | None) -> dict[str, Any]:
    return {} if t_range is None else {"t_range": [round(t_range[0], 2), round(t_range[1], 2)]}


def plan_first_round(state: AgentState, context: AgentContext) -> Plan:
    """The calls the question's form asks for."""
    form = form_of(state, context)
    memory = target_memory(state, context)
    duration = memory.ref.duration
    done = state.tool_calls
    plan = Plan()
    turn = previous_turn(state, context)
    t_range = mentioned_range(form.text, duration)
    moment = mentioned_moment(form.text)

    if _is_follow_up(form, turn):
        assert turn is not None
        anchor = _anchor(turn)
        if anchor is not None:
            width = max(FOLLOW_UP_WINDOW_S, 0.15 * duration)
            if form.direction == "after":
                window = (min(anchor[1] + 0.05, duration), min(duration, anchor[1] + width))
            else:
                window = (max(0.0, anchor[0] - width), max(anchor[0] - 0.05, 0.0))
            why = f"follow-up: what comes {form.direction} the previous answer's moment"
            plan.add("read_transcript", _span_args(window) | _video_arg(memory, context), why, context, done)
            plan.add("query_actors", {"ask": "who", **_span_args(window)} | _video_arg(memory, context), why,
                     context, done)  # fmt: skip
            plan.add("get_triggers", _span_args(window) | _video_arg(memory, context), why, context, done)
            if _has_descriptions(context):
                plan.add("describe_segment", {"t0": round(window[0], 2), "t1": round(window[1], 2)}
                         | _video_arg(memory, context), why, context, done)  # fmt: skip
            plan.actors = list(turn.actors)
            return plan

    if form.summary:
        why = "a summary needs the scenes, the speech, the people and the key moments"
        video = _video_arg(memory, context)
        plan.add("list_scenes", video, why, context, done)
        plan.add("read_transcript", {"max_lines": 40} | video, why, context, done)
        plan.add("query_actors", {"ask": "who"} | video, why, context, done)
        plan.add("get_triggers", video, why, context, done)

    about_objects = _plan_objects(plan, form, t_range, memory, context, done)
    for thing in form.compared:  # "is A mentioned before or after B": where each is said
        plan.add("search_transcript", {"query": thing, "top_k": 2} | _video_arg(memory, context),
                 "find where each of the two things is said, to put them in order", context, done)  # fmt: skip

    refs: list[PersonRef] = []
    if form.people or form.pronoun:
        previous_actors = list(turn.actors) if turn is not None else []
        refs = find_people(form.text, memory.actors(), duration, previous_actors)
        plan.actors = [r.actor_id for r in refs if r.actor_id is not None]
        plan.notes += [f'nobody in the video matches "{r.phrase}"' for r in refs if r.actor_id is None]
        anchored_later = form.during and not plan.actors and moment is None and t_range is None
        if (form.people or plan.actors) and not anchored_later:
            _plan_actor_question(plan, form, refs, moment, t_range, memory, context, done)

    if form.count_of == "speech":
        plan.add("read_transcript", {"max_lines": 200} | _video_arg(memory, context), "count what is said", context,
                 done)  # fmt: skip
    elif form.count_of in ("scenes", "people_scenes", "text_scenes"):
        plan.add("list_scenes", _video_arg(memory, context), "count the scenes", context, done)
        if form.count_of == "text_scenes":
            plan.add("read_screen_text", {"max_items": 200} | _video_arg(memory, context),
                     "which scenes show text on screen", context, done)  # fmt: skip
        if form.count_of == "people_scenes":
            plan.add("query_actors", {"ask": "who"} | _video_arg(memory, context), "who is on screen in each scene",
                     context, done)  # fmt: skip
    # "what is printed on screen while they talk about the tables?": the line first, then the text shown then
    written_moment = bool(form.written and form.during and moment is None and t_range is None)
    if form.people and form.during and not plan.actors and moment is None and t_range is None:
        plan.add("search_transcript", {"query": form.during, "top_k": 1},
                 "find when the moment the question names is spoken of", context, done)  # fmt: skip
    elif form.actor_ask == "who" and not refs and moment is None and _topic_beyond_people(form):
        plan.add("search_transcript", {"query": form.topic, "top_k": context.top_k},
                 "the people may be named in the speech", context, done)  # fmt: skip
    if form.speech and form.general and not plan.actors and not form.summary:
        plan.add("read_transcript", {"max_lines": 40} | _span_args(t_range) | _video_arg(memory, context),
                 "the question asks what is said, about nothing in particular: read the speech in order", context,
                 done)  # fmt: skip
    elif ((form.speech and not about_objects) or (form.pronoun and not plan.calls)) and not written_moment:
        query = " ".join(form.quoted) if form.quoted else form.topic
        if plan.actors and form.actor_ask == "said":
            query = ""
        if query:
            plan.add("search_transcript", {"query": query, "top_k": context.top_k} | _span_args(t_range),
                     "the question asks what is said", context, done)  # fmt: skip
        asks_speech = form.audio_only or form.quoted or bool(SPEECH.search(form.text))  # "when is X mentioned"
        if query and not (asks_speech or form.written or form.general or form.summary):
            plan.add("search_screen_text", {"query": query, "top_k": 3} | _span_args(t_range),
                     "a fact may be printed on screen rather than said (a price, a name, a day)", context, done)  # fmt: skip
    if form.visual and not form.summary and not about_objects:
        plan.add("search_segments", {"query": form.topic, "top_k": context.top_k} | _span_args(t_range),
                 "the question asks what is seen", context, done)  # fmt: skip
    if form.written and not form.summary:
        if moment is not None and t_range is None:
            t_range = (moment, moment)  # the text shown at that moment
        if written_moment:
            plan.add("search_transcript", {"query": form.during, "top_k": 1},
                     "find when the moment the question names is spoken of; its text on screen is read next", context,
                     done)  # fmt: skip
        elif form.written_topic:
            plan.add("search_screen_text", {"query": form.written_topic, "top_k": context.top_k} | _span_args(t_range),
                     "the question asks what is written on screen", context, done)  # fmt: skip
        else:
            plan.add("read_screen_text", _span_args(t_range) | _video_arg(memory, context),
                     "the question asks what is written on screen: read it in the order shown", context, done)  # fmt: skip
    if moment is not None and not form.people and not form.written:
        window = (max(0.0, moment - MOMENT_WINDOW_S), min(duration, moment + MOMENT_WINDOW_S))
        video = _video_arg(memory, context)
        plan.add("read_transcript", _span_args(window) | video, "the question names a moment", context, done)
        plan.add("query_actors", {"ask": "who", "at": round(moment, 2)} | video, "who is on screen at that moment",
                 context, done)  # fmt: skip
    if state.options:
        words = " ".join(dict.fromkeys(w for option in state.options for w in content_words(option)))
        if words:
            plan.add("search_transcript", {"query": words, "top_k": max(context.top_k, len(state.options) * 2)},
                     "check each option against what is said", context, done)  # fmt: skip
            plan.add("search_segments", {"query": words, "top_k": context.top_k},
                     "check each option against what is seen", context, done)  # fmt: skip
    if not plan.calls:
        plan.add("search_transcript", {"query": form.topic, "top_k": context.top_k}, "nothing more specific applies",
                 context, done)  # fmt: skip
    return plan


WITH_OBJECT = re.compile(r"\b(?:with|together|alongside|along ?side|next to|beside|accompan\w*|near)\b", re.IGNORECASE)
"""'What is shown with the cup': the other objects on screen during its showings."""


def _plan_objects(
    plan: Plan,
    form: QuestionForm,
    t_range: tuple[float, float] | None,
    memory: VideoMemory,
    context: AgentContext,
    done: Sequence[ToolRecord],
) -> bool:
    """The object-memory call for a question naming objects the detector knows. True when the objects alone answer
    it: it asks when, how many, whether, with or after what an object is shown, and nothing about speech. A
    question that also asks what is said or heard ("what do we hear when a clock is shown", "what do you learn
    about the yard cat") keeps its speech search beside the object call."""
    if not form.objects or (SPEECH.search(form.text) and not SHOWN.search(form.text) and not SEEING.search(form.text)):
        return False
    video = _video_arg(memory, context)
    if len(form.objects) > EVERY_CLASS:
        plan.add("list_objects", _span_args(t_range) | video, "the question asks which objects are shown", context,
                 done)  # fmt: skip
        return True
    args: dict[str, Any] = {"query": ", ".join(form.objects)}
    if form.direction is not None and not form.back_reference:
        args["relation"] = form.direction
    elif WITH_OBJECT.search(form.text):
        args["relation"] = "with"
    if form.count_of in ("object_times", "object_most"):
        args["count"] = True
    plan.add("find_objects", args | _span_args(t_range) | video,
             f"the question names {', '.join(form.objects)}: the object detector's memory", context, done)  # fmt: skip
    shaped = form.when or form.counting or "relation" in args or bool(YES_NO.search(form.text))
    return shaped and not HEARD.search(form.text) and not form.during


PEOPLE_WORDS = frozenset(
    [
        "person",
        "persons",
        "people",
        "man",
        "men",
        "woman",
        "women",
        "actor",
        "actors",
        "someone",
        "anyone",
        "everyone",
        "individual",
        "individuals",
        "guy",
        "guys",
        "boy",
        "girl",
        "kid",
        "kids",
        "child",
        "children",
        "crowd",
        "human",
        "humans",
        "appear",
        "appears",
        "appeared",
        "screen",
        "visible",
    ]
)


def _topic_beyond_people(form: QuestionForm) -> bool:
    """Whether a 'who' question names something besides people ("who will visit the museum?")."""
    return any(w.lower() not in PEOPLE_WORDS for w in content_words(form.text))


def _has_descriptions(context: AgentContext) -> bool:
    return context.has_vlm or any(c.caption or c.dense for m in context.memories for c in m.captions())


def _plan_actor_question(
    plan: Plan,
    form: QuestionForm,
    refs: list[PersonRef],
    moment: float | None,
    t_range: tuple[float, float] | None,
    memory: VideoMemory,
    context: AgentContext,
    done: Sequence[ToolRecord],
) -> None:
    """The actor-graph call(s) for a question about people."""
    ids = plan.actors
    ask = form.actor_ask or "who"
    why = f"the question asks {ask.replace('_', ' ')} about people"
    video = _video_arg(memory, context)
    if ask == "speakers":
        if moment is not None and t_range is None:
            t_range = (max(0.0, moment - 1.0), moment + 1.0)
        plan.add("query_actors", {"ask": "speakers"} | _span_args(t_range) | video,
                 "the question asks who says something: each line's likely speaker", context, done)  # fmt: skip
        return
    if ask == "first_meeting" and not ids:
        people = most_present(person_actors(memory.actors()), 2, (0.0, memory.ref.duration))
        ids = [a.actor_id for a in sorted(people, key=lambda a: a.t0)]
        plan.actors = ids
    if refs and not ids:
        return  # every named person is missing: the notes say so
    if ask == "who" or not ids:
        if ask == "when" and form.first and not ids:
            why = "the question asks when someone first appears"
        args: dict[str, Any] = {"ask": "who"}
        if moment is not None:
            args["at"] = round(moment, 2)
        args |= _span_args(t_range)
        plan.add("query_actors", args | video, why, context, done)
        return
    args = {"ask": ask, "actor": ids[0]}
    if ask in ("with_whom", "first_meeting") and len(ids) > 1:
        args["other"] = ids[1]
    if ask in ("when", "with_whom", "said"):
        args |= _span_args(t_range)
    plan.add("query_actors", args | video, why, context, done)
    if ask == "when" and len(ids) > 1:
        plan.add("query_actors", {"ask": "when", "actor": ids[1]} | video, why, context, done)


def plan_widening(state: AgentState, context: AgentContext, missing: Sequence[str]) -> Plan:
    """Broader calls for what the gathered evidence still lacks."""
    form = form_of(state, context)
    done = state.tool_calls
    plan = Plan(actors=list(state.actors))
    keywords = " ".join(content_words(" ".join(form.quoted) or form.text))
    for need in missing:
        if need == "speech":
            if keywords and keywords != form.topic:
                plan.add("search_transcript", {"query": keywords, "top_k": context.top_k},
                         "widen: the key words alone", context, done)  # fmt: skip
            if not form.audio_only:  # "what does the narrator say" is not in the pictures
                plan.add("search_segments", {"query": form.topic, "top_k": context.top_k},
                         "widen: the pictures and captions may show it", context, done)  # fmt: skip
        elif need == "visual":
            plan.add("search_transcript", {"query": form.topic, "top_k": context.top_k},
                     "widen: the speech may describe it", context, done)  # fmt: skip
        elif need == "text":
            spoken = [e for e in state.evidence if e.kind == "transcript"]
            if form.during and spoken:
                best = max(spoken, key=lambda e: e.score)
                plan.add("read_screen_text", {"t_range": [round(best.t0, 2), round(best.t1, 2)]},
                         "the text on screen while that is said", context, done)  # fmt: skip
                continue
            edge = mentioned_range(form.text, target_memory(state, context).ref.duration)
            plan.add("read_screen_text", _span_args(edge), "widen: read everything written on screen"
                     + (" in the stretch the question names" if edge else ""), context, done)  # fmt: skip
            plan.add("search_transcript", {"query": form.topic, "top_k": context.top_k},
                     "widen: the speech may say what was written", context, done)  # fmt: skip
        elif need == "people":
            spoken = [e for e in state.evidence if e.kind == "transcript"]
            if form.during and spoken:
                best = max(spoken, key=lambda e: e.score)
                plan.add("query_actors", {"ask": "who", "t_range": [round(best.t0, 2), round(best.t1, 2)]},
                         "who is on screen while that is said", context, done)  # fmt: skip
            elif form.during:
                continue  # the moment named was never found: everyone in the video would answer another question
            else:
                plan.add("query_actors", {"ask": "who", "label": "any"}, "widen: every tracked object class",
                         context, done)  # fmt: skip
        if need in ("speech", "visual") and not form.audio_only:
            plan.add("search_screen_text", {"query": form.topic, "top_k": context.top_k},
                     "widen: it may be written on screen", context, done)  # fmt: skip
    return plan
