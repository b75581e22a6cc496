"""A second QA set with known answers (the "dev set"), independent of `evaluation.generated_qa`: new
videos (`evaluation.paraphrase_videos`) and new question templates, each fact asked in several
differently worded ways so answers can be checked for consistency across paraphrases.

Golds come from the video specs, never from the system. Every row carries `group` (the rows that ask
the same fact) and `needs` (what a system must perceive to answer it: speech, time, people, pictures,
text, count). Run `python -m evaluation.paraphrase_qa OUT_DIR` to write the videos and OUT_DIR/dev.jsonl.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from evaluation.datasets.item import QAItem
from evaluation.datasets.native import write_native
from evaluation.paraphrase_videos import PHOTOS, SPECS, VideoSpec, render

DEV_NAME = "dev.jsonl"
NOT_SAID = "not mentioned"
NOT_SEEN = "does not appear"
ABSENT_ACCEPT = ["not mentioned", "never mentioned", "not said", "not in the video", "does not appear", "not shown"]
NEEDS = frozenset({"speech", "time", "people", "pictures", "text", "count"})


@dataclass(frozen=True)
class Form:
    """One way of asking about a kind of fact: its question type, what it needs, and its phrasings."""

    type: str
    needs: tuple[str, ...]
    ways: int
    """How many phrasings each fact of this form is asked in (rotating through `phrasings`)."""
    phrasings: tuple[str, ...]


FORMS: dict[str, Form] = {
    "speech_about": Form("speech", ("speech",), 2, (
        "What information does the voice-over give regarding {topic}?",
        "Tell me what we hear concerning {topic}.",
        "Regarding {topic}, what detail is spoken in the clip?",
        "What is the spoken remark on {topic}?",
        "According to the audio, what's the news on {topic}?",
        "Listening to the clip, what do you learn about {topic}?",
    )),
    "speech_titled": Form("speech", ("speech", "text"), 1, (
        'While the caption "{title}" is on screen, what does the speaker tell us?',
        'What is heard during the part captioned "{title}"?',
        'Paraphrase the line spoken under the heading "{title}".',
        'The on-screen heading reads "{title}". What is said at that point?',
        'What words accompany the "{title}" caption?',
    )),
    "speech_time": Form("speech_time", ("speech", "time"), 2, (
        "How many seconds into the clip does the speaker bring up {topic}?",
        "Give the timestamp at which the audio first touches on {topic}.",
        "At what point in the recording do we first hear about {topic}?",
        "Find the moment the voice-over turns to {topic}: what time is it?",
        "There is talk of {topic} at some point. At which second?",
        "Roughly when in the clip does the talk turn to {topic}?",
    )),
    "first_appearance": Form("first_appearance", ("people", "time"), 3, (
        "At what second does a human first become visible in the video?",
        "How far into the clip does the first person show up on screen?",
        "Give the time of the earliest shot that has somebody in it.",
        "Someone is on screen eventually. When is the first time?",
        "Timestamp of the first on-screen appearance of a person, please.",
    )),
    "order_spoken": Form("order", ("speech", "time"), 3, (
        "Among these subjects, which does the speaker get to earliest?",
        "Of the following, which is brought up before the others in the audio?",
        "Put these in spoken order: which one comes first?",
        "Which subject is talked about first in the clip?",
        "Listening from the start, which of these is heard about first?",
    )),
    "order_shown": Form("order", ("pictures", "time"), 3, (
        "Which picture is on screen earlier than the others?",
        "Among these images, which one is displayed first?",
        "Which of the following photos does the clip show before the rest?",
        "Looking only at the visuals, which comes up first?",
        "Which image turns up at the earliest point of the video?",
    )),
    "recurrence_yesno": Form("recurrence", ("pictures",), 2, (
        "Does the picture of {photo} come back after it has been shown?",
        "Is {photo} on screen at two or more separate moments?",
        "Do we see {photo} more than once in this clip?",
        "Once {photo} leaves the screen, does it ever return?",
        "Is the shot of {photo} repeated anywhere in the video?",
    )),
    "recurrence_count": Form("recurrence", ("pictures", "count"), 2, (
        "How many separate times is {photo} shown?",
        "Count the distinct stretches during which {photo} is on screen.",
        "On how many occasions does the image of {photo} turn up?",
        "How often is {photo} put on screen?",
        "In how many different shots can {photo} be seen?",
    )),
    "said_during_picture": Form("co_occurrence", ("speech", "pictures"), 1, (
        "What does the speaker say while {photo} fills the screen?",
        "During the shot of {photo}, what is being said?",
        "Which spoken line goes with the image of {photo}?",
        "What do we hear at the moment {photo} is displayed?",
        "While viewers are looking at {photo}, what is the audio about?",
    )),
    "person_during_line": Form("co_occurrence", ("speech", "people"), 2, (
        "Can somebody be seen in the picture for the part about {topic}?",
        "While the audio covers {topic}, is there a human in the frame?",
        "Is anyone visible at the moment the speaker talks about {topic}?",
        "When the speaker gets to {topic}, does the picture include a person?",
        "Does a human figure share the screen with the remark about {topic}?",
    )),
    "picture_during_line": Form("co_occurrence", ("speech", "pictures"), 2, (
        "What is pictured while the speaker covers {topic}?",
        "Which image fills the screen as the speaker describes {topic}?",
        "What can viewers see while the remark about {topic} is made?",
        "Describe the photo that accompanies the line about {topic}.",
        "As the commentary moves to {topic}, what does the frame show?",
    )),
    "absent_spoken": Form("absence", ("speech",), 2, (
        "What remark does the speaker make about the {thing}?",
        "What are we told about the {thing} in the audio?",
        "At what moment does the voice-over bring up the {thing}?",
        "How does the commentary describe the {thing}?",
        "Which detail about the {thing} is given in the spoken words?",
    )),
    "absent_shown": Form("absence", ("pictures",), 2, (
        "Describe the look of the {thing} seen in the clip.",
        "Where in the frame is the {thing} placed?",
        "At what time is the {thing} visible on screen?",
        "How big is the {thing} that the footage shows?",
        "What is the {thing} doing while it is on screen?",
    )),
    "summary": Form("summary", ("speech",), 3, (
        "Give a short summary of this clip.",
        "In a sentence or two, what is this video about?",
        "Sum up the content of the voice-over briefly.",
        "What is the gist of this video?",
        "Briefly describe what the footage covers.",
    )),
    "count_sentences": Form("count", ("speech", "count"), 2, (
        "How many separate sentences are spoken in the clip?",
        "Count the spoken lines in the audio: how many are there?",
        "What is the number of sentences in the voice-over?",
        "Altogether, how many lines does the speaker deliver?",
        "How many distinct statements can be heard?",
    )),
    "count_scenes": Form("count", ("pictures", "count"), 2, (
        "How many separate still shots make up the video?",
        "Counting each stretch of one picture as a shot, how many shots are there?",
        "What is the total number of picture segments in the clip?",
        "How many different stretches of still imagery does the footage contain?",
        "Count the shots: how many are there?",
    )),
    "count_people": Form("count", ("people", "count"), 2, (
        "How many shots have a human in them?",
        "Count the stretches of the video where somebody is on screen.",
        "Among the still shots, how many contain a person?",
        "What number of shots include at least one person?",
        "How many segments of the clip feature a human figure?",
    )),
    "count_titled": Form("count", ("text", "count"), 2, (
        "How many shots carry a caption overlaid in the corner?",
        "Count the shots that show an overlaid heading in the corner.",
        "On how many shots is a caption printed over the picture?",
        "Give the number of shots with an overlaid title.",
        "What is the number of captioned shots?",
    )),
    "general": Form("general", ("speech",), 3, (
        "What does the voice in this video say?",
        "Tell me what is spoken in the clip.",
        "What can be heard in the video?",
        "Write down the spoken words of this footage.",
        "What words are spoken here?",
    )),
}  # fmt: skip
"""Every template of the set, keyed by form; none shares wording with `evaluation.generated_qa`."""


class DevItem(QAItem):
    """A QAItem whose open numeric gold (seconds, a count) is written to JSONL as a number."""

    def to_dict(self) -> dict[str, Any]:
        row = super().to_dict()
        if self.options is None and re.fullmatch(r"-?\d+(?:\.\d+)?", self.answer):
            row["answer"] = float(self.answer) if "." in self.answer else int(self.answer)
        return row


@dataclass(frozen=True)
class _Fact:
    """One fact to ask about: its form, group, gold, and the values its phrasings are filled with."""

    form: str
    group: str
    answer: str
    fields: dict[str, str]
    accept: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    """For multiple choice: the right option first, then the distractors (shuffled per phrasing)."""


def build_questions(spec: VideoSpec, *, ways: int | None = None, offset: int = 0) -> list[QAItem]:
    """All questions about one spec's video (no rendering needed); `ways` overrides phrasings per fact."""
    items: list[QAItem] = []
    numbered: Counter[str] = Counter()
    for number, fact in enumerate(facts(spec)):
        form = FORMS[fact.form]
        for k in range(min(ways or form.ways, len(form.phrasings))):
            which = (number + offset + k) % len(form.phrasings)
            item = _phrase(spec, fact, which)
            numbered[item.type] += 1
            items.append(replace(item, qid=f"{spec.name}-{item.type}-{numbered[item.type]:02d}"))
    return items


