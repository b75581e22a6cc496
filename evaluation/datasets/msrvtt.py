"""MSRVTT-QA: a JSON list of `{question, answer, video_id, id}`, open-ended one-word answers.

`video_id` 7010 means the file `video7010.mp4`, so the item's video is `video7010`. MSRVTT-QA has no
type field; the question word (what, who, how, when, where) is the type its papers report by.
"""

from __future__ import annotations

from pathlib import Path

from evaluation.datasets.files import ensure_unique, read_json_list, require, text_field
from evaluation.datasets.item import Dataset, QAItem

FORMAT = "msrvtt"
TITLE = "MSRVTT-QA JSON"
KEYS = ("question", "answer", "video_id", "id")
QUESTION_WORDS = ("what", "who", "how", "when", "where")


def looks_like_msrvtt(row: dict[str, object]) -> bool:
    """Whether a JSON object has MSRVTT-QA's keys (and no options)."""
    return all(key in row for key in KEYS) and "options" not in row


def video_name(video_id: object) -> str:
    """7010 or "7010" -> "video7010"; ids already named like files are kept."""
    text = str(video_id).strip()
    return f"video{text}" if text.isdigit() else text


def question_type(question: str) -> str:
    """The question word MSRVTT-QA results are split by, "other" when it starts with none."""
    words = question.strip().lower().split()
    first = words[0] if words else ""
    return first if first in QUESTION_WORDS else "other"


def load_msrvtt(path: Path | str) -> Dataset:
    """Questions from an MSRVTT-QA JSON file (train_qa.json, val_qa.json, test_qa.json)."""
    path = Path(path)
    items, qids = [], []
    for index, row in enumerate(read_json_list(path)):
        where = f"entry {index}"
        require(row, KEYS, path, where=where)
        question = text_field(row, "question", path, where=where)
        item = QAItem(
            qid=text_field(row, "id", path, where=where),
            video=video_name(text_field(row, "video_id", path, where=where)),
            question=question,
            options=None,
            answer=text_field(row, "answer", path, where=where),
            answer_index=None,
            type=question_type(question),
            extra={key: value for key, value in row.items() if key not in KEYS},
        )
        items.append(item)
        qids.append((item.qid, None))
    ensure_unique(qids, path)
    return Dataset(format=FORMAT, title=TITLE, source=path, items=items)
