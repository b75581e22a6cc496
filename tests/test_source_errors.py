"""A failed source is an error, never an absence (issue 14, item 2, the ask side).

Real failures on a copy of the ingested sample: a stage file overwritten with garbage, `chroma.sqlite3`
overwritten, a real `chroma run` server stopped. The answer may say "not in the video" only when every
source it needed answered: when none answered it says what failed; when some did it is composed from them
and lists the errors; `Answer.errors` names each failure with its exit code (4 memory, 5 server), and the
CLI prints the errors and exits with that code.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from conftest import IngestedSample, cli_env, run_cli

from agent import Session
from core.errors import BackendUnreachable, MemoryCorrupt
from core.settings import Settings
from core.types import Answer
from memory.store import VectorStore
from models.vlm.server import ManagedServer, free_port

SPEECH = "What does the narrator say about the budget?"
PEOPLE_AND_SPEECH = "Who appears on screen and what do they say about the budget?"
ABSENT = "does not appear to contain"


def garble(path: Path) -> None:
    """Overwrite a file in place (same inode, as a disk error would) with bytes no reader accepts."""
    size = max(path.stat().st_size, 4096)
    with path.open("r+b") as handle:
        handle.write((b"\x00garbage\xff" * (size // 10 + 1))[:size])


def open_session(video: Path, settings: Settings, sample: IngestedSample) -> Session:
    """A session whose thread is kept on disk, so an answer's errors go through the checkpointer too."""
    return Session(video, settings=settings, models=sample.models)


def assert_failed(answer: Answer, source: str, code: int, names: str) -> None:
    """Nothing answered: the text says what failed, never that the video lacks it."""
    assert ABSENT not in answer.text and "does not show" not in answer.text, answer.text
    assert answer.failed and answer.exit_code == code and not answer.evidence and answer.choice is None
    assert [e.source for e in answer.errors] == [source], answer.errors
    assert names in answer.errors[0].message and answer.errors[0].exit_code == code
    assert answer.text.startswith("Cannot answer:") and names in answer.text, answer.text
    record = next(c for c in answer.tool_calls if c["name"] == source)
    assert record["status"] == "failed" and names in record["output"]
    as_json = answer.to_dict()["errors"]
    assert as_json == [{"source": source, "message": answer.errors[0].message, "exit_code": code}]


def assert_partial(answer: Answer, source: str, code: int, names: str) -> None:
    """Some sources answered: the answer is theirs, and the failed one is listed as an error."""
    assert ABSENT not in answer.text, answer.text
    assert not answer.failed and answer.exit_code == code
    assert answer.evidence and all(e.kind == "actor" for e in answer.evidence), answer.evidence
    assert "actor 1" in answer.text, answer.text
    assert [e.source for e in answer.errors] == [source] and names in answer.errors[0].message


def test_a_damaged_stage_file_is_an_error_not_an_absence(memory_copy: Settings, offline_memory: IngestedSample) -> None:
    with open_session(offline_memory.video.path, memory_copy, offline_memory) as session:
        (transcript,) = Path(memory_copy.data_dir).glob("videos/*/transcript-*.json")
        garble(transcript)
        assert_failed(session.ask(SPEECH), "search_transcript", 4, transcript.name)
        assert_partial(session.ask(PEOPLE_AND_SPEECH), "search_transcript", 4, transcript.name)
        assert [t.answer.startswith("Cannot answer:") for t in session.turns()] == [True, False]


def test_a_damaged_vector_store_is_an_error_not_an_absence(
    memory_copy: Settings, offline_memory: IngestedSample
) -> None:
    chroma = Path(memory_copy.data_dir) / "chroma"
    with open_session(offline_memory.video.path, memory_copy, offline_memory) as session:
        name = session.memories[0].summary("transcript_index")["collection"]
        store = VectorStore(memory_copy)  # opened while the store is sound, read after the damage
        assert store.count(name) > 0
        garble(chroma / "chroma.sqlite3")
        assert_failed(session.ask(SPEECH), "search_transcript", 4, str(chroma))
    for read in (lambda: store.count(name), lambda: store.rows(name, {"video_id": "x"}),
                 lambda: store.query(name, np.zeros(384), 3, {"video_id": "x"})):  # fmt: skip
        with pytest.raises(MemoryCorrupt, match="vector store cannot be read"):
            read()


