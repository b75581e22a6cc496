"""NExT-QA multiple choice: a CSV with `video,frame_count,width,height,question,answer,qid,type,a0..a4`.

`answer` is the index of the right option; `qid` is unique only within a video, so the item id is
`<video>_<qid>`. `type` is NExT-QA's code (CW, CH, TN, TC, TP, DL, DC, DO).
"""

from __future__ import annotations

import csv
from pathlib import Path

from evaluation.datasets.files import dataset_error, ensure_unique
from evaluation.datasets.item import Dataset, QAItem

FORMAT = "nextqa"
TITLE = "NExT-QA multiple-choice CSV"
OPTION_COLUMNS = ("a0", "a1", "a2", "a3", "a4")
COLUMNS = ("video", "question", "answer", "qid", "type", *OPTION_COLUMNS)
"""The columns the loader needs (frame_count, width and height are kept in extra when present)."""
EXTRA_COLUMNS = ("frame_count", "width", "height")


def has_nextqa_header(header: list[str]) -> bool:
    """Whether a CSV header names every column this loader needs."""
    return all(column in header for column in COLUMNS)


def load_nextqa(path: Path | str) -> Dataset:
    """Questions from a NExT-QA multiple-choice CSV (train.csv, val.csv, test.csv)."""
    path = Path(path)
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as error:
        raise dataset_error(path, f"cannot read ({error.strerror or error})") from error
    items, qids = [], []
    with handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        if not has_nextqa_header(header):
            missing = [column for column in COLUMNS if column not in header]
            raise dataset_error(path, f"not a NExT-QA CSV: no column {', '.join(missing)}", line=1)
        for row in reader:
            line = reader.line_num
            item = _parse_row(row, path, line)
            items.append(item)
            qids.append((item.qid, line))
    ensure_unique(qids, path)
    return Dataset(format=FORMAT, title=TITLE, source=path, items=items)


def _parse_row(row: dict[str, str], path: Path, line: int) -> QAItem:
    """One CSV row -> QAItem with the five options and the answer index."""
    values = {key: (row.get(key) or "").strip() for key in COLUMNS}
    empty = [key for key in ("video", "question", "qid", *OPTION_COLUMNS) if not values[key]]
    if empty:
        raise dataset_error(path, f"empty {', '.join(empty)}", line=line)
    options = [values[column] for column in OPTION_COLUMNS]
    try:
        index = int(values["answer"])
    except ValueError:
        raise dataset_error(path, f"answer must be an option index 0-4, got {values['answer']!r}", line=line) from None
    if not 0 <= index < len(options):
        raise dataset_error(path, f"answer index {index} is outside options 0-4", line=line)
    return QAItem(
        qid=f"{values['video']}_{values['qid']}",
        video=values["video"],
        question=values["question"],
        options=options,
        answer=options[index],
        answer_index=index,
        type=values["type"],
        extra={key: row[key] for key in EXTRA_COLUMNS if row.get(key) not in (None, "")},
    )
