"""On-screen text as memory and evidence: a generated video with a title card, a name caption, a street sign and a
score that changes twice is ingested with the real PP-OCRv4 reader; what is written, when, and in which order
must come back, and questions about it must be answered from it."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest

from agent.session import Session
from core.settings import Settings
from evaluation.screen_text_video import ScreenTextVideo, make_screen_text_video
from memory.ingest.pipeline import ingest_video
from memory.ingest.screen_text import merge_reads
from memory.library import Library
from memory.video_memory import VideoMemory
from models.adapters.ocr import TextBox


def letters(text: str) -> str:
    """What OCR reliably keeps of a text: its letters and digits, lower-case (it may drop the spaces)."""
    return re.sub(r"[^0-9a-z]", "", text.lower())


def found(line: str, read: str) -> bool:
    return difflib.SequenceMatcher(None, letters(line), letters(read)).ratio() >= 0.85 or letters(line) in letters(read)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> tuple[ScreenTextVideo, Settings]:
    root = tmp_path_factory.mktemp("screen-text")
    video = make_screen_text_video(root / "signs.mp4")
    settings = Settings(profile="offline", data_dir=root / "data")
    ingest_video(video.path, settings)
    return video, settings


def test_titles_captions_and_signs_are_read_within_a_second_of_appearing(
    ingested: tuple[ScreenTextVideo, Settings],
) -> None:
    video, settings = ingested
    items = VideoMemory.for_path(settings, video.path).screen_text()
    for shown in [*video.texts("title"), *video.texts("caption"), *video.texts("sign")]:
        for line in shown.lines:
            hits = [i for i in items if found(line, i.text)]
            assert hits, f"{line!r} was not read: {[i.text for i in items]}"
            assert abs(hits[0].t0 - shown.t0) <= 1.0 and hits[0].t1 <= shown.t1 + 1.0, (line, hits[0])
    none = video.texts("none")[0]
    assert not [i for i in items if i.t0 >= none.t0], "the photo without text has no text"


def test_a_changing_score_is_read_in_the_order_shown(ingested: tuple[ScreenTextVideo, Settings]) -> None:
    video, settings = ingested
    items = VideoMemory.for_path(settings, video.path).screen_text()
    firsts = []
    for score in ("10", "20", "21"):
        reads = [i for i in items if re.search(rf"{score[0]}\D*-\D*{score[1]}", i.text)]
        assert reads, f"score {score} not read: {[i.text for i in items]}"
        firsts.append(reads[0].t0)
    assert firsts == sorted(firsts) and firsts[-1] >= video.texts("score")[-1].t0 - 1.0, firsts


def test_questions_about_what_is_written_are_answered_from_the_screen(
    ingested: tuple[ScreenTextVideo, Settings],
) -> None:
    video, settings = ingested
    with Session(video.path, settings=settings, persist=False) as session:
        sign = session.ask("What does the street sign say?")
        where = session.ask("When is Main Street written on screen?", thread_id="where")
        end = session.ask("What is the score at the end?", thread_id="score")
    assert not sign.abstained and "mainstreet" in letters(sign.text), sign.text
    assert {e.kind for e in sign.evidence} == {"screen_text"}, sign.evidence
    assert where.evidence and found("MAIN STREET", where.evidence[0].text), where.text
    assert abs(where.evidence[0].t0 - video.texts("sign")[0].t0) <= 1.0, where.evidence[0]
    cited = [e.text for e in end.evidence if e.kind == "screen_text"]
    assert cited and re.search(r"2\D*-\D*1", cited[-1]), end.text  # the last score read, last


def _box(text: str, x: float = 100.0, confidence: float = 0.95) -> TextBox:
    return TextBox(text, (x, 50.0, x + 200.0, 90.0), confidence)


def test_reads_merge_while_the_text_stays_and_split_when_it_changes() -> None:
    reads = [(0.0, [_box("HARBOR TOUR")]), (1.0, [_box("HARBOR  TOUR")]), (3.0, [_box("HOME 1-0")]),
             (4.0, [_box("HOME 2-0")]), (6.0, [])]  # fmt: skip
    items = merge_reads(reads, kept=[2.0, 5.0])
    assert [(i.text, i.t0) for i in items] == [("HARBOR TOUR", 0.0), ("HOME 1-0", 3.0), ("HOME 2-0", 4.0)]
    title, first_score, second_score = items
    assert title.reads == 2 and title.t1 == 2.5, "kept unchanged at 2 s, gone by 3 s: last seen halfway"
    assert first_score.t1 == 3.5 and second_score.t1 == 5.5
    assert merge_reads([(0.0, [_box("blurry", confidence=0.3)])]) == [], "a lone low-confidence read is noise"


def test_the_same_words_elsewhere_on_screen_are_another_item(tmp_path: Path) -> None:
    reads = [(0.0, [_box("EXIT", x=10.0), _box("EXIT", x=500.0)]), (1.0, [_box("EXIT", x=10.0)])]
    items = merge_reads(reads)
    assert len(items) == 2 and sorted(i.reads for i in items) == [1, 2]


def test_library_search_finds_text_on_screen(ingested: tuple[ScreenTextVideo, Settings]) -> None:
    video, settings = ingested
    hits = Library(settings).search("main street", top_k=3)
    assert hits and hits[0].kind == "screen_text" and found("MAIN STREET", hits[0].text), hits
    assert abs(hits[0].t0 - video.texts("sign")[0].t0) <= 1.0


def test_counting_the_shots_with_text_counts_only_those(ingested: tuple[ScreenTextVideo, Settings]) -> None:
    """Five shots, four with text (the score changes within one shot): the count is 4, not every shot."""
    video, settings = ingested
    with Session(video.path, settings=settings, persist=False) as session:
        answer = session.ask("How many shots have a caption or title on screen?")
    assert answer.text.startswith("Counted: 4 scenes with text on screen."), answer.text
