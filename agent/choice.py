"""Multiple choice without a VLM: the option the gathered evidence supports best.

Each option is compared with every piece of evidence, by meaning (the text embedder) and by shared
words; an option that is a time ("00:07") is compared by distance to the evidence's times. The choice
carries the evidence that supports it, so benchmark answers stay grounded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.types import Evidence
from memory.text_search import content_tokens
from models.cache import ModelCache

TIME_TOLERANCE_S = 2.0
KEYWORD_WEIGHT = 0.5
"""Share of the score that shared words carry next to meaning."""
CLEAR_MARGIN = 0.15
"""A lead over the next option this large (in score) is a clear win; a smaller one lowers the confidence."""
WEAK = 0.35
"""Below this confidence the answer says the choice is uncertain."""
UNSUPPORTED = 0.1
"""Below this confidence no evidence tells the options apart: no option is chosen (unless a pick is forced)."""


@dataclass(frozen=True)
class Choice:
    """The chosen option (0-based), its score, the next best option's score, and the evidence behind it."""

    index: int
    score: float
    support: list[Evidence]
    runner_up: float = 0.0

    @property
    def confidence(self) -> float:
        """0-1: how well the evidence supports the option (its score) times how clearly it beats the next one."""
        if not self.support:
            return 0.0
        lead = min(1.0, max(0.0, self.score - self.runner_up) / CLEAR_MARGIN)
        return round(max(0.0, min(1.0, self.score)) * lead, 3)

    @property
    def weak(self) -> bool:
        return self.confidence < WEAK

    @property
    def supported(self) -> bool:
        """Whether the evidence tells this option apart from the others at all."""
        return self.confidence >= UNSUPPORTED


def _option_time(option: str) -> float | None:
    match = re.fullmatch(r"\s*\[?(?:(\d+):)?(\d{1,2}):(\d{2})\]?\s*", option)
    if not match:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)


def _overlap(option: str, text: str) -> float:
    """Share of the option's words (numbers spelled out, spellings unified) that the text says; 'the narrator'
    counts here, though a question's search ignores it."""
    wanted = set(content_tokens(option))
    if not wanted:
        return 0.0
    return len(wanted & set(content_tokens(text))) / len(wanted)


def choose_option(question: str, options: Sequence[str], evidence: Sequence[Evidence], models: ModelCache) -> Choice:
    """The best-supported option; with no evidence at all, option 0 with score 0 and no support.

    Each option is read with its question ("where is coffee served? in the garden"), so an option that
    merely shares words with some unrelated evidence does not win."""
    usable = [e for e in evidence if e.kind != "note" and e.text.strip()]
    if not usable or not options:
        return Choice(0, 0.0, [])
    hypotheses = [f"{question} {option}" for option in options]
    scores = np.zeros((len(options), len(usable)), dtype=np.float32)
    embedder = models.text_embedder()
    if embedder is not None:
        vectors = embedder.encode([*hypotheses, *(e.text for e in usable)])
        scores += (1.0 - KEYWORD_WEIGHT) * (vectors[: len(options)] @ vectors[len(options) :].T)
    for i, (option, hypothesis) in enumerate(zip(options, hypotheses)):
        moment = _option_time(option)
        for j, item in enumerate(usable):
            if moment is not None:
                distance = 0.0 if item.t0 <= moment <= item.t1 else min(abs(moment - item.t0), abs(moment - item.t1))
                scores[i, j] = 1.0 if distance <= TIME_TOLERANCE_S else 0.0
            else:
                scores[i, j] += KEYWORD_WEIGHT * _overlap(hypothesis, item.text)
    best_per_option = scores.max(axis=1)
    index = int(np.argmax(best_per_option))
    order = np.argsort(-scores[index], kind="stable")
    support = [usable[j] for j in order[:3] if scores[index, j] > 0]
    others = np.delete(best_per_option, index)
    runner_up = float(others.max()) if others.size else 0.0
    return Choice(index, float(best_per_option[index]), support, runner_up)


