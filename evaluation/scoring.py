"""Scoring one prediction against a gold answer: multiple choice by index, times within a tolerance,
"not in the video" answers by their wording, yes/no by the first yes or no, and open answers by
normalised exact match, containment and token F1 (SQuAD-style), or by an LLM judge when given one."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from evaluation.datasets.item import QAItem
from evaluation.prediction import Prediction

DEFAULT_TOLERANCE_S = 2.0
"""A time answer is right when it is within this many seconds of the gold time."""

Judge = Callable[[str, str, str], bool | None]
"""judge(question, gold, prediction) -> verdict, or None when it cannot tell (rules decide then)."""

NUMBER_WORDS = {
    word: str(value)
    for value, word in enumerate(
        ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
        + ("thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty")
    )
}
ARTICLES = frozenset({"a", "an", "the"})
ABSENT_GOLDS = frozenset({"not mentioned", "does not appear", "not in video", "not shown", "none"})
"""Normalised gold answers that mean "this is not in the video"."""
_NEGATIONS = frozenset(
    ("no", "not", "never", "nobody", "none", "nothing", "noone", "isnt", "arent", "wasnt", "werent")
    + ("doesnt", "dont", "didnt", "cannot", "cant", "couldnt")
)
_ABSENT_VERBS = (
    r"mention\w*|said|say\w*|spoken|speak\w*|talk\w*|discuss\w*|refer\w*|appear\w*|shown|show\w*|"
    r"visible|seen|see|present|featur\w*|found|find|contain\w*|in (?:this )?video|there"
)
_ABSENT = re.compile(
    rf"\b(?:{'|'.join(sorted(_NEGATIONS))})\b(?:\s+\w+){{0,4}}?\s+(?:{_ABSENT_VERBS})\b"
    r"|\bno (?:mention|evidence|sign|record|information|reference)\b"
)
"""Over normalised text: a negation shortly before a verb of saying or showing ("never mentions",
"do not appear", "is not in video"), or "no mention/evidence of"."""
_TIME = re.compile(
    r"(?<![\d.:])(?P<h>\d+):(?P<hm>[0-5]\d):(?P<hs>[0-5]\d(?:\.\d+)?)(?![\d:])"
    r"|(?<![\d.:])(?P<m>\d+):(?P<ms>[0-5]\d(?:\.\d+)?)(?![\d:])"
    r"|(?<![\w.])(?:(?P<um>\d+)\s*(?:minutes?|mins?|m)\s*(?:and\s+)?)?(?P<us>\d+(?:\.\d+)?)\s*(?:seconds?|secs?|s)\b"
    r"|(?<![\w.])(?P<om>\d+(?:\.\d+)?)\s*(?:minutes?|mins?)\b",
    re.IGNORECASE,
)
_NUMBER_WORD = re.compile(rf"\b(?:{'|'.join(NUMBER_WORDS)})\b", re.IGNORECASE)
_LEADING_LETTER = re.compile(r"^\s*[\(\[]?([A-J])(?:[\)\]]|[.:]|\s*$)")
_NAMED_LETTER = re.compile(r"\b(?i:option|answer|choice)(?:\s+is)?\s*[:\-]?\s*[\(\[]?([A-J])\b")


@dataclass(frozen=True)
class Score:
    """How one prediction scored: right or not, by which rule, and the overlap measures."""

    correct: bool
    method: str
    """The rule that decided `correct`: choice, time, absent, judge, yesno or match."""
    exact: bool
    """Normalised exact match with the gold answer (for multiple choice: the right option chosen)."""
    f1: float
    """Token F1 with the gold answer (for multiple choice: of the chosen option's text)."""
    choice: int | None = None
    """The option index scored (given by the system or read from its text)."""
    time_error_s: float | None = None
    """For time answers, seconds between the predicted and the gold time (None if none was given)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- text -------------------------------------------------------------------------------------


def tokens(text: str) -> list[str]:
    """Normalised tokens: lowercase, no punctuation or articles, number words zero-twenty as digits."""
    text = text.lower().replace("'", "").replace("\u2019", "")
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    words = re.findall(r"\d+(?:\.\d+)?|[^\W\d_]+", text)
    return [NUMBER_WORDS.get(word, word) for word in words if word not in ARTICLES]


def normalize(text: str) -> str:
    """SQuAD-style normal form, with number words as digits: "The Four  Dogs!" -> "4 dogs"."""
    return " ".join(tokens(text))


def exact_match(prediction: str, gold: str) -> bool:
    """Whether the two texts are equal after normalisation."""
    return normalize(prediction) == normalize(gold)


def token_f1(prediction: str, gold: str) -> float:
    """Harmonic mean of token precision and recall after normalisation (1.0 when both are empty)."""
    predicted, wanted = tokens(prediction), tokens(gold)
    if not predicted or not wanted:
        return float(predicted == wanted)
    common = sum((Counter(predicted) & Counter(wanted)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(wanted)
    return 2 * precision * recall / (precision + recall)


def contains(prediction: str, gold: str) -> bool:
    """Whether the gold answer's normalised tokens occur, in order and adjacent, in the prediction."""
    haystack, needle = tokens(prediction), tokens(gold)
    if not needle:
        return False
    width = len(needle)
    return any(haystack[start : start + width] == needle for start in range(len(haystack) - width + 1))


def says_absent(prediction: str) -> bool:
    """Whether the text says something is not in the video ("never mentioned", "does not appear")."""
    return _ABSENT.search(normalize(prediction)) is not None


def yes_no(prediction: str) -> str | None:
    """ "yes" or "no": the first explicit one, else "no" for a negated statement, "yes" for any other."""
    words = tokens(prediction)
    for word in words:
        if word in ("yes", "no"):
            return word
    if not words:
        return None
    return "no" if any(word in _NEGATIONS for word in words) else "yes"


# --- times ------------------------------------------------------------------------------------


def _seconds(match: re.Match[str]) -> float:
    """Seconds of one `_TIME` match, whichever alternative it is."""
    g = match.groupdict()
    if g["h"] is not None:
        return int(g["h"]) * 3600 + int(g["hm"]) * 60 + float(g["hs"])
    if g["m"] is not None:
        return int(g["m"]) * 60 + float(g["ms"])
    if g["us"] is not None:
        return int(g["um"] or 0) * 60 + float(g["us"])
    return float(g["om"]) * 60


def _spell_numbers(text: str) -> str:
    """Number words as digits, punctuation kept ("seven seconds" -> "7 seconds")."""
    return _NUMBER_WORD.sub(lambda m: NUMBER_WORDS[m.group(0).lower()], text)


def parse_time(text: str) -> float | None:
    """Seconds of the first time stated in `text` ("at 01:05", "[1:02:03]", "12.5 s", "seven seconds")."""
    match = _TIME.search(_spell_numbers(text))
    return _seconds(match) if match else None


def gold_time(text: str) -> float | None:
    """Seconds when the whole gold answer is a time ("00:07", "12 seconds"), else None."""
    match = _TIME.fullmatch(_spell_numbers(text.strip().strip("[]().").strip()))
    return _seconds(match) if match else None


# --- multiple choice --------------------------------------------------------------------------


def choice_from_text(text: str, options: list[str]) -> int | None:
    """The option an answer names: a letter ("B", "(B)", "option B") or exactly one option's text."""
    for pattern in (_LEADING_LETTER, _NAMED_LETTER):
        match = pattern.search(text)
        if match is None or ord(match.group(1)) - ord("A") >= len(options):
            continue
        # "Answer: A man rides" uses A (or I) as a word, not as the option's letter.
        if match.group(1) in "AI" and re.match(r"\s+[a-z]", text[match.end() :]):
            continue
        return ord(match.group(1)) - ord("A")
    named = [index for index, option in enumerate(options) if contains(text, option)]
    # An option inside a longer named one ("car" in "red car") does not count on its own.
    named = [i for i in named if not any(j != i and contains(options[j], options[i]) for j in named)]
    return named[0] if len(named) == 1 else None


# --- scoring ----------------------------------------------------------------------------------


def score(
    item: QAItem,
    prediction: Prediction | str,
    *,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    judge: Judge | None = None,
) -> Score:
    """Score a prediction for `item` with the rule its gold answer calls for (see `Score.method`)."""
    if isinstance(prediction, str):
        prediction = Prediction(text=prediction)
    text, gold = prediction.text, item.answer
    if item.options is not None:
        return _score_choice(item.options, item.answer_index, prediction)
    golds = [gold, *item.accept]
    exact = any(exact_match(text, g) for g in golds)
    f1 = max(token_f1(text, g) for g in golds)
    matched = exact or any(contains(text, g) for g in golds)
    wanted_s = gold_time(gold)
    if wanted_s is not None:
        said_s = parse_time(text)
        error = abs(said_s - wanted_s) if said_s is not None else None
        return Score(error is not None and error <= tolerance_s, "time", exact, f1, time_error_s=error)
    gold_number = _number(gold)
    if gold_number is not None and _asks_when(item):  # a bare number answering "when": seconds
        said_s = parse_time(text)
        said_s = said_s if said_s is not None else claimed_number(text)
        error = abs(said_s - gold_number) if said_s is not None else None
        return Score(error is not None and error <= tolerance_s, "time", exact, f1, time_error_s=error)
    if gold_number is not None:
        return Score(claimed_number(text) == gold_number, "number", exact, f1)
    if item.type == "absent" or normalize(gold) in ABSENT_GOLDS:
        return Score(says_absent(text) or matched, "absent", exact, f1)
    if judge is not None:
        verdict = judge(item.question, gold, text)
        if verdict is not None:
            return Score(bool(verdict), "judge", exact, f1)
    if normalize(gold) in ("yes", "no"):
        return Score(yes_no(text) == normalize(gold), "yesno", exact, f1)
    return Score(matched, "match", exact, f1)


_TIMESTAMP = re.compile(r"\[?\b\d+(?::[0-5]\d){1,2}(?:\.\d+)?\]?")
_ID = re.compile(r"\b(?:actor|person|people|track|segment|scene|cluster|video|speaker|id|no|number)\s*#?\s*\d+\b|#\d+", re.I)
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.]|\.\d)")