def build_dev_set(specs: Sequence[VideoSpec] = SPECS, *, ways: int | None = None) -> list[QAItem]:
    """Questions about every spec, each video starting its phrasing rotation at a different template."""
    return [item for offset, spec in enumerate(specs) for item in build_questions(spec, ways=ways, offset=offset)]


def _phrase(spec: VideoSpec, fact: _Fact, which: int) -> QAItem:
    """The fact asked with phrasing number `which` of its form."""
    form = FORMS[fact.form]
    question = form.phrasings[which].format(**fact.fields)
    options: list[str] | None = None
    index: int | None = None
    if fact.options:
        options = list(fact.options)
        random.Random(f"{fact.group}/{which}").shuffle(options)
        index = options.index(fact.answer)
    extra = {"group": fact.group, "needs": list(form.needs), "phrasing": f"{fact.form}/{which}"}
    return DevItem(
        qid="",
        video=spec.file_name,
        question=question,
        options=options,
        answer=fact.answer,
        answer_index=index,
        type=form.type,
        extra=extra,
        accept=list(fact.accept),
    )


def facts(spec: VideoSpec) -> Iterator[_Fact]:
    """Every fact of the spec worth asking, with its gold answer taken from the spec."""
    yield from _line_facts(spec)
    yield from _scene_facts(spec)
    yield from _video_facts(spec)
    yield from _absent_facts(spec)


