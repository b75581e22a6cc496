"""Reading dataset files with errors that name the file, the row and the problem."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from core.errors import InvalidRequest


def dataset_error(path: Path, problem: str, *, line: int | None = None) -> InvalidRequest:
    """The error for a bad dataset file: `path[:line]: problem`."""
    where = f"{path}:{line}" if line is not None else str(path)
    return InvalidRequest(f"{where}: {problem}")


def read_json(path: Path) -> Any:
    """A whole JSON file, or an error naming it and where parsing stopped."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise dataset_error(path, f"cannot read ({error.strerror or error})") from error
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise dataset_error(path, f"not valid JSON ({error.msg} at column {error.colno})", line=error.lineno) from error


def read_json_list(path: Path) -> list[dict[str, Any]]:
    """A JSON file holding a list of objects (the shape of most published QA sets)."""
    data = read_json(path)
    if not isinstance(data, list):
        raise dataset_error(path, f"expected a JSON list of questions, found a {type(data).__name__}")
    for index, row in enumerate(data):
        if not isinstance(row, dict):
            raise dataset_error(path, f"entry {index} is a {type(row).__name__}, not an object")
    return data


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of a JSON Lines file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise dataset_error(path, f"cannot read ({error.strerror or error})") from error
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise dataset_error(path, f"not valid JSON ({error.msg} at column {error.colno})", line=number) from error
        if not isinstance(row, dict):
            raise dataset_error(path, f"expected a JSON object, found a {type(row).__name__}", line=number)
        yield number, row


def require(row: Mapping[str, Any], keys: tuple[str, ...], path: Path, *, where: str, line: int | None = None) -> None:
    """Fail naming the missing keys of `row` (`where` says which row, e.g. "entry 3")."""
    missing = [key for key in keys if key not in row]
    if missing:
        raise dataset_error(path, f"{where} lacks {', '.join(repr(key) for key in missing)}", line=line)


def text_field(row: Mapping[str, Any], key: str, path: Path, *, where: str, line: int | None = None) -> str:
    """A required non-empty text field (numbers are accepted and written as text)."""
    value = row.get(key)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) or not str(value).strip():
        raise dataset_error(path, f"{where}: {key!r} must be non-empty text, got {value!r}", line=line)
    return str(value).strip()


def sibling(path: Path, names: tuple[str, ...]) -> Path | None:
    """The first of `names` that exists as a file in `path`'s folder."""
    for name in names:
        candidate = path.parent / name
        if candidate.is_file():
            return candidate
    return None


def ensure_unique(qids: list[tuple[str, int | None]], path: Path) -> None:
    """Fail on the first repeated question id (results are resumed and compared by qid)."""
    seen: set[str] = set()
    for qid, line in qids:
        if qid in seen:
            raise dataset_error(path, f"question id {qid!r} appears twice (ids must be unique)", line=line)
        seen.add(qid)
