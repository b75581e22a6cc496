"""Pictures of the terminal chat's two screens, compared with the accepted SVGs in __snapshots__/ (this
plugin version names them .raw): the ingest progress after a real ingest of a tiny video, and the chat
after the real session answered and the citation's keyframe was drawn. Seconds are left out of the
screen (`show_timings=False`) and the thread id is fixed, so the pictures are the same on every run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from chat_pilot import make_door_video, wait_for
from conftest import IngestedSample
from textual.pilot import Pilot

from agent.session import Session
from evaluation.sample_video import SampleVideo
from ui.chat import ChatApp
from ui.chat.conversation import ChatLog
from ui.chat.ingest_view import IngestView
from ui.chat.keyframe import KeyframeView
from ui.chat.question_input import QuestionInput

SIZE = (120, 40)


@pytest.fixture(scope="module")
def door_video(tmp_path_factory: pytest.TempPathFactory) -> SampleVideo:
    """A tiny narrated video that no memory holds yet."""
    return make_door_video(tmp_path_factory.mktemp("door"))


class IngestOnlyApp(ChatApp):
    """The chat app that stays on the progress view once the ingest is done (to take its picture)."""

    held: Session | None = None

    async def session_ready(self, session: Session) -> None:
        self.held = session
        self.query_one(IngestView).set_status("all videos are in memory")

    def on_unmount(self) -> None:
        if self.held is not None:
            self.held.close()


def test_the_ingest_progress_screen(snap_compare: Any, tmp_path: Path, offline_memory: IngestedSample,
                                    door_video: SampleVideo) -> None:  # fmt: skip
    settings = offline_memory.settings.model_copy(update={"data_dir": tmp_path / "data"})
    app = IngestOnlyApp([door_video.path], settings, models=offline_memory.models, show_timings=False)

    async def ingest(pilot: Pilot[Any]) -> None:
        await wait_for(pilot, lambda: app.held is not None or app.ingest_error is not None, "the ingest")
        assert app.ingest_error is None
        app.query_one(QuestionInput).cursor_blink = False

    assert snap_compare(app, terminal_size=SIZE, run_before=ingest)


def test_the_chat_screen_after_an_answer(snap_compare: Any, offline_memory: IngestedSample) -> None:
    app = ChatApp([offline_memory.video.path], offline_memory.settings, models=offline_memory.models,
                  thread_id="snapshot", show_timings=False)  # fmt: skip

    async def answer(pilot: Pilot[Any]) -> None:
        await wait_for(pilot, lambda: app.session is not None, "the session")
        box = app.query_one(QuestionInput)
        box.cursor_blink = False
        box.value = "What does the narrator say about the budget?"
        await pilot.press("enter")
        chat = app.query_one(ChatLog)
        await wait_for(pilot, lambda: chat.turns and chat.turns[-1].done, "the answer")
        await wait_for(pilot, lambda: app.query_one(KeyframeView).frame is not None, "the keyframe")

    assert snap_compare(app, terminal_size=SIZE, run_before=answer)