def _line_facts(spec: VideoSpec) -> Iterator[_Fact]:
    """Per narration line: what is said (by topic, caption or picture), when, and what is on screen then."""
    for number, cue in enumerate(spec.cues):
        said = f"{spec.name}/said/{number}"
        topic = {"topic": cue.topic}
        yield _Fact("speech_about", said, cue.key, topic, cue.accept)
        if cue.title:
            yield _Fact("speech_titled", said, cue.key, {"title": cue.title}, cue.accept)
        if showings(spec, cue.photo) == 1:
            yield _Fact("said_during_picture", said, cue.key, {"photo": PHOTOS[cue.photo].phrase}, cue.accept)
        yield _Fact("speech_time", f"{spec.name}/when/{number}", _seconds(cue.t0), topic)
        person = "yes" if cue.person else "no"
        yield _Fact("person_during_line", f"{spec.name}/person/{number}", person, topic)
        photo = PHOTOS[cue.photo]
        yield _Fact("picture_during_line", f"{spec.name}/picture/{number}", photo.phrase, topic, photo.accept)


def _scene_facts(spec: VideoSpec) -> Iterator[_Fact]:
    """First person, the order of lines and pictures, and which photo recurs (and which does not)."""
    scenes = spec.scenes()
    first = next((scene for scene in scenes if scene.shows_person), None)
    if first is not None:
        yield _Fact("first_appearance", f"{spec.name}/first-person", _seconds(first.t0), {})
    lines = sorted(spec.spoken_order)
    offered = tuple(spec.cues[i].topic for i in lines)
    yield _Fact("order_spoken", f"{spec.name}/order-spoken", offered[0], {}, options=offered + spec.decoy_topics[:1])
    shown = tuple(PHOTOS[spec.cues[i].photo].phrase for i in sorted(spec.shown_order))
    yield _Fact("order_shown", f"{spec.name}/order-shown", shown[0], {}, options=shown + spec.decoy_pictures)
    recurring = [photo for photo in dict.fromkeys(cue.photo for cue in spec.cues) if showings(spec, photo) > 1]
    if showings(spec, spec.shown_once) != 1:
        raise ValueError(f"{spec.name}: {spec.shown_once!r} is not on screen exactly once")
    for photo in [*recurring, spec.shown_once]:
        phrase = {"photo": PHOTOS[photo].phrase}
        times = showings(spec, photo)
        yield _Fact("recurrence_yesno", f"{spec.name}/recurs/{photo}", "yes" if times > 1 else "no", phrase)
        yield _Fact("recurrence_count", f"{spec.name}/showings/{photo}", str(times), phrase)


