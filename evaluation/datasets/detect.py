"""Loading any supported QA dataset by path: the format is told by the file name and its fields."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from core.errors import InvalidRequest
from evaluation.datasets import activitynet, egoschema, msrvtt, native, nextqa, videomme
from evaluation.datasets.files import dataset_error, read_json
from evaluation.datasets.item import Dataset

LOADERS: dict[str, Callable[[Path], Dataset]] = {
    native.FORMAT: native.load_native,
    nextqa.FORMAT: nextqa.load_nextqa,
    msrvtt.FORMAT: msrvtt.load_msrvtt,
    egoschema.FORMAT: egoschema.load_egoschema,
    videomme.FORMAT: videomme.load_videomme,
    activitynet.FORMAT: activitynet.load_activitynet,
}
"""Format name -> loader; `--format` takes these names (or an alias below)."""
ALIASES = {
    "auto": "auto",
    "jsonl": "native",
    "vidsage": "native",
    "next-qa": "nextqa",
    "msrvtt-qa": "msrvtt",
    "msrvttqa": "msrvtt",
    "video-mme": "videomme",
    "activitynet-qa": "activitynet",
    "activitynetqa": "activitynet",
}


def format_name(fmt: str) -> str:
    """The registry name for a user-given format ("Video-MME" -> "videomme"), or an error listing them."""
    key = fmt.strip().lower().replace("_", "-")
    name = ALIASES.get(key, key)
    if name != "auto" and name not in LOADERS:
        raise InvalidRequest(f"unknown dataset format {fmt!r}; use auto or one of {', '.join(LOADERS)}")
    return name


def load_dataset(path: Path | str, fmt: str = "auto") -> Dataset:
    """Load a QA dataset; with fmt "auto" the format is detected (`Dataset.describe()` names it)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise InvalidRequest(f"{path}: no such dataset file or folder")
    name = format_name(fmt)
    if name == "auto":
        name = detect_format(path)
    return LOADERS[name](path)


def detect_format(path: Path) -> str:
    """The format of a dataset file or folder, from its name and the fields of its rows."""
    if path.is_dir():
        return _detect_folder(path)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return native.FORMAT
    if suffix == ".parquet":
        return videomme.FORMAT
    if suffix == ".csv":
        if nextqa.has_nextqa_header(_csv_header(path)):
            return nextqa.FORMAT
        raise dataset_error(path, f"a CSV without NExT-QA's columns ({', '.join(nextqa.COLUMNS)})")
    if suffix == ".json":
        return _detect_json(path)
    raise dataset_error(path, f"cannot tell the dataset format from {suffix or 'no extension'}; pass --format")


def _detect_folder(path: Path) -> str:
    """A folder holds one of the two-file datasets (EgoSchema, ActivityNet-QA)."""
    if (path / egoschema.QUESTIONS).is_file() and (path / egoschema.ANSWERS).is_file():
        return egoschema.FORMAT
    if any(q.with_name(q.name[: -len("_q.json")] + "_a.json").is_file() for q in path.glob("*_q.json")):
        return activitynet.FORMAT
    raise dataset_error(
        path,
        f"a dataset folder must hold EgoSchema's {egoschema.QUESTIONS} + {egoschema.ANSWERS} "
        "or ActivityNet-QA's <split>_q.json + <split>_a.json; pass a file otherwise",
    )


def _detect_json(path: Path) -> str:
    """A JSON file's format from the keys of its first question."""
    data = read_json(path)
    if isinstance(data, dict):
        if path.name == egoschema.ANSWERS:
            return egoschema.FORMAT
        raise dataset_error(path, "a JSON object, not a list of questions; pass the questions file")
    if not isinstance(data, list) or not data:
        raise dataset_error(path, "holds no questions")
    first = data[0]
    if not isinstance(first, dict):
        raise dataset_error(path, f"entry 0 is a {type(first).__name__}, not an object")
    for fmt, looks_like in (
        (egoschema.FORMAT, egoschema.looks_like_egoschema),
        (videomme.FORMAT, videomme.looks_like_videomme),
        (activitynet.FORMAT, activitynet.looks_like_activitynet),
        (msrvtt.FORMAT, msrvtt.looks_like_msrvtt),
    ):
        if looks_like(first):
            return fmt
    if "video" in first and "question" in first:
        return native.FORMAT
    keys = ", ".join(sorted(first)[:8])
    raise dataset_error(path, f"cannot tell the dataset format from the keys {keys}; pass --format")


def _csv_header(path: Path) -> list[str]:
    """The first row of a CSV file."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return next(csv.reader(handle), [])
    except OSError as error:
        raise dataset_error(path, f"cannot read ({error.strerror or error})") from error
