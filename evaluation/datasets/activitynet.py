"""ActivityNet-QA: `<split>_q.json` (`[{video_name, question_id, question}]`) with `<split>_a.json`
(`[{question_id, answer, type}]`), open-ended.

`type` is a code 0-8 in the published set, mapped to its name; other codes are kept as text. The
published videos are files `v_<video_name>.mp4`, so the video gets a `v_` prefix when it lacks one.
"""

from __future__ import annotations

from pathlib import Path

from evaluation.datasets.files import dataset_error, ensure_unique, read_json_list, require, text_field
from evaluation.datasets.item import Dataset, QAItem

FORMAT = "activitynet"
TITLE = "ActivityNet-QA questions + answers"
QUESTION_KEYS = ("video_name", "question_id", "question")
ANSWER_KEYS = ("question_id", "answer")
TYPE_NAMES = {
    0: "motion",
    1: "spatial relation",
    2: "temporal relation",
    3: "yes/no",
    4: "color",
    5: "object",
    6: "location",
    7: "number",
    8: "other",
}


def looks_like_activitynet(row: dict[str, object]) -> bool:
    """Whether a JSON object is an ActivityNet-QA question or answer."""
    return "question_id" in row and ("video_name" in row or ("answer" in row and "question" not in row))


def type_name(code: object) -> str:
    """3 -> "yes/no"; codes outside 0-8 (or not numbers) are kept as text."""
    text = str(code).strip() if code is not None else ""
    return TYPE_NAMES.get(int(text), text) if text.isdigit() else text


def video_name(name: str) -> str:
    """Add the `v_` of the published file names ("abc" -> "v_abc"); names that have it are kept."""
    return name if name.startswith("v_") else f"v_{name}"


def find_pair(path: Path) -> tuple[Path, Path]:
    """(questions file, answers file) from a folder holding one split's pair, or from either file."""
    if path.is_dir():
        pairs = [(q, q.with_name(q.name[: -len("_q.json")] + "_a.json")) for q in sorted(path.glob("*_q.json"))]
        pairs = [(q, a) for q, a in pairs if a.is_file()]
        if not pairs:
            raise dataset_error(path, "an ActivityNet-QA folder needs a <split>_q.json with its <split>_a.json")
        tests = [pair for pair in pairs if pair[0].name == "test_q.json"]
        if len(pairs) > 1 and not tests:
            names = ", ".join(q.name for q, _ in pairs)
            raise dataset_error(path, f"several splits ({names}): pass the questions file of one")
        return tests[0] if tests else pairs[0]
    name = path.name
    if name.endswith("_a.json"):
        questions, answers = path.with_name(name[: -len("_a.json")] + "_q.json"), path
    elif name.endswith("_q.json"):
        questions, answers = path, path.with_name(name[: -len("_q.json")] + "_a.json")
    else:
        raise dataset_error(path, "ActivityNet-QA files are named <split>_q.json and <split>_a.json")
    for needed in (questions, answers):
        if not needed.is_file():
            raise dataset_error(path, f"no {needed.name} beside it (ActivityNet-QA needs both files)")
    return questions, answers


def load_activitynet(path: Path | str) -> Dataset:
    """The answered ActivityNet-QA questions, from the folder or either file of the pair."""
    questions_path, answers_path = find_pair(Path(path))
    answers: dict[str, dict[str, object]] = {}
    for index, row in enumerate(read_json_list(answers_path)):
        require(row, ANSWER_KEYS, answers_path, where=f"entry {index}")
        answers[str(row["question_id"])] = row
    items, skipped = [], 0
    for index, row in enumerate(read_json_list(questions_path)):
        where = f"entry {index}"
        require(row, QUESTION_KEYS, questions_path, where=where)
        qid = text_field(row, "question_id", questions_path, where=where)
        gold = answers.get(qid)
        if gold is None:
            skipped += 1
            continue
        items.append(
            QAItem(
                qid=qid,
                video=video_name(text_field(row, "video_name", questions_path, where=where)),
                question=text_field(row, "question", questions_path, where=where),
                options=None,
                answer=text_field(gold, "answer", answers_path, where=f"answer for {qid!r}"),
                answer_index=None,
                type=type_name(gold.get("type")),
            )
        )
    ensure_unique([(item.qid, None) for item in items], questions_path)
    return Dataset.with_answer_file(FORMAT, TITLE, questions_path, answers_path, items, skipped)
