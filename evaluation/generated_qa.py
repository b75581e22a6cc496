"""A QA set with known answers for a sample video, built from the description written beside it:
what is said and when, which titles and people are on screen, and things that are not in it.

Run `python -m evaluation.generated_qa VIDEO.mp4 OUT.jsonl` (the video's `VIDEO.mp4.json` must exist;
`python -m evaluation.sample_video VIDEO.mp4` writes both).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from core.errors import InvalidRequest, VidsageError
from core.types import format_timestamp
from evaluation.datasets.item import QAItem
from evaluation.datasets.native import write_native
from evaluation.sample_video import NarrationLine, SampleVideo, Scene, description_path

NOT_MENTIONED = "not mentioned"
NOT_SHOWN = "does not appear"
ABSENT_ACCEPT = ["not mentioned", "never mentioned", "not in the video", "does not appear", "no mention"]


@dataclass(frozen=True)
class _Asked:
    """One open question with its gold answer and other accepted answers."""

    question: str
    answer: str
    accept: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Choice:
    """One multiple-choice question: options and the index of the right one."""

    question: str
    options: tuple[str, ...]
    answer: int


@dataclass(frozen=True)
class _Fact:
    """What one default narration line lets us ask about it."""

    topic: str
    """How time and people questions refer to the line ("the bridge budget")."""
    asked: tuple[_Asked, ...]
    choices: tuple[_Choice, ...]


FACTS: dict[str, _Fact] = {
    "Welcome to the harbor tour.": _Fact(
        topic="the harbor tour",
        asked=(_Asked("What tour does the narrator welcome viewers to?", "harbor tour"),),
        choices=(
            _Choice(
                "Which tour does the narrator welcome viewers to?",
                ("a city bus tour", "a wine tour", "a harbor tour", "a zoo tour"),
                2,
            ),
        ),
    ),
    "The budget for the new bridge is four million dollars.": _Fact(
        topic="the bridge budget",
        asked=(
            _Asked("What is the budget for the new bridge?", "four million dollars", ("4 million", "$4 million")),
            _Asked(
                "How much money will the new bridge cost, according to the narrator?",
                "four million dollars",
                ("4 million",),
            ),
        ),
        choices=(
            _Choice(
                "What does the narrator say the new bridge's budget is?",
                (
                    "two million dollars",
                    "four million dollars",
                    "forty thousand dollars",
                    "four billion dollars",
                    "ten million dollars",
                ),
                1,
            ),
            _Choice(
                "Which of these topics does the narrator talk about?",
                ("a penguin colony", "the weather forecast", "a football match", "the budget for a new bridge"),
                3,
            ),
        ),
    ),
    "An astronaut will visit the science museum on Friday.": _Fact(
        topic="the astronaut's visit",
        asked=(
            _Asked("Who will visit the science museum?", "an astronaut"),
            _Asked("On which day will the astronaut visit the museum?", "Friday"),
            _Asked("Where is the astronaut going on Friday?", "the science museum"),
        ),
        choices=(
            _Choice(
                "On what day will the astronaut visit the science museum?",
                ("Monday", "Wednesday", "Friday", "Sunday"),
                2,
            ),
            _Choice(
                "Which place will the astronaut visit?",
                ("the airport", "the science museum", "the zoo", "the train station"),
                1,
            ),
        ),
    ),
    "Coffee is served in the garden after the tour.": _Fact(
        topic="the coffee",
        asked=(
            _Asked("Where is coffee served after the tour?", "in the garden"),
            _Asked("What is served in the garden after the tour?", "coffee"),
        ),
        choices=(
            _Choice("What will be served in the garden after the tour?", ("tea", "lemonade", "coffee", "ice cream"), 2),
        ),
    ),
}
"""Questions about the lines of `DEFAULT_NARRATION`, keyed by the line; other lines get generic questions."""

TIME_PHRASINGS = (
    "When is {topic} mentioned?",
    "At what time does the narrator talk about {topic}?",
    "At which moment of the video does the narration bring up {topic}?",
)
PEOPLE_PHRASINGS = (
    "Is a person on screen during the {title} scene?",
    "Does anyone appear in the picture while the narrator talks about {topic}?",
)
ABSENT_SPEECH = (
    ("What does the narrator say about penguins?", "penguin"),
    ("When does the narrator mention the volcano?", "volcano"),
    ("What is said about the football match?", "football"),
)
ABSENT_VISUAL = (("What colour is the dog that appears in the video?", "dog"),)


def load_description(video_path: Path | str) -> SampleVideo:
    """The ground truth written beside a sample video, or an error saying how to make one."""
    video_path = Path(video_path)
    described = description_path(video_path)
    if not video_path.is_file():
        raise InvalidRequest(f"{video_path}: no such video file")
    if not described.is_file():
        raise InvalidRequest(
            f"{video_path}: no description {described.name} beside it (only videos written by "
            "`python -m evaluation.sample_video` have known answers)"
        )
    try:
        return SampleVideo.from_dict(json.loads(described.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise InvalidRequest(f"{described}: not a sample-video description ({error})") from error


def build_questions(video: SampleVideo, *, video_name: str | None = None) -> list[QAItem]:
    """Questions of several types (speech, speech_time, multiple_choice, people, title, count, absent) with gold answers."""
    name = video_name if video_name is not None else video.path.name
    drafts = [*_speech_questions(video), *_scene_questions(video), *_count_questions(video), *_absent_questions(video)]
    numbered: Counter[str] = Counter()
    items = []
    for draft in drafts:
        numbered[draft.type] += 1
        items.append(replace(draft, qid=f"{draft.type}-{numbered[draft.type]}", video=name))
    return items


def _draft(
    kind: str,
    question: str,
    answer: str,
    *,
    accept: Sequence[str] = (),
    choice: _Choice | None = None,
    extra: dict[str, object] | None = None,
) -> QAItem:
    """A question of type `kind`; build_questions gives it its id and video."""
    return QAItem(
        qid="",
        video="",
        question=question,
        options=list(choice.options) if choice else None,
        answer=answer,
        answer_index=choice.answer if choice else None,
        type=kind,
        extra=dict(extra or {}),
        accept=list(accept),
    )


def _speech_questions(video: SampleVideo) -> Iterator[QAItem]:
    """What each line says (open and multiple choice) and when it is said."""
    for number, line in enumerate(video.narration):
        fact = FACTS.get(line.text)
        when = {"t0": line.t0, "t1": line.t1}
        generic = _Asked(f"What does the narrator say at {format_timestamp(line.t0)}?", line.text.rstrip("."))
        for asked in fact.asked if fact else (generic,):
            yield _draft("speech", asked.question, asked.answer, accept=asked.accept, extra=when)
        for phrasing in _time_phrasings(line, fact, number):
            yield _draft("speech_time", phrasing, format_timestamp(line.t0), extra=when)
        for choice in fact.choices if fact else ():
            yield _draft("multiple_choice", choice.question, choice.options[choice.answer], choice=choice, extra=when)


def _scene_questions(video: SampleVideo) -> Iterator[QAItem]:
    """Whether a person is on screen in each scene, and which title it prints."""
    for number, scene in enumerate(video.scenes):
        topic = _scene_topic(video, scene)
        where = {"t0": scene.t0, "t1": scene.t1}
        phrasing = PEOPLE_PHRASINGS[number % len(PEOPLE_PHRASINGS)] if topic else PEOPLE_PHRASINGS[0]
        question = phrasing.format(title=scene.title.title(), topic=topic)
        yield _draft("people", question, "yes" if scene.shows_person else "no", extra=where)
        middle = format_timestamp((scene.t0 + scene.t1) / 2)
        yield _draft("title", f"What title is printed on screen at {middle}?", scene.title, extra=where)


def _count_questions(video: SampleVideo) -> Iterator[QAItem]:
    """How many scenes, scenes with a person, and spoken sentences there are."""
    yield _draft(
        "count", "How many scenes, each with its own printed title, does the video show?", str(len(video.scenes))
    )
    people = sum(scene.shows_person for scene in video.scenes)
    yield _draft("count", "In how many of the scenes is a person visible?", str(people))
    if video.narration:
        yield _draft("count", "How many sentences does the narrator speak?", str(len(video.narration)))


def _absent_questions(video: SampleVideo) -> Iterator[QAItem]:
    """Questions about things neither said nor shown (skipping any the video does contain)."""
    spoken = " ".join(line.text.lower() for line in video.narration)
    shown = " ".join(f"{scene.image} {scene.title}".lower() for scene in video.scenes)
    for question, word in ABSENT_SPEECH:
        if word not in spoken:
            yield _draft("absent", question, NOT_MENTIONED, accept=ABSENT_ACCEPT)
    for question, word in ABSENT_VISUAL:
        if word not in shown:
            yield _draft("absent", question, NOT_SHOWN, accept=ABSENT_ACCEPT)


def _time_phrasings(line: NarrationLine, fact: _Fact | None, number: int) -> list[str]:
    """Two ways of asking when a line is said (rotating through the templates), or a quote of it."""
    if fact is None:
        return [f'When does the narrator say "{line.text}"?']
    return [TIME_PHRASINGS[(number + k) % len(TIME_PHRASINGS)].format(topic=fact.topic) for k in range(2)]


def _scene_topic(video: SampleVideo, scene: Scene) -> str:
    """The topic of the default narration line spoken during a scene, or "" when none is known."""
    for line in video.narration:
        fact = FACTS.get(line.text)
        if fact and scene.t0 <= line.t0 < scene.t1:
            return fact.topic
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m evaluation.generated_qa VIDEO.mp4 OUT.jsonl`: write the QA set, print what it holds."""
    parser = argparse.ArgumentParser(description="Write a QA set with known answers for a sample video.")
    parser.add_argument("video", type=Path, help="a video written by python -m evaluation.sample_video")
    parser.add_argument("out", type=Path, help="output QA file (.jsonl, vidsage's native format)")
    args = parser.parse_args(argv)
    try:
        video = load_description(args.video)
        name = os.path.relpath(args.video.resolve(), args.out.resolve().parent)
        items = build_questions(video, video_name=Path(name).as_posix())
        write_native(items, args.out)
    except VidsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    kinds = ", ".join(f"{kind} {count}" for kind, count in Counter(item.type for item in items).items())
    print(f"wrote {len(items)} questions ({kinds}) about {args.video} to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