@contextmanager
def chroma_server(path: Path, log: Path) -> Iterator[ManagedServer]:
    """A real Chroma server (`chroma run`, shipped with chromadb) serving `path` on 127.0.0.1."""
    port = free_port()
    argv = [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(path), "--host", "127.0.0.1",
            "--port", str(port)]  # fmt: skip
    with ManagedServer(argv, f"http://127.0.0.1:{port}", "/api/v2/heartbeat", startup_timeout_s=60,
                       log_path=log) as server:  # fmt: skip
        yield server


def test_a_chroma_server_that_stops_is_an_error_not_an_absence(
    memory_copy: Settings, offline_memory: IngestedSample, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli.qa import print_answer

    with chroma_server(Path(memory_copy.data_dir) / "chroma", tmp_path / "chroma.log") as server:
        settings = memory_copy.model_copy(update={"chroma_url": server.base_url})
        session = open_session(offline_memory.video.path, settings, offline_memory)
        store = VectorStore(settings)
        assert "[00:07]" in session.ask(SPEECH).text  # the server holds the rows
        server.stop()
    with session:
        failed = session.ask(SPEECH)
        assert_failed(failed, "search_transcript", 5, server.base_url)
        partial = session.ask(PEOPLE_AND_SPEECH)
        assert_partial(partial, "search_transcript", 5, server.base_url)
    for read in (lambda: store.count("transcript-x"), lambda: store.rows("transcript-x", {"video_id": "x"})):
        with pytest.raises(BackendUnreachable, match=f"Chroma server {server.base_url} does not answer"):
            read()

    print_answer(partial)  # what `ask` prints: the answer on stdout, then each error on stderr
    out, err = capsys.readouterr()
    assert "actor 1" in out and server.base_url not in out
    assert err.startswith("vidsage: error: this answer is incomplete: search_transcript failed: Chroma server")
    print_answer(failed)  # nothing answered: one line naming what failed, nothing on stdout
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("vidsage: error: cannot answer: search_transcript")
    print_answer(partial, json_out=True)
    assert json.loads(capsys.readouterr().out)["errors"][0]["exit_code"] == 5

    env = cli_env(settings) | {"VIDSAGE_CHROMA_URL": server.base_url}
    run = run_cli("ask", str(offline_memory.video.path), SPEECH, "--quiet", env=env)
    assert run.returncode == 5, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vidsage: error: ") and server.base_url in lines[0], lines
    assert ABSENT not in run.stdout + run.stderr


async def test_the_chat_shows_a_failed_source_as_an_error(memory_copy: Settings, offline_memory: IngestedSample) -> None:
    from chat_pilot import wait_for
    from textual.widgets import Static

    from ui.chat import ChatApp
    from ui.chat.conversation import ChatLog
    from ui.chat.question_input import QuestionInput

    app = ChatApp([offline_memory.video.path], memory_copy, models=offline_memory.models)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.session is not None or app.ingest_error is not None, "the session", 90)
        chroma = Path(memory_copy.data_dir) / "chroma"  # the chat has read the stage files (its timeline)
        garble(chroma / "chroma.sqlite3")
        box = app.query_one(QuestionInput)
        box.focus()
        box.value = PEOPLE_AND_SPEECH
        await pilot.press("enter")
        chat = app.query_one(ChatLog)
        await wait_for(pilot, lambda: bool(chat.turns) and chat.turns[-1].done, "the answer")
        turn = chat.turns[-1]
        notes = turn.query_one(".notes", Static).content
        assert "actor 1" in turn.answer_text and ABSENT not in turn.answer_text, turn.answer_text
        error = f"error: search_transcript failed: {chroma}: vector store cannot be"
        assert error in notes.plain and not turn.has_class("failed"), notes.plain
        assert any(span.style == "bold red" and error in notes.plain[span.start : span.end] for span in notes.spans)
        assert app.is_running
