"""Multiple-choice options as datasets write them: letters ("A".."E"), "A. text" prefixes, indices."""

from __future__ import annotations

import re

LETTERS = "ABCDEFGHIJ"
_PREFIX = re.compile(r"^\s*\(?([A-J])[.):]\s+")


def letter_index(letter: str, count: int) -> int | None:
    """0 for "A", 1 for "B", ... when the letter names one of `count` options, else None."""
    text = letter.strip().strip("().:").upper()
    if len(text) == 1 and text in LETTERS[:count]:
        return LETTERS.index(text)
    return None


def strip_letter(option: str) -> str:
    """ "B. a red car" -> "a red car" (options without a letter prefix are returned stripped)."""
    return _PREFIX.sub("", option, count=1).strip()


def option_index(options: list[str], answer: str) -> int | None:
    """Index of the option whose text equals `answer` (ignoring case and outer spaces), else None."""
    wanted = answer.strip().casefold()
    for index, option in enumerate(options):
        if option.strip().casefold() == wanted:
            return index
    return None
