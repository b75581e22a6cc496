"""The default sample video's on-screen text besides its scene titles (a title card over the opening, a name
caption under the astronaut, a sign standing in the coffee photo) is what its description says, is read by the
ocr stage within a second of when it is shown, and adds no shot: the scenes stay the four the tests count."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import IngestedSample

from evaluation.sample_video import SampleVideo, ShownText, description_path, make_sample_video
from memory.video_memory import VideoMemory

OVERLAYS = ("title_card", "caption", "sign")


def letters(text: str) -> str:
    """Lower-case letters and digits only: the reader drops or keeps spaces and punctuation as it likes."""
    return re.sub(r"[^0-9a-z]", "", text.lower())


def shown(video: SampleVideo, kind: str) -> ShownText:
    (text,) = [t for t in video.screen_texts if t.kind == kind]
    return text


def test_the_description_says_what_is_printed_when(silent_sample: SampleVideo) -> None:
    video = silent_sample
    titles = [(t.text, t.t0, t.t1) for t in video.screen_texts if t.kind == "title"]
    assert titles == [(s.title, s.t0, s.t1) for s in video.scenes]
    card, caption, sign = (shown(video, kind) for kind in OVERLAYS)
    assert card.t0 == 0.0 and card.t1 - card.t0 >= 1.0 and card.t1 < video.scenes[0].t1
    assert len(card.text.split()) >= 2
    astronaut, coffee = video.scenes[2], video.scenes[3]
    assert astronaut.image == "astronaut" and astronaut.shows_person
    assert (caption.t0, caption.t1) == (astronaut.t0, astronaut.t1)
    assert coffee.image == "coffee" and (sign.t0, sign.t1) == (coffee.t0, coffee.t1)
    assert [t.t0 for t in video.screen_texts] == sorted(t.t0 for t in video.screen_texts)
    written = json.loads(description_path(video.path).read_text())
    assert SampleVideo.from_dict(written) == video
    assert {t["kind"] for t in written["screen_texts"]} == {"title", *OVERLAYS}


def test_an_older_description_reads_as_titles_only(silent_sample: SampleVideo) -> None:
    """Descriptions written before `screen_texts` existed come from videos that printed only their titles."""
    old = silent_sample.to_dict()
    del old["screen_texts"]
    read = SampleVideo.from_dict(old)
    assert [(t.kind, t.text) for t in read.screen_texts] == [("title", s.title) for s in silent_sample.scenes]


def test_videos_with_their_own_narration_or_photos_print_only_titles(tmp_path: Path) -> None:
    narrated = make_sample_video(tmp_path / "own.mp4", with_audio=False, size=(160, 90), duration=6.0,
                                 narration=[(1.0, "One."), (3.0, "Two.")])  # fmt: skip
    assert [(t.kind, t.text) for t in narrated.screen_texts] == [("title", "SCENE 1"), ("title", "SCENE 2")]
    asked = make_sample_video(tmp_path / "asked.mp4", with_audio=False, size=(160, 90), duration=6.0,
                              narration=[(1.0, "One."), (3.0, "Two.")], overlays=True)  # fmt: skip
    assert [t.kind for t in asked.screen_texts] == ["title", "title_card", "title"], "no third or fourth scene"


@pytest.mark.parametrize("kind", OVERLAYS)
def test_each_kind_is_read_within_a_second_of_when_it_is_shown(offline_memory: IngestedSample, kind: str) -> None:
    video = offline_memory.video
    truth = shown(video, kind)
    items = VideoMemory.for_path(offline_memory.settings, video.path).screen_text()
    hits = [i for i in items if letters(i.text) == letters(truth.text)]
    assert hits, f"{truth.text!r} was not read: {[(i.text, i.t0, i.t1) for i in items]}"
    first = hits[0]
    assert abs(first.t0 - truth.t0) <= 1.0 and abs(first.t1 - truth.t1) <= 1.0, (truth, first)
    assert first.confidence >= 0.9, first


def test_the_texts_add_no_shot(offline_memory: IngestedSample) -> None:
    """The title card fades out over the first photo and the caption and sign come and go with their scenes'
    cuts, so the shots (and the scene list and counts built on them) are the four photos."""
    video = offline_memory.video
    memory = VideoMemory.for_path(offline_memory.settings, video.path)
    cuts = [scene.t0 for scene in video.scenes[1:]]
    assert memory.shot_cuts() == pytest.approx(cuts, abs=0.25)
    assert memory.clusters().boundaries == pytest.approx(cuts, abs=0.25)


def _answer(memory: IngestedSample, question: str) -> str:
    from agent import ask

    return ask(memory.video.path, question, settings=memory.settings, models=memory.models).text


def test_a_fact_printed_but_never_said_is_found_on_screen(offline_memory: IngestedSample) -> None:
    """The narration never says who the curator is; the caption under the astronaut does."""
    text = _answer(offline_memory, "What is the curator's name?")
    assert "ADA STONE" in text.upper(), text
    assert "does not appear" not in text, text


def test_the_text_shown_while_a_line_is_spoken(offline_memory: IngestedSample) -> None:
    text = _answer(offline_memory, "What is printed on screen while the narrator talks about coffee in the garden?")
    screen = text.split("What is written on screen:")[1] if "What is written on screen:" in text else ""
    assert "PATIO SEATING" in screen.upper() or "PATIOSEATING" in screen.upper(), text
    assert "HARBOR TOUR" not in screen.upper() and "ADA STONE" not in screen.upper(), text


def test_the_text_at_the_very_end_is_the_last_shown(offline_memory: IngestedSample) -> None:
    text = _answer(offline_memory, "What's written on the screen at the very end of the video?")
    assert "GARDEN CAFE" in text.upper(), text
    assert "SAMPLE REEL" not in text.upper() and "HARBOR TOUR" not in text.upper(), text


def test_a_spoken_question_quotes_no_unrelated_screen_text(offline_memory: IngestedSample) -> None:
    """A speech question also searches the screen, but quotes only texts that share a word with it."""
    text = _answer(offline_memory, "How much will the new bridge cost?")
    assert "four million" in text.lower() or "4 million" in text.lower(), text
    assert "PATIO" not in text.upper() and "ADA STONE" not in text.upper(), text
