"""EgoSchema: `questions.json` (`[{q_uid, question, "option 0".."option 4"}]`) with `subset_answers.json`
(`{q_uid: index}`).

Answers are published only for a subset, so questions without one are skipped (and counted). The
video is named by the question's `q_uid`.
"""

from __future__ import annotations

from pathlib import Path

from evaluation.datasets.files import (
    dataset_error,
    ensure_unique,
    read_json,
    read_json_list,
    require,
    sibling,
    text_field,
)
from evaluation.datasets.item import Dataset, QAItem

FORMAT = "egoschema"
TITLE = "EgoSchema questions + subset answers"
QUESTIONS = "questions.json"
ANSWERS = "subset_answers.json"
OPTION_KEYS = tuple(f"option {index}" for index in range(5))
KEYS = ("q_uid", "question", *OPTION_KEYS)


def looks_like_egoschema(row: dict[str, object]) -> bool:
    """Whether a JSON object is an EgoSchema question."""
    return "q_uid" in row and "option 0" in row


def find_pair(path: Path) -> tuple[Path, Path]:
    """(questions file, answers file) from a folder holding both, or from either file."""
    if path.is_dir():
        questions, answers = path / QUESTIONS, path / ANSWERS
        if not questions.is_file() or not answers.is_file():
            raise dataset_error(path, f"an EgoSchema folder needs {QUESTIONS} and {ANSWERS}")
        return questions, answers
    if path.name == ANSWERS:
        questions = sibling(path, (QUESTIONS,))
        if questions is None:
            raise dataset_error(path, f"no {QUESTIONS} beside the answers")
        return questions, path
    answers = sibling(path, (ANSWERS,))
    if answers is None:
        raise dataset_error(path, f"no {ANSWERS} beside it (EgoSchema publishes answers only for that subset)")
    return path, answers


def load_egoschema(path: Path | str) -> Dataset:
    """The answered EgoSchema questions, from the folder or either file of the pair."""
    questions_path, answers_path = find_pair(Path(path))
    answers = _answers(answers_path)
    items, skipped = [], 0
    for index, row in enumerate(read_json_list(questions_path)):
        where = f"entry {index}"
        require(row, KEYS, questions_path, where=where)
        q_uid = text_field(row, "q_uid", questions_path, where=where)
        if q_uid not in answers:
            skipped += 1
            continue
        options = [text_field(row, key, questions_path, where=where) for key in OPTION_KEYS]
        answer_index = answers[q_uid]
        if not 0 <= answer_index < len(options):
            raise dataset_error(answers_path, f"answer {answer_index} for {q_uid!r} is outside options 0-4")
        items.append(
            QAItem(
                qid=q_uid,
                video=q_uid,
                question=text_field(row, "question", questions_path, where=where),
                options=options,
                answer=options[answer_index],
                answer_index=answer_index,
                extra={key: value for key, value in row.items() if key not in KEYS},
            )
        )
    ensure_unique([(item.qid, None) for item in items], questions_path)
    return Dataset.with_answer_file(FORMAT, TITLE, questions_path, answers_path, items, skipped)


def _answers(path: Path) -> dict[str, int]:
    """q_uid -> answer index from subset_answers.json."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise dataset_error(path, f"expected an object of q_uid -> answer index, found a {type(data).__name__}")
    answers = {}
    for q_uid, value in data.items():
        try:
            answers[str(q_uid)] = int(value)
        except (TypeError, ValueError):
            raise dataset_error(path, f"answer for {q_uid!r} must be an option index, got {value!r}") from None
    return answers
