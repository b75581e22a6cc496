"""results.jsonl: one JSON row per finished question, appended and flushed as each one ends, so an
interrupted run keeps what it finished and a re-run can skip it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from core.errors import InvalidRequest

RESULTS_NAME = "results.jsonl"


def read_rows(path: Path) -> list[dict[str, Any]]:
    """All complete rows, in file order; a truncated last line (a run killed mid-write) is ignored."""
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").split("\n")
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                break
            raise InvalidRequest(f"{path}:{number}: not a JSON row (the results file is damaged)") from None
        if not isinstance(row, dict) or "qid" not in row:
            raise InvalidRequest(f"{path}:{number}: a result row needs a 'qid'")
        rows.append(row)
    return rows


def latest_rows(path: Path) -> dict[str, dict[str, Any]]:
    """qid -> its last row (a retried question's newest result wins), in first-seen order."""
    latest: dict[str, dict[str, Any]] = {}
    for row in read_rows(path):
        latest[str(row["qid"])] = row
    return latest


class ResultsWriter:
    """Appends rows to results.jsonl, one whole line each, flushed to disk before the next."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = None

    def __enter__(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _drop_partial_line(self.path)
        self._handle = self.path.open("a", encoding="utf-8")
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def append(self, row: dict[str, Any]) -> None:
        """Write one row as a single line and make it durable."""
        if self._handle is None:
            raise RuntimeError("ResultsWriter.append outside its with-block")
        self._handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())


def _drop_partial_line(path: Path) -> None:
    """Cut a last line without its newline (left by a killed run) so appends start on a fresh line."""
    if not path.is_file():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)
