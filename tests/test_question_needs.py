"""What a question needs perceived, read from its form: families of phrasings, not single templates. A need
decides whether the offline profile (speech, people, shot cuts; no picture or text reading) may answer."""

from __future__ import annotations

import pytest

from agent.needs import question_needs
from agent.question import read_question


def needs(question: str) -> tuple[str, ...]:
    return question_needs(read_question(question)).senses


@pytest.mark.parametrize(
    "question",
    ["Tell me what we hear concerning the animals.", "How does the commentary describe the wedding cake?",
     "According to the audio, what must riders wear?", "Is there any mention of coffee?",
     "What does the narrator say about the photos?"],
)  # fmt: skip
def test_speech_about_a_thing_needs_only_speech(question: str) -> None:
    assert needs(question) == ("speech",)


@pytest.mark.parametrize(
    "question",
    ["Does a clock appear in the video?", "What color is the rocket?", "Once a cat leaves the screen, does it return?",
     "Is the shot of a cat repeated anywhere?", "In how many different shots can a cat be seen?", "What is shown?",
     "Which image is displayed first?"],
)  # fmt: skip
def test_what_is_seen_needs_the_pictures(question: str) -> None:
    assert "pictures" in needs(question)


@pytest.mark.parametrize(
    "question",
    ["Is a person on screen during the harbor scene?", "When does the woman first appear?",
     "Can somebody be seen in the picture for the part about the guide?", "Among the still shots, how many contain a person?",
     "While the audio covers the farewell, is there a human in the frame?"],
)  # fmt: skip
def test_whether_people_are_there_needs_the_person_detector_not_the_pictures(question: str) -> None:
    assert "people" in needs(question) and "pictures" not in needs(question)


def test_printed_words_need_text_reading_and_counting_scenes_does_not() -> None:
    assert needs("What title is printed on screen at 0:10?") == ("text",)
    assert needs('What words accompany the "SAFETY FIRST" caption?')[-1] == "text"
    assert needs("How many shots carry an overlaid title?") == ("text",)  # which scenes have one: read them
    assert needs("How many scenes does the video show?") == ()  # shot cuts: every profile sees them
    assert needs("What is the total number of picture segments in the clip?") == ()  # shots, in other words
    assert needs("Counting each stretch of one picture as a shot, how many shots are there?") == ()
    assert needs("How many different stretches of still imagery does the footage contain?") == ()
    assert needs("In how many different shots can a cat be seen?") != ()  # the shots must show a cat
    assert needs("Describe the photo that accompanies the line about the fees.") == ("pictures",)


@pytest.mark.parametrize(
    ("question", "general", "summary", "count_of"),
    [("What words are spoken here?", True, False, None), ("What can be heard in the video?", True, False, None),
     ("Write down the spoken words of this footage.", True, False, None),
     ("Briefly describe what the footage covers.", False, True, None),
     ("Sum up the content of the voice-over briefly.", False, True, None),
     ("Count the spoken lines in the audio: how many are there?", False, False, "speech"),
     ("How many distinct statements can be heard?", False, False, "speech"),
     ("In how many of the scenes is a person visible?", False, False, "people_scenes")],
)  # fmt: skip
def test_general_summary_and_count_phrasings(question: str, general: bool, summary: bool, count_of: str) -> None:
    form = read_question(question)
    assert (form.general, form.summary, form.count_of) == (general, summary, count_of)


def test_a_clause_naming_a_moment_is_found_before_or_after() -> None:
    assert read_question("When the speaker gets to the hilltop observatory, is anyone on screen?").during == (
        "hilltop observatory"
    )
    assert read_question("Is anyone visible at the moment the speaker talks about late fees?").during == "late fees"
    assert question_needs(read_question("When the speaker gets to the fees, does the picture include a person?")).yes_no


@pytest.mark.parametrize(
    ("question", "during"),
    [
        ("When does the guest from the space agency first appear on screen?", "guest space agency"),
        ("Is the new barista on screen?", "new barista"),
        ("When does the woman in red first appear?", ""),  # named by looks: the detector's people answer it
    ],
)
def test_a_person_named_by_role_is_found_where_the_speech_names_them(question: str, during: str) -> None:
    from agent.question import read_question

    assert read_question(question, ()).during == during


def test_people_in_a_while_clause_name_the_moment_not_the_question() -> None:
    from agent.needs import question_needs
    from agent.question import read_question

    form = read_question("What is on screen while the narrator says the children loved the horseshoe collection?", ())
    assert not form.people and "pictures" in question_needs(form).senses
    assert read_question("Who is on screen while the narrator talks about the children?", ()).people
    assert read_question("Is the coin room mentioned before or after the horseshoe collection?", ()).compared == (
        "coin room", "horseshoe collection")


@pytest.mark.parametrize(
    ("question", "asks_detector"),
    [("What kind of cake is being baked?", False), ("Who is the cake for?", False),
     ("Is there a cake?", True), ("When is a cake shown?", True), ("How many cakes are there?", True),
     ("Does a cake appear?", True), ("What comes after the cake?", True)],
)  # fmt: skip
def test_naming_a_thing_is_not_asking_the_object_detector(question: str, asks_detector: bool) -> None:
    """A thing the detector knows, named in a question that asks nothing about it being on screen, is answered from
    the speech: the detector not finding it is no reason to abstain."""
    import dataclasses

    form = dataclasses.replace(read_question(question), objects=("cake",))
    assert ("objects" in question_needs(form).senses) is asks_detector
