"""Honest answers (offline profile: speech, people and shot cuts, no CLIP, captioner or VLM): what the loaded
models cannot see is said, never guessed; multiple choice without evidence chooses nothing unless a pick is
forced; speech over a photo is the narrator's; several videos are cited by name and follow-ups stay in theirs.

Ground truth: the sample video (four narrated lines over rocket, camera, astronaut and coffee photos) and a
second narrated video made here (a clock narrated as "four o'clock", then coins).
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from unittest.mock import patch

import pytest
from conftest import IngestedSample, cli_env, run_cli

from agent import Session, ask
from core.settings import Settings
from evaluation.sample_video import SampleVideo, make_sample_video
from memory.ingest.pipeline import ingest_video
from models.registry import ROLE_TABLE

CLOCK_LINE = "We meet at four o'clock in the old square."
MARKET_LINE = "The market sells coins and stamps."
PICTURES_BLIND = "can't look at the pictures"


@dataclass(frozen=True)
class TwoVideos:
    """The sample and the clock video, ingested into one private memory."""

    sample: SampleVideo
    clock: SampleVideo
    settings: Settings


@pytest.fixture(scope="module")
def two_videos(offline_memory: IngestedSample, tmp_path_factory: pytest.TempPathFactory) -> TwoVideos:
    root = tmp_path_factory.mktemp("honest")
    data = root / "memory"
    shutil.copytree(offline_memory.settings.data_dir, data)
    settings = offline_memory.settings.model_copy(update={"data_dir": data})
    clock = make_sample_video(
        root / "clock.mp4", narration=[(0.5, CLOCK_LINE), (6.0, MARKET_LINE)], duration=11.0, size=(320, 180),
        photos=[("clock", "", False), ("coins", "", False)],
    )  # fmt: skip
    ingest_video(clock.path, settings, models=offline_memory.models)
    return TwoVideos(offline_memory.video, clock, settings)


def _ask(memory: IngestedSample, question: str, **kwargs: object):  # type: ignore[no-untyped-def]
    return ask(memory.video.path, question, settings=memory.settings, models=memory.models, **kwargs)  # type: ignore[arg-type]


# --- abstain when blind ---------------------------------------------------------------------------------


@pytest.mark.parametrize("question", ["What color is the rocket?", "What color is the cup?"])
def test_what_only_the_pictures_show_is_not_called_absent(offline_memory: IngestedSample, question: str) -> None:
    answer = _ask(offline_memory, question)
    assert answer.abstained and "does not appear" not in answer.text
    assert PICTURES_BLIND in answer.text and any(PICTURES_BLIND in line for line in answer.limitations)
    assert answer.to_dict()["limitations"] == answer.limitations and answer.to_dict()["abstained"] is True


@pytest.mark.parametrize(("question", "thing"), [("Does a clock appear in the video?", "clock"),
                                                 ("Is there a cat anywhere?", "cat")])  # fmt: skip
def test_an_object_the_detector_did_not_find_is_not_detected_with_what_it_did_see(
    offline_memory: IngestedSample, question: str, thing: str
) -> None:
    """The COCO detector knows clocks and cats but misses many (a clock photo, a cat in the dev slideshows): "not
    detected" is said with what it did find (the coffee photo's cup), and the answer abstains, never "No." and
    never "the video does not contain this"."""
    answer = _ask(offline_memory, question)
    assert answer.abstained and answer.text.startswith("I can't tell for sure"), answer.text
    assert f"no {thing} was detected" in answer.text and "found: " in answer.text and "cup" in answer.text
    assert "does not appear" not in answer.text and "No." not in answer.text and answer.limitations


def test_a_printed_title_is_read_from_the_screen(offline_memory: IngestedSample) -> None:
    """The offline profile reads text on screen (PP-OCRv4): the title shown at that moment, and only it."""
    answer = _ask(offline_memory, "What title is printed on screen at 0:10?")
    squeezed = re.sub(r"[^a-z]", "", answer.text.lower())
    assert not answer.abstained and "bridgebudget" in squeezed and "harbortour" not in squeezed, answer.text
    assert {e.kind for e in answer.evidence} == {"screen_text"}


def test_text_on_screen_is_unknown_without_a_reader(offline_memory: IngestedSample, tmp_path: Path) -> None:
    """Memory ingested without a text reader: the answer says it cannot read text on screen, never 'none'."""
    video = make_sample_video(tmp_path / "card.mp4", narration=[(0.5, "Welcome to the harbor tour.")], size=(320, 180),
                              duration=6.0)  # fmt: skip
    settings = offline_memory.settings.model_copy(update={"data_dir": tmp_path / "no-reader"})
    with patch.dict(ROLE_TABLE, {"ocr": dataclasses.replace(ROLE_TABLE["ocr"], offline=None)}):
        answer = Session(video.path, settings=settings, persist=False).ask("What title is printed on screen?")
    assert answer.abstained and "can't read text on screen" in answer.text, answer.text


def test_what_was_searched_for_in_speech_is_still_absent(offline_memory: IngestedSample) -> None:
    answer = _ask(offline_memory, "Does the narrator mention a clock?")
    assert not answer.abstained and answer.text.startswith("No.") and "does not appear" in answer.text


def test_a_person_on_screen_gets_a_yes(offline_memory: IngestedSample) -> None:
    answer = _ask(offline_memory, "Does a person appear in the video?")
    assert answer.text.startswith("Yes.") and not answer.abstained
    assert any(e.kind == "actor" for e in answer.evidence)


def test_a_word_inside_another_word_is_found(two_videos: TwoVideos) -> None:
    with Session(two_videos.clock.path, settings=two_videos.settings, persist=False) as session:
        answer = session.ask("When is the clock mentioned?")
    assert re.search(r"\b(four|4) o'clock", answer.text.lower()) and not answer.abstained  # tiny.en writes either
    assert answer.evidence and answer.evidence[0].t0 < 2.0


# --- multiple choice ------------------------------------------------------------------------------------


ANIMALS = ["a dog", "a horse", "an eagle", "a fish"]


def test_multiple_choice_without_evidence_chooses_nothing(offline_memory: IngestedSample) -> None:
    answer = _ask(offline_memory, "What animal appears in the video?", options=ANIMALS)
    assert answer.choice is None and answer.abstained and not answer.forced
    assert "can't choose" in answer.text and not answer.text.lstrip().startswith(("A.", "B.", "C.", "D."))
    forced = _ask(offline_memory, "What animal appears in the video?", options=ANIMALS, force_choice=True)
    assert forced.choice is not None and forced.forced and "forced pick" in forced.text


def test_supported_choice_carries_a_confidence(offline_memory: IngestedSample) -> None:
    options = ["a city bus tour", "a wine tour", "a harbor tour", "a zoo tour"]
    answer = _ask(offline_memory, "Which tour does the narrator welcome viewers to?", options=options)
    assert answer.choice == 2 and not answer.forced and answer.confidence is not None and answer.confidence > 0.35


def test_order_among_options_follows_when_each_is_said(offline_memory: IngestedSample) -> None:
    options = ["the bridge budget", "the harbor tour", "coffee in the garden", "a night at the opera"]
    first = _ask(offline_memory, "Which of these is brought up first?", options=options)
    last = _ask(offline_memory, "Which one does the narrator mention last?", options=options)
    assert (first.choice, last.choice) == (1, 2), (first.text, last.text)
    shown = _ask(offline_memory, "Which picture is shown first?", options=["a rocket", "a camera", "a cup"])
    assert shown.choice is None and shown.abstained and PICTURES_BLIND in shown.text


def test_cli_force_choice_reports_the_pick_as_forced(offline_memory: IngestedSample) -> None:
    args = ["ask", str(offline_memory.video.path), "Which animal is shown?", "--json"]
    for option in ANIMALS:
        args += ["--option", option]
    free = run_cli(*args, env=cli_env(offline_memory.settings))
    forced = run_cli(*args, "--force-choice", env=cli_env(offline_memory.settings))
    assert free.returncode == 0 and forced.returncode == 0, free.stderr + forced.stderr
    free_json, forced_json = json.loads(free.stdout), json.loads(forced.stdout)
    assert free_json["choice"] is None and free_json["abstained"]
    assert "dog, horse" in free_json["answer"] and "was detected" in free_json["answer"]  # the detector found none
    assert forced_json["choice"] is not None and forced_json["forced"] is True


def test_yes_no_and_nobody_options_follow_the_open_answer(offline_memory: IngestedSample) -> None:
    coffee = _ask(offline_memory, "Is anyone on screen when the coffee is mentioned?", options=["yes", "no"])
    budget = _ask(offline_memory, "Is anyone on screen when the bridge budget is mentioned?", options=["yes", "no"])
    nobody = _ask(offline_memory, "Who is on screen when the narrator talks about coffee?",
                  options=["an astronaut", "nobody", "a man with a camera"])  # fmt: skip
    assert (coffee.choice, budget.choice, nobody.choice) == (1, 0, 1), (coffee.text, budget.text, nobody.text)
    question = "Who is on screen while the bridge budget is mentioned?"
    one_person = _ask(offline_memory, question, options=["a bowl of fruit", "a man holding a camera", "nobody"])
    assert one_person.choice == 1, one_person.text  # someone is there, and only one option is a person
    two_people = _ask(offline_memory, question, options=["an astronaut", "a man holding a camera", "nobody"])
    assert two_people.choice is None and PICTURES_BLIND in two_people.text  # which one is a question of looks


def test_a_count_naming_a_topic_counts_the_lines_that_say_it(offline_memory: IngestedSample) -> None:
    answer = _ask(offline_memory, "How many times does the narrator mention the tour?")
    assert answer.text.startswith("Counted: 2 lines of speech"), answer.text  # "harbor tour", "after the tour"
    assert _ask(offline_memory, "How many sentences does the narrator speak?").text.startswith("Counted: 4 lines")


# --- speech attribution ---------------------------------------------------------------------------------


def test_narration_over_a_photo_is_the_narrators(offline_memory: IngestedSample) -> None:
    answer = _ask(offline_memory, "Who speaks first?", options=["actor 2", "the narrator"])
    assert answer.choice == 1, answer.text
    said = _ask(offline_memory, "Who says that an astronaut will visit the museum?")
    assert "narrator or an off-screen voice" in said.text and "likely person" not in said.text


# --- several videos -------------------------------------------------------------------------------------


def test_citations_name_their_video_and_follow_ups_stay_in_it(two_videos: TwoVideos) -> None:
    paths = [two_videos.sample.path, two_videos.clock.path]
    with Session(paths, settings=two_videos.settings, persist=False) as session:
        first = session.ask("What does the narrator say about the market?")
        assert "[clock.mp4 00:06]" in first.text, first.text
        data = first.to_dict()
        assert {e["video"] for e in data["evidence"]} == {"clock.mp4"}
        clock_id = session.memories[1].video_id
        follow = session.ask("And what is said before that?")
        assert {e.video_id for e in follow.evidence} == {clock_id}, follow.text
        assert re.search(r"\b(four|4) o'clock", follow.text) and "clock.mp4" in follow.text  # tiny.en writes either
        assert "sample.mp4" not in follow.text
        people = session.ask("Who is on screen?")  # actor references stay in the thread's video
    assert people.evidence and {e.video_id for e in people.evidence} == {clock_id}, people.text


def test_a_single_video_keeps_plain_citations(offline_memory: IngestedSample) -> None:
    answer = _ask(offline_memory, "What is the budget for the new bridge?")
    assert "[00:07]" in answer.text and "sample.mp4" not in answer.text
    assert answer.to_dict()["evidence"][0]["video"] == Path(offline_memory.video.path).name


def test_before_or_after_says_which_with_both_times(offline_memory: IngestedSample) -> None:
    answer = _ask(offline_memory, "Is the bridge budget mentioned before or after the astronaut's visit?")
    assert answer.text.startswith("Before: “bridge budget” is said at [00:07], “astronaut's visit” at [00:14]."), answer.text
    later = _ask(offline_memory, "Was the coffee in the garden brought up before or after the harbor tour?")
    assert later.text.startswith("After:"), later.text


def test_what_is_shown_while_people_are_spoken_of_needs_the_pictures(offline_memory: IngestedSample) -> None:
    """'The children' in the while-clause only names the moment: what is on screen then is a picture question."""
    answer = _ask(offline_memory, "What is on screen while the narrator says coffee is served in the garden?")
    assert answer.abstained and "can't look at the pictures" in answer.text, answer.text
    who_or_what = _ask(offline_memory, "Who or what is shown when the science museum is mentioned?")
    assert who_or_what.abstained and "pictures" in who_or_what.text, who_or_what.text


def test_before_or_after_as_multiple_choice_picks_the_order_found(offline_memory: IngestedSample) -> None:
    answer = _ask(offline_memory, "Is the bridge budget mentioned before or after the astronaut's visit?",
                  options=["before", "after"])  # fmt: skip
    assert answer.choice == 0 and answer.text.startswith("A. before"), answer.text


def test_a_person_seen_twice_counts_in_the_two_scenes_not_the_gap_between() -> None:
    from agent.compose import compose_answer
    from core.types import Evidence

    scenes = [Evidence("scene", "v", t0, t0 + 5.0, f"scene {i}", 1.0, "list_scenes") for i, t0 in enumerate((0.0, 5.0, 10.0))]
    person = Evidence("actor", "v", 0.5, 14.0, "person (actor 1) on screen [00:00]-[00:04], [00:10]-[00:14]", 1.0,
                      "query_actors")  # fmt: skip
    composed = compose_answer("How many scenes have a person in them?", [*scenes, person], [], True, [],
                              count_of="people_scenes")  # fmt: skip
    assert composed.text.startswith("Counted: 2 scenes with a tracked person on screen."), composed.text


def test_coming_back_leads_with_the_second_appearance() -> None:
    from agent.compose import compose_answer
    from core.types import Evidence

    twice = Evidence("actor", "v", 16.0, 20.0, "person (actor 1) on screen [00:16]-[00:20] (3.7 s of [00:16]-[00:20]); "
                     "all appearances [00:16]-[00:20], [00:36]-[00:40]; standing [00:17]-[00:19]", 1.0, "query_actors")  # fmt: skip
    composed = compose_answer("When does she come back on screen?", [twice], [], True, [], again=True)
    assert composed.text.startswith("Back on screen: [00:36] person (actor 1) returns, appearance 2 of 2"), composed.text
    once = Evidence("actor", "v", 16.0, 20.0, "person (actor 1) on screen [00:16]-[00:20]", 1.0, "query_actors")
    composed = compose_answer("Does he come back?", [once], [], True, [], again=True)
    assert composed.text.startswith("Not back: person (actor 1) is on screen once, [00:16]-[00:20]."), composed.text
