"""The answer step: the VLM writes the narrative from the evidence (quoted data) and the best keyframes,
citing [mm:ss] for every claim; without a VLM the evidence is composed by rules (agent.compose).

The evidence goes into the user message as JSON lines between markers, and the system message says it
is data: narration that says "ignore your instructions" is only something said in the video.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from agent.choice import choose_option, option_letter, order_choice, order_lead, parse_choice
from agent.compose import compose_answer, join_names, video_names
from agent.context import AgentContext
from agent.events import emit
from agent.honesty import HonestText, Sight, honest_text, sight_of, unseen_objects, yes_no_lead
from agent.needs import SEEING, SHOWN, question_needs
from agent.question import COMES_BACK, form_of
from agent.senses import blind_spots
from agent.state import AgentState
from core.errors import VidsageError
from core.types import Evidence, failure_lines, format_timestamp
from core.usage import metered
from memory.notes import manifest_notes
from memory.video_memory import VideoMemory
from prompts import render
from tools.binding import tool_info
from tools.frames import decode_frames
from tools.timecodes import parse_time

MAX_EVIDENCE_LINES = 24
"""Evidence items the answer request carries (the best, by tool order and score)."""
CITATION = re.compile(r"\[(?:[^\[\]\n]{1,120}?\s)?(\d{1,2}:\d{2}(?::\d{2})?)(?:\s*[-–]\s*(\d{1,2}:\d{2}(?::\d{2})?))?\]")
CITE_SLACK_S = 1.0
SOURCES_LISTED = 5
"""Evidence items listed under an answer whose model cited none."""
NOT_SHOWN = "The video does not show this."
NOBODY = re.compile(r"^\W*(?:nobody|no[- ]?one|no person|no people|none of them|there is nobody|no one at all)\b",
                    re.IGNORECASE)  # fmt: skip
PERSON_OPTION = re.compile(
    r"\b(?:man|men|woman|women|person|people|boy|girl|child|children|kid|kids|guy|lady|gentleman|someone|somebody|"
    r"astronaut|pilot|chef|cook|photographer|cameraman|farmer|teacher|doctor|nurse|worker|player|rider|driver|"
    r"officer|soldier|speaker|presenter|host|guest|actor \d+|crowd)\b",
    re.IGNORECASE,
)
"""An option that names a person (a yolo person detection can stand for it, when no other option does)."""
SETTLED_CONFIDENCE = 0.8
"""Confidence of an option the open answer settles (a yes/no from the detector or the transcript search)."""
BLIND_CONFIDENCE = 0.3
"""The most confidence a choice gets when a sense its question needs is blind (the evidence is only a hint)."""


@dataclass
class Composed:
    """What the answer step returns: the text, the chosen option, the cited evidence, remarks, and how sure
    it is (an abstention, the limitations of the loaded models, a choice's confidence, a forced pick)."""

    text: str
    choice: int | None
    cited: list[Evidence]
    notes: list[str] = field(default_factory=list)
    abstained: bool = False
    limitations: list[str] = field(default_factory=list)
    confidence: float | None = None
    forced: bool = False


def unique_evidence(evidence: Sequence[Evidence]) -> list[Evidence]:
    """Evidence without repeats (the same item found by two tools counts once), in the order found."""
    seen: dict[tuple[str, str, float, float, str], Evidence] = {}
    for item in evidence:
        key = (item.kind, item.video_id, item.t0, item.t1, item.text)
        if key not in seen or item.score > seen[key].score:
            seen[key] = item
    return list(seen.values())


def cited_evidence(text: str, evidence: Sequence[Evidence]) -> list[Evidence]:
    """The evidence whose time span contains a [mm:ss] the text cites, in citation order."""
    cited: list[Evidence] = []
    for match in CITATION.finditer(text):
        start = parse_time(match.group(1))
        end = parse_time(match.group(2)) if match.group(2) else start
        for item in evidence:
            if item.t0 - CITE_SLACK_S <= end and start <= item.t1 + CITE_SLACK_S and item not in cited:
                cited.append(item)
    return cited


def evidence_lines(evidence: Sequence[Evidence], names: dict[str, str] | None) -> str:
    """One JSON object per item: its time, kind and text (quoted data, never instructions)."""
    lines = []
    for item in evidence:
        start, end = format_timestamp(item.t0), format_timestamp(item.t1)
        row = {"time": start if start == end else f"{start}-{end}", "kind": item.kind, "text": item.text}
        if names:
            row["video"] = names.get(item.video_id, item.video_id)
        lines.append(json.dumps(row, ensure_ascii=False))
    return "\n".join(lines)


def _ranked(evidence: list[Evidence]) -> list[Evidence]:
    """Substantive evidence first (best score first within a kind), notes last; at most MAX_EVIDENCE_LINES."""
    substantive = sorted((e for e in evidence if e.kind != "note"), key=lambda e: -e.score)
    notes = [e for e in evidence if e.kind == "note"]
    return (substantive + notes)[:MAX_EVIDENCE_LINES]


def _keyframes(evidence: list[Evidence], context: AgentContext, limit: int) -> tuple[list[str], list]:
    """Frames of the best evidence (one per distinct moment), with their [mm:ss] labels."""
    if limit <= 0:
        return [], []
    wanted: dict[str, list[float]] = {}
    count = 0
    for item in evidence:
        if item.keyframe is None or item.kind == "note" or count >= limit:
            continue
        times = wanted.setdefault(item.video_id, [])
        if all(abs(t - item.keyframe) > 0.5 for t in times):
            times.append(item.keyframe)
            count += 1
    labels, frames = [], []
    for video_id, times in wanted.items():
        memory = context.memory_of(video_id)
        if memory is None:
            continue
        kept, decoded = decode_frames(memory, [min(t, max(memory.ref.duration - 0.05, 0.0)) for t in times])
        labels += [format_timestamp(t) for t in kept]
        frames += decoded
    return labels, frames


def compose_with_vlm(state: AgentState, context: AgentContext, evidence: list[Evidence], frames_left: int) -> Composed:
    """The VLM's answer (streamed as tokens), its option when there are options, and what it cites."""
    vlm = context.vlm()
    assert vlm is not None
    ranked = _ranked(evidence)
    names = video_names(context)
    labels, frames = _keyframes(ranked, context, min(context.settings.answer_keyframes, frames_left))
    keyframes = f"The {len(frames)} images are keyframes at {', '.join(labels)}.\n" if frames else ""
    if state.options:
        listing = "\n".join(f"{option_letter(i)}. {o}" for i, o in enumerate(state.options))
        instruction = render("answer_choice", options=listing)
    else:
        instruction = render("answer_open")
    user = render("answer_user", question=state.question, evidence=evidence_lines(ranked, names),
                  keyframes=keyframes, instruction=instruction)  # fmt: skip
    messages = [{"role": "system", "content": render("answer_system")}, {"role": "user", "content": user}]
    params = {"max_tokens": context.settings.answer_tokens, "temperature": 0.0}
    pieces: list[str] = []
    with metered(context.usage):
        stream = getattr(vlm, "stream", None)
        if stream is not None:
            for piece in stream(messages, frames, **params):
                pieces.append(piece)
                emit("token", text=piece)
        else:
            pieces.append(vlm.complete(messages, frames, **params))
            emit("token", text=pieces[-1])
    text = "".join(pieces).strip()
    notes: list[str] = []
    choice = parse_choice(text, len(state.options)) if state.options else None
    confidence, forced = None, False
    if state.options and choice is None:
        picked = choose_option(state.question, state.options, evidence, context.models)
        confidence = picked.confidence
        if picked.supported or state.force_choice:
            choice, forced = picked.index, not picked.supported
            notes.append("the model named no option; the choice is the option the evidence supports best"
                         + (" (forced: the evidence tells no option apart)" if forced else ""))  # fmt: skip
        else:
            notes.append("the model named no option, and the evidence tells no option apart: no choice")
    cited = cited_evidence(text, ranked)
    if not cited and ranked and NOT_SHOWN.lower() not in text.lower():
        notes.append("the model's answer cites no time from the evidence; the evidence it was given is listed")
        cited = [e for e in ranked if e.kind != "note"][:SOURCES_LISTED]
        sourced = with_sources(text, cited, names)
        emit("token", text=sourced[len(text) :])
        text = sourced
    return Composed(text or NOT_SHOWN, choice, cited, notes, abstained=state.options is not None and choice is None,
                    confidence=confidence, forced=forced)  # fmt: skip


def with_sources(text: str, cited: Sequence[Evidence], names: dict[str, str] | None = None) -> str:
    """The answer followed by its evidence with times, for a model answer that cites none itself."""
    if not cited:
        return text
    lines = [f"- {e.cite(names)} {e.text}" for e in cited]
    return "\n\n".join(part for part in (text, "Evidence:\n" + "\n".join(lines)) if part)


def compose_by_rules(state: AgentState, context: AgentContext, evidence: list[Evidence]) -> Composed:
    """The rule composition of the evidence, made honest: it says what the loaded models cannot see, abstains
    rather than guess, and in multiple-choice mode picks only an option the evidence tells apart."""
    form = form_of(state, context)
    needs = question_needs(form, state.options)
    gaps = blind_spots(context, _asked_memories(state, context))
    sight = searched_blind(sight_of(needs, gaps), gaps, state)
    searched = [tool_info(context.tools[r.name]).searched if r.name in context.tools else r.name
                for r in state.tool_calls if r.status in ("ok", "error")]  # fmt: skip
    people_failed = any(e.source == "query_actors" for e in state.errors)  # no "nobody was tracked" then
    in_order = any(r.name == "read_transcript" for r in state.tool_calls)
    notes = [n for m in context.memories for n in manifest_notes(m.manifest)] + list(state.notes)
    composition = compose_answer(
        state.question, evidence, searched, form.people and not people_failed and "people" not in sight.blind,
        notes, first=form.first and form.actor_ask in ("when", "who"), in_order=in_order and not form.when,
        best_first=form.when, count_of=form.count_of, names=video_names(context),
        count_topic=form.topic if not form.general else "", screen_topic="" if form.written else form.topic,
        again=form.people and bool(COMES_BACK.search(form.text)),
    )  # fmt: skip
    searched_text = join_names(searched) if searched else "the video's memory"
    honest = honest_text(composition.text, composition.cited, sight, needs, searched_text, state.question.strip())
    if not honest.abstained and (unseen := unseen_objects(needs, composition.cited)):
        honest = HonestText(f"I can't tell for sure: {unseen}.\n\n{honest.text}", True, [unseen])
    lead = "" if honest.abstained else (order_lead(form.compared, composition.cited)
                                        or yes_no_lead(needs, sight, composition.cited, form.topic))  # fmt: skip
    if not state.options:
        text = f"{lead}{' ' if len(lead) <= SHORT_LEAD else chr(10) * 2}{honest.text}" if lead else honest.text
        emit("token", text=text)
        return Composed(text, None, composition.cited, abstained=honest.abstained, limitations=honest.limitations)
    on_screen_people = "people" in needs.senses and bool(SEEING.search(form.text) or SHOWN.search(form.text))
    settled = settled_choice(state.options, lead, composition.cited, on_screen_people)
    if settled is not None:
        index, why = settled
        text = f"{option_letter(index)}. {state.options[index]} ({why})"
        text += "\n\n" + honest.text
        emit("token", text=text)
        return Composed(text, index, composition.cited, confidence=SETTLED_CONFIDENCE)
    persons = [o for o in state.options if PERSON_OPTION.search(o) and not NOBODY.match(o)]
    if on_screen_people and len(persons) > 1 and "pictures" in gaps and not honest.limitations:
        # which of several people is on screen is a question of looks: the detector only finds that someone is
        honest = dataclasses.replace(honest, limitations=[gaps["pictures"]])
    return _choose_by_rules(state, context, evidence, composition.cited, honest)


READS_SPEECH = ("search_transcript", "read_transcript")
SHORT_LEAD = 16
"""'Yes.' / 'Probably yes.' lead the evidence on its line; a longer lead (the order of two things) is a paragraph."""


def searched_blind(sight: Sight, gaps: dict, state: AgentState) -> Sight:
    """The sight with the speech added to its blind senses when the speech was searched and cannot be read
    (narration in a language the model does not read): nothing found there is then no sign of absence."""
    if "speech" in sight.blind or "speech" not in gaps or not any(r.name in READS_SPEECH for r in state.tool_calls):
        return sight
    return dataclasses.replace(sight, blind=(*sight.blind, "speech"), limitations=(*sight.limitations, gaps["speech"]))


def settled_choice(
    options: Sequence[str], lead: str, cited: Sequence[Evidence], about_people: bool = False
) -> tuple[int, str] | None:
    """An option the open answer already settles: "yes" / "no" options by its yes/no lead, a "nobody" option by
    the actor graph finding nobody on screen, and, for a question about who is on screen, the one option that
    names a person when the actor graph finds someone (None when nothing settles one)."""
    if lead:
        wanted = lead.split(":")[0].rstrip(".").lower()  # "yes", "probably yes", or "after" of an order lead
        said = [i for i, o in enumerate(options) if re.match(rf"^\W*{re.escape(wanted)}\b", o, re.IGNORECASE)]
        if len(said) == 1 and all(re.match(r"^\W*(?:yes|no|before|after)\b", o, re.IGNORECASE) for o in options):
            return said[0], f"the answer to the question is {wanted}"
    nobody = [i for i, o in enumerate(options) if NOBODY.match(o)]
    if len(nobody) == 1:
        people = [e for e in cited if e.kind == "actor"]
        empty = [e for e in cited if e.kind == "note" and e.source == "query_actors" and "no person" in e.text]
        if empty and not people:
            return nobody[0], "the tracked people show nobody on screen then"
    if about_people and any(e.kind == "actor" for e in cited):
        persons = [i for i, o in enumerate(options) if PERSON_OPTION.search(o) and not NOBODY.match(o)]
        if len(persons) == 1:
            return persons[0], "a person is on screen then, and only this option is a person"
    return None


def _choose_by_rules(
    state: AgentState, context: AgentContext, evidence: list[Evidence], fallback: list[Evidence], honest: HonestText
) -> Composed:
    """The option the evidence tells apart, with its confidence; none without such evidence (unless the
    question forces a pick, which is then marked as forced)."""
    options = state.options or []
    picked = order_choice(state.question, options, evidence, context.models) or choose_option(
        state.question, options, evidence, context.models
    )
    names = video_names(context)
    support = "\n".join(f"{e.cite(names)} {e.text}" for e in picked.support)
    letter, option = option_letter(picked.index), options[picked.index]
    limits = honest.limitations
    if picked.supported and not limits:
        lead = (render("choice_weak", letter=letter, option=option, confidence=picked.confidence) if picked.weak
                else f"{letter}. {option}")  # fmt: skip
        text = f"{lead}\n\n{support}"
        emit("token", text=text)
        return Composed(text, picked.index, picked.support, confidence=picked.confidence)
    if picked.supported:  # a sense the question needs is blind: what favours an option is a hint, not an answer
        why = render("choice_blind", limitations="; ".join(limits), letter=letter, option=option) + f"\n\n{support}"
        if state.force_choice:
            text = render("choice_weak", letter=letter, option=option, confidence=min(picked.confidence, 0.3))
            text += "\n\n" + why
            emit("token", text=text)
            return Composed(text, picked.index, picked.support, limitations=limits,
                            confidence=min(picked.confidence, BLIND_CONFIDENCE), forced=True)  # fmt: skip
        emit("token", text=why)
        return Composed(why, None, picked.support, abstained=True, limitations=limits, confidence=picked.confidence)
    why = render("choice_none") + (" " + "; ".join(limits) + "." if limits else "")
    shown = honest.text
    if honest.abstained:  # its "I can't tell" lead repeats `why`: keep only what the other sources show
        shown = honest.text.split("\n\n", 1)[1] if fallback and "\n\n" in honest.text else ""
    if state.force_choice:
        lead = render("choice_forced", letter=letter, option=option)
        text = "\n\n".join(part for part in (lead, why, shown) if part)
        emit("token", text=text)
        return Composed(text, picked.index, fallback, abstained=False, limitations=limits, confidence=0.0, forced=True)
    text = "\n\n".join(part for part in (why, shown) if part)
    emit("token", text=text)
    return Composed(text, None, fallback, abstained=True, limitations=limits, confidence=0.0)


def _asked_memories(state: AgentState, context: AgentContext) -> list[VideoMemory]:
    """The videos the question is about: the one it names, else every video of the conversation."""
    named = context.named_memory(state.question)
    return [named] if named is not None else list(context.memories)


def failed_sources(state: AgentState) -> Composed:
    """The answer when no source answered: what failed, never a claim about what the video holds."""
    text = render("sources_failed", failures="; ".join(failure_lines(state.errors)))
    emit("token", text=text)
    return Composed(text, None, [])


def compose(state: AgentState, context: AgentContext, vlm_calls_left: int, frames_left: int) -> Composed:
    """The answer; while a source has failed it may not claim absence: with nothing found, or nothing cited,
    it says what failed instead."""
    evidence = unique_evidence(state.evidence)
    if state.errors and not evidence:
        return failed_sources(state)
    composed = _compose(state, context, evidence, vlm_calls_left, frames_left)
    if state.errors and not composed.cited:
        return failed_sources(state)
    return composed


def _compose(
    state: AgentState, context: AgentContext, evidence: list[Evidence], vlm_calls_left: int, frames_left: int
) -> Composed:
    """The VLM's answer when one is available and within budget, else the rule composition.

    With no evidence at all the answer is the rules' "does not appear", never a model's guess."""
    if context.has_vlm and vlm_calls_left > 0 and evidence:
        try:
            return compose_with_vlm(state, context, evidence, frames_left)
        except VidsageError as error:
            composed = compose_by_rules(state, context, evidence)
            composed.notes.append(f"the VLM failed ({error}); the answer is composed from the evidence")
            return composed
    composed = compose_by_rules(state, context, evidence)
    if context.has_vlm and evidence and vlm_calls_left <= 0:
        composed.notes.append("the VLM-call budget was spent; the answer is composed from the evidence")
    return composed
