"""An LLM as the judge of open-ended answers: the prompt (prompts/judge.txt) and reading its yes/no."""

from __future__ import annotations

import re
from collections.abc import Callable

import prompts
from evaluation.scoring import Judge

_THINKING = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_YES = frozenset({"yes", "correct", "true", "right"})
_NO = frozenset({"no", "incorrect", "false", "wrong", "not"})


def judge_prompt(question: str, gold: str, prediction: str) -> str:
    """The judge prompt for one answer, asking for a one-word yes or no."""
    return prompts.render("judge", question=question, gold=gold, prediction=prediction.strip() or "(no answer)")


def parse_judge_reply(reply: str) -> bool | None:
    """True for "yes", False for "no" (also "**Yes.**", "Verdict: no", after a <think> block); None if unclear."""
    words = re.findall(r"[a-z]+", _THINKING.sub(" ", reply).lower())
    while words and words[0] in ("answer", "verdict", "judgement", "judgment", "final"):
        words = words[1:]
    if not words:
        return None
    if words[0] in _YES:
        return True
    if words[0] in _NO:
        return False
    said_yes, said_no = bool(_YES & set(words)), bool(_NO & set(words))
    return said_yes if said_yes != said_no else None


def make_judge(complete: Callable[[str], str]) -> Judge:
    """A judge from any text model: `complete(prompt) -> reply` (the runner's configured LLM)."""

    def judge(question: str, gold: str, prediction: str) -> bool | None:
        return parse_judge_reply(complete(judge_prompt(question, gold, prediction)))

    return judge
