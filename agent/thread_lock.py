"""One question at a time per conversation thread, across threads of this process and across processes.

A question reads its thread's turns when it starts and appends its own when it ends; two questions of one
thread at once both start from the same turns, and the later write drops the earlier turn (8 concurrent
questions left 1 turn). So a question waits for the thread's earlier ones to finish: serialising keeps every
turn and needs no retry from callers (the chat, eval workers, several CLI calls with one `--thread`),
where refusing a busy thread would hand them a race to handle. Questions of different threads never wait.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from memory.layout import DataLayout
from memory.locks import held

_GUARD = threading.Lock()
_IN_PROCESS: dict[tuple[str, str], threading.RLock] = {}


def _process_lock(key: tuple[str, str]) -> threading.RLock:
    with _GUARD:
        return _IN_PROCESS.setdefault(key, threading.RLock())


@contextmanager
def thread_turn(
    thread_id: str, data_dir: Path | None, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold `thread_id` for one question: against this process's other threads, and (with `data_dir`, where
    the thread is kept on disk) against other processes through a file lock in the data dir. `on_wait` hears
    once, when another question holds the thread."""
    place = str(Path(data_dir).resolve()) if data_dir is not None else ""
    local = _process_lock((place, thread_id))
    if not local.acquire(blocking=False):
        if on_wait is not None:
            on_wait(f"thread {thread_id}: another question in it is being answered; waiting for it to finish")
        local.acquire()
    try:
        name = "thread-" + hashlib.sha256(thread_id.encode()).hexdigest()[:16]
        across = held(DataLayout(Path(data_dir)), name, on_wait, f"thread {thread_id}") if data_dir else nullcontext()
        with across:
            yield
    finally:
        local.release()