def _number(text: str) -> float | None:
    """The value of a gold answer that is just a number ("2", "24.0", "two"), else None."""
    words = tokens(text)
    if len(words) != 1:
        return None
    try:
        return float(words[0])
    except ValueError:
        return None


def claimed_number(text: str) -> float | None:
    """The answer's claim when the gold is a number: its first number that is not part of a timestamp
    ([00:14], 1:05) or an id ("actor 2", "person #3"), number words read as digits; None when it has none."""
    cleaned = _ID.sub(" ", _TIMESTAMP.sub(" ", _spell_numbers(text)))
    cleaned = re.sub(r"(?<=\d),(?=\d{3}\b)", "", cleaned)
    match = _NUMBER.search(cleaned)
    return float(match.group()) if match else None


def _asks_when(item: QAItem) -> bool:
    """Whether the question asks for a time (its type or its wording), so a numeric gold is in seconds."""
    kind = item.type.lower()
    return any(word in kind for word in ("time", "when", "temporal", "appear")) or bool(
        re.match(r"\s*(?:when|at what (?:time|point|second|moment)|how (?:many seconds|long) (?:into|after))\b",
                 item.question, re.I)
    )  # fmt: skip


def _score_choice(options: list[str], answer_index: int | None, prediction: Prediction) -> Score:
    """Right when the chosen option (given, else read from the text) is the gold one."""
    choice = prediction.choice if prediction.choice is not None else choice_from_text(prediction.text, options)
    correct = choice is not None and choice == answer_index
    chosen = options[choice] if choice is not None and 0 <= choice < len(options) else prediction.text
    gold = options[answer_index] if answer_index is not None else ""
    return Score(correct, "choice", correct, token_f1(chosen, gold), choice=choice)