def _video_facts(spec: VideoSpec) -> Iterator[_Fact]:
    """Counts, the summary and the whole narration."""
    scenes = spec.scenes()
    counts = {
        "count_sentences": len(spec.cues),
        "count_scenes": len(scenes),
        "count_people": sum(scene.shows_person for scene in scenes),
        "count_titled": sum(bool(scene.title) for scene in scenes),
    }
    for form, value in counts.items():
        yield _Fact(form, f"{spec.name}/{form}", str(value), {})
    yield _Fact("summary", f"{spec.name}/summary", spec.summary, {}, spec.summary_keys)
    spoken = " ".join(cue.text for cue in spec.cues)
    yield _Fact("general", f"{spec.name}/general", spoken, {}, tuple(cue.key for cue in spec.cues))


def _absent_facts(spec: VideoSpec) -> Iterator[_Fact]:
    """Things neither said nor shown, asked about as if they were; a spec naming one is an error."""
    content = " ".join(f"{cue.text} {cue.title} {cue.photo} {PHOTOS[cue.photo].phrase}" for cue in spec.cues).lower()
    for thing in spec.absent:
        if re.search(rf"\b{re.escape(thing.lower())}", content):
            raise ValueError(f"{spec.name}: {thing!r} is listed as absent but the video contains it")
        group = f"{spec.name}/absent/{thing}"
        yield _Fact("absent_spoken", group, NOT_SAID, {"thing": thing}, tuple(ABSENT_ACCEPT))
        yield _Fact("absent_shown", group, NOT_SEEN, {"thing": thing}, tuple(ABSENT_ACCEPT))


def showings(spec: VideoSpec, photo: str) -> int:
    """How many separate times a photo is on screen (runs of consecutive scenes showing it)."""
    runs, previous = 0, None
    for scene in spec.scenes():
        if scene.image == photo and previous != photo:
            runs += 1
        previous = scene.image
    return runs


def _seconds(value: float) -> str:
    """A time in seconds as gold text: "14.5", "15"."""
    return f"{value:g}"


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m evaluation.paraphrase_qa OUT_DIR`: write the dev videos and OUT_DIR/dev.jsonl."""
    parser = argparse.ArgumentParser(description="Write the paraphrase dev set: videos and dev.jsonl.")
    parser.add_argument("out_dir", type=Path, help="folder for the videos and dev.jsonl")
    parser.add_argument("--ways", type=int, default=None, help="phrasings per fact (default: per form, 1-3)")
    args = parser.parse_args(argv)
    if args.ways is not None and args.ways < 1:
        parser.error("--ways must be at least 1")
    for spec in SPECS:
        started = time.perf_counter()
        try:
            video, written = render(spec, args.out_dir)
        except (RuntimeError, ValueError) as error:
            print(f"error: {spec.name}: {error}", file=sys.stderr)
            return 1
        took = f"written in {time.perf_counter() - started:.1f} s" if written else "already there"
        print(f"{video.path} ({video.duration:.0f} s, {len(video.scenes)} scenes): {took}")
    items = build_dev_set(ways=args.ways)
    out = args.out_dir / DEV_NAME
    write_native(items, out)
    print(f"wrote {len(items)} questions to {out}")
    for kind, count in sorted(Counter(item.type for item in items).items()):
        print(f"  {kind:17} {count}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
