"""Video-MME: parquet (as published on the hub) or JSON rows with `video_id, duration, domain,
sub_category, url, videoID, question_id, task_type, question, options, answer`.

`options` are lettered ("A. ..."); `answer` is the letter. The video is `videoID`, the YouTube id that
names the file; `task_type` is the type.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evaluation.datasets.files import dataset_error, ensure_unique, read_json_list, require, text_field
from evaluation.datasets.item import Dataset, QAItem
from evaluation.datasets.options import letter_index, strip_letter

FORMAT = "videomme"
TITLE = "Video-MME"
KEYS = ("videoID", "question_id", "task_type", "question", "options", "answer")
EXTRA_KEYS = ("video_id", "duration", "domain", "sub_category", "url")


def looks_like_videomme(row: dict[str, object]) -> bool:
    """Whether a JSON object is a Video-MME row."""
    return "videoID" in row and "options" in row and "question_id" in row


def load_videomme(path: Path | str) -> Dataset:
    """Questions from a Video-MME parquet or JSON file."""
    path = Path(path)
    rows = read_parquet(path) if path.suffix.lower() == ".parquet" else read_json_list(path)
    items = [_parse_row(row, path, index) for index, row in enumerate(rows)]
    ensure_unique([(item.qid, None) for item in items], path)
    return Dataset(format=FORMAT, title=f"{TITLE} {path.suffix.lstrip('.').lower()}", source=path, items=items)


def read_parquet(path: Path) -> list[dict[str, Any]]:
    """All rows of a parquet file as dicts (needs pyarrow)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise dataset_error(
            path, "reading parquet needs pyarrow (pip install pyarrow), or pass the JSON export"
        ) from None
    try:
        return pq.read_table(path).to_pylist()
    except (OSError, ValueError) as error:
        raise dataset_error(path, f"not a readable parquet file ({error})") from error


def _parse_row(row: dict[str, Any], path: Path, index: int) -> QAItem:
    """One Video-MME row -> QAItem with unlettered options and the answer's index."""
    where = f"row {index}"
    require(row, KEYS, path, where=where)
    raw_options = row["options"]
    if not isinstance(raw_options, (list, tuple)) or len(raw_options) < 2:
        raise dataset_error(path, f"{where}: 'options' must be a list of lettered options, got {raw_options!r}")
    options = [strip_letter(str(option)) for option in raw_options]
    letter = text_field(row, "answer", path, where=where)
    answer_index = letter_index(letter, len(options))
    if answer_index is None:
        raise dataset_error(path, f"{where}: answer {letter!r} is not the letter of one of {len(options)} options")
    return QAItem(
        qid=text_field(row, "question_id", path, where=where),
        video=text_field(row, "videoID", path, where=where),
        question=text_field(row, "question", path, where=where),
        options=options,
        answer=options[answer_index],
        answer_index=answer_index,
        type=str(row.get("task_type") or ""),
        extra={key: row[key] for key in EXTRA_KEYS if key in row},
    )
