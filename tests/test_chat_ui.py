"""The terminal chat driven like a user would, on real memories (offline profile, rule planner): a new
video is ingested with a progress bar per stage, a question's answer streams in with its tool activity
and citations, a citation shows its keyframe in half blocks and moves the timeline cursor; history,
threads, copying, errors and cancelling behave as the footer promises."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chat_pilot import make_door_video, wait_for
from conftest import IngestedSample
from textual.pilot import Pilot
from textual.widgets import Static

from core.errors import BackendUnreachable, VidsageError
from core.settings import Settings
from evaluation.sample_video import SampleVideo
from memory.hashes import file_hash
from memory.layout import DataLayout
from memory.manifest import Manifest
from ui.chat import ChatApp, run_chat
from ui.chat.conversation import ChatLog, ChatTurn
from ui.chat.evidence import EvidenceList
from ui.chat.ingest_view import IngestView
from ui.chat.keyframe import KeyframeView
from ui.chat.question_input import QuestionInput
from ui.chat.timeline import TimelineStrip
from ui.halfblock import UPPER_HALF
from ui.timeline_strip import LABEL_WIDTH, column_of

SIZE = (120, 40)
BUDGET_QUESTION = "What does the narrator say about the budget?"
BUDGET = 1
"""Index of the budget line in the sample's narration."""


@pytest.fixture(scope="module")
def door_video(tmp_path_factory: pytest.TempPathFactory) -> SampleVideo:
    """A tiny narrated video that no memory holds yet."""
    return make_door_video(tmp_path_factory.mktemp("door"))


async def ask(pilot: Pilot[Any], app: ChatApp, question: str) -> ChatTurn:
    """Type `question`, press enter, and wait for its turn to finish."""
    box = app.query_one(QuestionInput)
    box.focus()
    box.value = question
    await pilot.press("enter")
    chat = app.query_one(ChatLog)
    await wait_for(pilot, lambda: chat.turns and chat.turns[-1].question == question, "the question's turn")
    turn = chat.turns[-1]
    await wait_for(pilot, lambda: turn.done, f"the answer to {question!r}")
    return turn


def text_of(widget: Static) -> str:
    return str(widget.content)


async def opened(pilot: Pilot[Any], app: ChatApp, timeout: float = 90.0) -> None:
    """Wait until the app's videos are open; fail with the app's own status line if opening fails."""
    status = app.query_one("#ingest-status", Static)
    await wait_for(pilot, lambda: app.session is not None or app.ingest_error or app.ingest_cancelled or
                   text_of(status).startswith("error"), "the videos to be opened", timeout)  # fmt: skip
    assert app.session is not None, text_of(status)


def test_a_missing_video_is_a_one_line_error_before_the_app_starts(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    with pytest.raises(VidsageError) as missing:
        run_chat([str(tmp_path / "nope.mp4")], settings)
    assert missing.value.exit_code == 2 and "nope.mp4" in str(missing.value) and "\n" not in str(missing.value)
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(VidsageError) as empty:
        run_chat([str(tmp_path / "empty.mp4")], settings)
    assert empty.value.exit_code == 2 and "empty" in str(empty.value)
    assert not (tmp_path / "data").exists(), "nothing was written"


async def test_open_ingest_ask_and_look_at_a_citation(
    offline_memory: IngestedSample, memory_copy: Settings, door_video: SampleVideo
) -> None:
    """The sample is in memory, the door video is not: it is ingested with progress, then the budget
    question is answered over both, and its citation shows the keyframe and the timeline cursor."""
    sample = offline_memory.video
    app = ChatApp([sample.path, door_video.path], memory_copy, models=offline_memory.models)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(IngestView)
        await wait_for(pilot, lambda: view.rows, "the first progress bar")
        assert app.query_one(QuestionInput).disabled, "no questions before the videos are open"
        await opened(pilot, app, timeout=120)

        stages = [row.stage for row in view.rows]
        assert {"speech", "frames"} <= set(stages), stages
        assert all(row.finished and row.note for row in view.rows), [(r.stage, r.note) for r in view.rows]
        speech = next(row for row in view.rows if row.stage == "speech")
        assert speech.note.startswith("1 span") and "✓ 1 span" in text_of(speech.query_one(".stage-note", Static))
        assert f"{sample.path.name}: already in memory" in view.notices, view.notices
        assert not view.display and app.query_one(ChatLog).display, "the chat replaces the progress view"

        turn = await ask(pilot, app, BUDGET_QUESTION)
        assert turn.error is None
        # two videos are open: the citation names its video
        assert "million" in turn.answer_text.lower() and f"[{sample.path.name} 00:07]" in turn.answer_text, turn.answer_text
        activity = text_of(turn.query_one(".activity", Static))
        assert "✓ search_transcript: 1 result in" in activity, activity

        listing = app.query_one(EvidenceList)
        cited = listing.evidence[0]
        assert abs(cited.t0 - sample.narration[BUDGET].t0) <= 1.0 and cited.kind == "transcript"
        assert str(listing.get_option_at_index(0).prompt).startswith(f"[00:07] {sample.path.name} transcript")

        await pilot.press("ctrl+o")  # look at the other video: its timeline, no cursor, no picture
        strip, keyframe = app.query_one(TimelineStrip), app.query_one(KeyframeView)
        assert strip.lanes is not None and strip.lanes.name == door_video.path.name
        assert strip.cursor is None and keyframe.frame is None
        assert app.sub_title.startswith(f"{door_video.path.name} (2/2)")

        await pilot.press("tab", "enter")  # to the citations, choose the first one
        await wait_for(pilot, lambda: keyframe.frame is not None, "the keyframe")
        assert strip.lanes.name == sample.path.name, "choosing a citation shows its video"
        assert cited.keyframe is not None and strip.cursor == pytest.approx(cited.keyframe)
        picture = keyframe.picture()
        assert picture.plain.count(UPPER_HALF) > 200
        assert len({span.style for span in picture.spans}) > 20, "a picture, not a flat block"
        assert len(picture.plain.splitlines()) <= keyframe.content_size.height
        assert keyframe.border_subtitle.startswith("[00:07] transcript")
        lines = strip.picture().plain.splitlines()
        columns = strip.content_size.width - LABEL_WIDTH
        assert lines[-2][LABEL_WIDTH + column_of(strip.cursor, strip.lanes.duration, columns)] == "▲"
        assert "00:08" in lines[-2], "the cursor is labelled with the keyframe time"


async def test_history_new_thread_and_copy(offline_memory: IngestedSample) -> None:
    app = ChatApp([offline_memory.video.path], offline_memory.settings, models=offline_memory.models)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, app)
        assert app.session is not None
        await pilot.press("ctrl+y")
        assert app.clipboard == "", "nothing to copy before an answer"

        turn = await ask(pilot, app, BUDGET_QUESTION)
        box = app.query_one(QuestionInput)
        assert box.value == ""
        box.value = "a draft"
        await pilot.press("up")
        assert box.value == BUDGET_QUESTION, "up recalls the previous question"
        await pilot.press("down")
        assert box.value == "a draft", "down comes back to the draft"

        await pilot.press("ctrl+y")
        assert app.clipboard == turn.answer_text and "million" in app.clipboard

        absent = await ask(pilot, app, "Is a giraffe mentioned?")
        assert "does not appear" in absent.answer_text
        await pilot.pause()
        assert app.query_one(EvidenceList).evidence == [] and app.query_one(KeyframeView).frame is None
        assert app.query_one(TimelineStrip).cursor is None, "no cursor left at the earlier answer's moment"

        before = app.session.thread_id
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.session.thread_id != before and app.session.thread_id in app.sub_title
        assert app.query_one(ChatLog).turns == [] and app.query_one(EvidenceList).evidence == []
        assert app.session.turns() == [] and [t.question for t in app.session.turns(before)] == [
            BUDGET_QUESTION,
            "Is a giraffe mentioned?",
        ]

        box.value = "   "
        await pilot.press("enter")  # a blank question is ignored
        await pilot.pause()
        assert app.query_one(ChatLog).turns == []


