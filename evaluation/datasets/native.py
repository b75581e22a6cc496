"""vidsage's own QA format: JSON Lines, one `{video, question, options?, answer, type?, qid?, accept?}` a line.

`answer` is an option index (int) or text for multiple choice, where a text answer must equal one option
(or be its letter); for an open question, text or a number (a count, or seconds for a "when" question). Other keys are kept in `QAItem.extra`. A JSON list of the same objects also loads.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from evaluation.datasets.files import dataset_error, ensure_unique, read_json_list, read_jsonl, text_field
from evaluation.datasets.item import Dataset, QAItem
from evaluation.datasets.options import letter_index, option_index

FORMAT = "native"
TITLE = "vidsage QA JSONL"
KNOWN_KEYS = ("qid", "video", "question", "options", "answer", "type", "accept")


def load_native(path: Path | str) -> Dataset:
    """Questions from a native JSONL file (or a JSON list of the same objects)."""
    path = Path(path)
    rows: Iterable[tuple[int | None, dict[str, Any]]]
    rows = ((None, row) for row in read_json_list(path)) if path.suffix.lower() == ".json" else read_jsonl(path)
    items, qids = [], []
    for position, (line, row) in enumerate(rows, start=1):
        item = parse_row(row, path, line=line, default_qid=str(line if line is not None else position))
        items.append(item)
        qids.append((item.qid, line))
    ensure_unique(qids, path)
    return Dataset(format=FORMAT, title=TITLE, source=path, items=items)


def parse_row(row: dict[str, Any], path: Path, *, line: int | None, default_qid: str) -> QAItem:
    """One native row -> QAItem, or an error naming the file, line and field."""
    where = "row" if line is not None else f"entry {default_qid}"
    video = text_field(row, "video", path, where=where, line=line)
    question = text_field(row, "question", path, where=where, line=line)
    qid = str(row["qid"]).strip() if row.get("qid") not in (None, "") else default_qid
    options = _options(row.get("options"), path, where=where, line=line)
    answer, answer_index = _answer(row.get("answer"), options, path, where=where, line=line)
    accept = row.get("accept") or []
    if not isinstance(accept, list) or not all(isinstance(a, str) for a in accept):
        raise dataset_error(path, f"{where}: 'accept' must be a list of texts", line=line)
    return QAItem(
        qid=qid,
        video=video,
        question=question,
        options=options,
        answer=answer,
        answer_index=answer_index,
        type=str(row.get("type") or ""),
        extra={key: value for key, value in row.items() if key not in KNOWN_KEYS},
        accept=list(accept),
    )


def _options(value: Any, path: Path, *, where: str, line: int | None) -> list[str] | None:
    """The option texts, or None for an open-ended question."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) < 2 or not all(isinstance(o, str) and o.strip() for o in value):
        raise dataset_error(path, f"{where}: 'options' must be a list of at least two non-empty texts", line=line)
    return [option.strip() for option in value]


def _answer(
    value: Any, options: list[str] | None, path: Path, *, where: str, line: int | None
) -> tuple[str, int | None]:
    """(answer text, option index or None) from an index or a text answer."""
    if isinstance(value, int) and not isinstance(value, bool):
        if options is None:  # open-ended: a number is the answer itself (a count, seconds)
            return str(value), None
        if not 0 <= value < len(options):
            raise dataset_error(path, f"{where}: answer index {value} is outside the {len(options)} options", line=line)
        return options[value], value
    if isinstance(value, float) and options is None and math.isfinite(value):
        return (str(int(value)) if value.is_integer() else repr(value)), None
    if not isinstance(value, str) or not value.strip():
        raise dataset_error(
            path, f"{where}: 'answer' must be an option index or non-empty text, got {value!r}", line=line
        )
    answer = value.strip()
    if options is None:
        return answer, None
    index = option_index(options, answer)
    if index is None:
        index = letter_index(answer, len(options))
    if index is None:
        raise dataset_error(path, f"{where}: answer {answer!r} is none of the options", line=line)
    return options[index], index


def write_native(items: Iterable[QAItem], path: Path | str) -> int:
    """Write items as native JSONL (atomically); return how many were written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(item.to_dict(), ensure_ascii=False) for item in items]
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    partial.replace(path)
    return len(lines)