ORDER_FIRST = re.compile(
    r"\b(?:first|earliest|soonest|before (?:the )?(?:others|rest)|opens? with|starts? with|begins? with|initially)\b",
    re.IGNORECASE,
)
ORDER_LAST = re.compile(
    r"\b(?:last|latest|final(?:ly)?|after (?:the )?(?:others|rest)|ends? with|closes? with)\b", re.IGNORECASE
)
MATCH_OVERLAP = 0.5
MATCH_MEANING = 0.55
"""An option matches a line of speech when half its words are said there, or their meanings are this close."""


def order_choice(
    question: str, options: Sequence[str], evidence: Sequence[Evidence], models: ModelCache
) -> Choice | None:
    """For "which is said first / last" among options: each option's best matching line of speech, and the
    option whose line comes first (or last). None when the question asks no order or no option is said."""
    latest = bool(ORDER_LAST.search(question)) and not ORDER_FIRST.search(question)
    if not (ORDER_FIRST.search(question) or latest):
        return None
    lines = [e for e in evidence if e.kind in ("transcript", "speaker") and e.text.strip()]
    if not lines or not options:
        return None
    meaning = np.zeros((len(options), len(lines)), dtype=np.float32)
    embedder = models.text_embedder()
    if embedder is not None:
        vectors = embedder.encode([*options, *(e.text for e in lines)])
        meaning = vectors[: len(options)] @ vectors[len(options) :].T
    placed: dict[int, tuple[float, float, Evidence]] = {}
    for i, option in enumerate(options):
        for j, line in enumerate(lines):
            overlap = _overlap(option, line.text)
            if overlap >= MATCH_OVERLAP or meaning[i, j] >= MATCH_MEANING:
                strength = max(overlap, float(meaning[i, j]))
                best = placed.get(i)
                clearly_better = best is None or strength > best[1] + 0.1
                as_good_and_earlier = best is not None and abs(strength - best[1]) <= 0.1 and line.t0 < best[0]
                if clearly_better or as_good_and_earlier:
                    placed[i] = (line.t0, strength, line)
    if not placed:
        return None
    order = sorted(placed, key=lambda i: placed[i][0], reverse=latest)
    index = order[0]
    _, strength, line = placed[index]
    found_share = len(placed) / len(options)  # options never matched may be said in words not matched
    score = min(1.0, strength) * (0.5 + 0.5 * found_share)
    return Choice(index, round(score, 3), [line], runner_up=0.0)


def option_letter(index: int) -> str:
    return chr(ord("A") + index)


def parse_choice(text: str, count: int) -> int | None:
    """The option a model's reply picks: a leading letter ("B." / "(B)" / "Answer: B") or option number."""
    letters = "".join(option_letter(i) for i in range(count))
    match = re.match(rf"\s*(?:(?:the\s+)?(?:answer|option)\s*(?:is)?\s*[:\-]?\s*)?\(?([{letters}])(?:[).:,]|\s*$|\s+[-–])",
                     text, re.IGNORECASE)  # fmt: skip
    if match:
        return letters.index(match.group(1).upper())
    match = re.search(rf"\b(?:answer|option)\s*(?:is)?\s*[:\-]?\s*\(?([{letters}])\b", text, re.IGNORECASE)
    return letters.index(match.group(1).upper()) if match else None


def order_lead(compared: Sequence[str], evidence: Sequence[Evidence]) -> str:
    """'After: ...' for "is A said before or after B": the line that says most of each thing's words (the earlier
    on a tie), and A's place against B's; '' when either is not said or both are on one line."""
    if len(compared) != 2:
        return ""
    lines = [e for e in evidence if e.kind == "transcript"]
    placed = []
    for thing in compared:
        best = max(lines, key=lambda e: (_overlap(thing, e.text), -e.t0), default=None)
        if best is None or _overlap(thing, best.text) < MATCH_OVERLAP:
            return ""
        placed.append(best)
    first, second = placed
    if first.t0 == second.t0:
        return ""
    word = "After" if first.t0 > second.t0 else "Before"
    return f"{word}: “{compared[0]}” is said at {first.cite()}, “{compared[1]}” at {second.cite()}."