async def test_a_resumed_thread_shows_its_earlier_turns(offline_memory: IngestedSample) -> None:
    first = ChatApp([offline_memory.video.path], offline_memory.settings, models=offline_memory.models,
                    thread_id="resume-me")  # fmt: skip
    async with first.run_test(size=SIZE) as pilot:
        await opened(pilot, first)
        await ask(pilot, first, BUDGET_QUESTION)
    again = ChatApp([offline_memory.video.path], offline_memory.settings, models=offline_memory.models,
                    thread_id="resume-me")  # fmt: skip
    async with again.run_test(size=SIZE) as pilot:
        await opened(pilot, again)
        await pilot.pause()
        turns = again.query_one(ChatLog).turns
        assert [t.question for t in turns] == [BUDGET_QUESTION] and "million" in turns[0].answer_text
        assert again.query_one(EvidenceList).evidence, "the last answer's citations are listed"
        assert "thread resume-me" in again.sub_title


async def test_an_error_while_answering_is_shown_and_the_chat_goes_on(
    offline_memory: IngestedSample, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = ChatApp([offline_memory.video.path], offline_memory.settings, models=offline_memory.models)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, app)
        message = "the planner server at http://127.0.0.1:9/v1 does not answer"

        def unreachable(question: str, **_: Any) -> Iterator[Any]:
            raise BackendUnreachable(message)
            yield

        monkeypatch.setattr(app.session, "stream", unreachable)
        failed = await ask(pilot, app, BUDGET_QUESTION)
        assert failed.error == message and message in text_of(failed.query_one(".notes", Static))
        assert app.is_running
        monkeypatch.undo()
        answered = await ask(pilot, app, BUDGET_QUESTION)
        assert answered.error is None and "million" in answered.answer_text.lower()


async def test_a_file_that_is_no_video_is_reported_in_the_app(tmp_path: Path, offline_memory: IngestedSample) -> None:
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"this is not a video file at all" * 64)
    app = ChatApp([garbage], Settings(data_dir=tmp_path / "data"), models=offline_memory.models)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.ingest_error is not None, "the ingest error")
        status = text_of(app.query_one("#ingest-status", Static))
        assert status.startswith("error: ") and "garbage.mp4" in status
        assert isinstance(app.ingest_error, VidsageError) and app.ingest_error.exit_code == 2
        assert app.session is None and app.is_running
        await pilot.press("ctrl+q")
    assert not app.is_running


async def test_cancelling_the_ingest_stops_it(tmp_path: Path, offline_memory: IngestedSample,
                                              door_video: SampleVideo) -> None:  # fmt: skip
    settings = offline_memory.settings.model_copy(update={"data_dir": tmp_path / "data"})
    app = ChatApp([door_video.path], settings, models=offline_memory.models)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(IngestView)
        await wait_for(pilot, lambda: view.rows, "the first stage")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.ingest_cancelled, "the ingest to stop")
        assert app.session is None
        assert text_of(app.query_one("#ingest-status", Static)).startswith("ingest cancelled")
        assert "frames" not in [row.stage for row in view.rows], "no stage started after the cancel"
        layout = DataLayout(settings.data_dir)
        manifest = Manifest.load(layout, file_hash(layout, door_video.path)[:16])
        assert manifest is None or "clusters" not in manifest.stages, "the ingest did not run to the end"
        await pilot.press("ctrl+q")
    assert not app.is_running
