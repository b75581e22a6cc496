"""Questions asked into one thread at once take turns, so every turn is kept (issue 14, item 7).

Eight real threads ask eight questions into one `thread_id` of one Session (the SQLite checkpointer in the
data dir): all eight turns are kept, each with the answer its asker got. Across processes a file lock in the
data dir serialises them: a CLI `ask --thread` waits, saying so, while this process holds the thread.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from conftest import REPO, IngestedSample, cli_env

from agent import Session
from agent.thread_lock import thread_turn
from core.settings import Settings
from core.types import Answer

QUESTIONS = {
    "What does the narrator say about the budget?": "[00:07]",
    "What is said about the astronaut?": "[00:14]",
    "Where is coffee served?": "[00:21]",
    "What is said about the harbor tour?": "[00:01]",
    "How much does the new bridge cost?": "[00:07]",
    "When will the astronaut visit the science museum?": "[00:14]",
    "What happens after the tour?": "[00:21]",
    "What does the narrator welcome us to?": "[00:01]",
}


def test_eight_questions_into_one_thread_at_once_keep_eight_turns(
    memory_copy: Settings, offline_memory: IngestedSample
) -> None:
    with Session(offline_memory.video.path, settings=memory_copy, models=offline_memory.models) as session:
        thread = session.new_thread()
        start = threading.Barrier(len(QUESTIONS))

        def ask(question: str) -> Answer:
            start.wait()  # all eight start together
            return session.ask(question, thread_id=thread)

        with ThreadPoolExecutor(max_workers=len(QUESTIONS)) as pool:
            answers = dict(zip(QUESTIONS, pool.map(ask, QUESTIONS)))
        turns = session.turns(thread)
    assert sorted(t.question for t in turns) == sorted(QUESTIONS), [t.question for t in turns]
    for turn in turns:
        answer = answers[turn.question]
        assert turn.answer == answer.text and answer.thread_id == thread
        assert QUESTIONS[turn.question] in answer.text and not answer.errors, (turn.question, answer.text)


def test_a_question_from_another_process_waits_for_the_thread(
    memory_copy: Settings, offline_memory: IngestedSample, tmp_path: Path
) -> None:
    thread = "shared-thread"
    question = "Where is coffee served?"
    argv = [sys.executable, str(REPO / "main.py"), "ask", str(offline_memory.video.path), question, "--thread", thread]
    other = None
    stdout = tmp_path / "stdout.txt"
    try:
        with thread_turn(thread, memory_copy.data_dir):  # this process answers in the thread meanwhile
            other = subprocess.Popen(argv, cwd=REPO, env=cli_env(memory_copy), stdin=subprocess.DEVNULL,
                                     stdout=stdout.open("w"), stderr=subprocess.PIPE, text=True)  # fmt: skip
            lines: list[str] = []
            reader = threading.Thread(target=lambda: lines.extend(iter(other.stderr.readline, "")), daemon=True)
            reader.start()
            deadline = time.monotonic() + 120
            while "waiting" not in "".join(lines) and time.monotonic() < deadline and other.poll() is None:
                time.sleep(0.1)
            heard = "".join(lines)
            assert f"thread {thread}" in heard and "waiting" in heard, heard
            time.sleep(1.0)
            assert other.poll() is None, "the other process answered while this one held the thread"
        other.wait(timeout=180)
        reader.join(timeout=10)
    finally:
        if other is not None and other.poll() is None:
            other.kill()
            other.wait()
    assert other.returncode == 0, "".join(lines)
    assert "[00:21]" in stdout.read_text()
    with Session(offline_memory.video.path, settings=memory_copy, models=offline_memory.models) as session:
        assert [t.question for t in session.turns(thread)] == [question]
