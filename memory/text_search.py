"""Keyword search (BM25) with spoken-language normalisation, and reciprocal rank fusion.

Speech recognisers write numbers as digits ("$4 million") while people ask in words ("four million
dollars") and vice versa, so both sides are normalised to words before BM25 sees them.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Sequence

import numpy as np

_CONTRACTION_ENDINGS = frozenset(["t", "re", "ve", "ll", "d", "m", "s"])
"""Endings after an apostrophe that make a contraction ("don't"); any other ending is a word of its own."""
_TOKEN = re.compile(r"\$?\d+(?:[.,]\d+)*%?|[a-z]+(?:'[a-z]+)?")
_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SPELLING = {"harbour": "harbor", "colour": "color", "centre": "center", "theatre": "theater", "metre": "meter"}
STOPWORDS = frozenset(
    """a an the and or but if of at by for with about against between into through during before after above
    below to from up down in out on off over under again further then once here there when where why how all any
    both each few more most other some such no nor not only own same so than too very can will just should now is
    are was were be been being have has had having do does did doing i me my we our you your he him his she her it
    its they them their what which who whom this that these those am would could shall may might must""".split()
)
QUESTION_FRAME_WORDS = frozenset(
    """say says said saying tell tells told talk talks talked talking mention mentions mentioned narrator narrators
    narration speaker speakers voice video clip someone somebody anyone person people does anything something
    thing things timestamp moment recording footage audio hear heard hearing listen listening touch touches
    brings information detail details learn remark remarks commentary voiceover""".split()
)


def number_to_words(value: int) -> str:
    """English words for 0 <= value < 10**12 ("4" -> "four", "1200" -> "one thousand two hundred")."""
    if value < 20:
        return _ONES[value]
    if value < 100:
        tens, ones = divmod(value, 10)
        return _TENS[tens] + (f" {_ONES[ones]}" if ones else "")
    for size, name in ((10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred")):
        if value >= size:
            head, rest = divmod(value, size)
            return f"{number_to_words(head)} {name}" + (f" {number_to_words(rest)}" if rest else "")
    raise ValueError(value)


def singular(word: str) -> str:
    """A plural noun's singular by its ending ("tickets" -> "ticket", "stories" -> "story", "boxes" -> "box"),
    so a question's "ticket prices" finds "tickets cost"; short words and -ss/-us/-is endings stay."""
    if len(word) <= 3 or "'" in word or not word.endswith("s") or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes", "zes")):
        return word[:-2]
    return word[:-1]


_VOWELS = frozenset("aeiouy")
_KEEP_DOUBLE = frozenset("lsz")


def stem(word: str) -> str:
    """A word's -ing / -ed ending and final silent e removed, the same on both sides of a match, so "working"
    finds "worked", "unlock" finds "unlocked" and "loved" finds "love"; stems shorter than 3 letters or without
    a vowel keep their ending ("bed", "ring", "need")."""
    for ending in ("ing", "ed"):
        base = word[: -len(ending)]
        if word.endswith(ending) and len(base) >= 3 and _VOWELS & set(base):
            if len(base) >= 4 and base[-1] == base[-2] and base[-1] not in _VOWELS | _KEEP_DOUBLE:
                base = base[:-1]  # "running" -> "run", "planned" -> "plan"
            word = base
            break
    return word[:-1] if len(word) > 3 and word.endswith("e") and not word.endswith(("ee", "ye")) else word


def fold_accents(text: str) -> str:
    """"café" -> "cafe": letters with accents compare equal to the plain letters people type."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def normalise_tokens(text: str) -> list[str]:
    """Lower-case word tokens with accents folded, numbers spelled out, `$N` -> `N dollars`, British spellings
    unified, plurals singular and verb endings stemmed."""
    tokens: list[str] = []
    for raw in _TOKEN.findall(fold_accents(text.lower())):
        if raw[0] == "$" or raw[0].isdigit():
            digits = raw.lstrip("$").rstrip("%").replace(",", "")
            whole = digits.split(".")[0]
            if whole.isdigit() and int(whole) < 10**12:
                tokens.extend(number_to_words(int(whole)).split())
            else:
                tokens.append(digits)
            if raw[0] == "$":
                tokens.append("dollars")
            if raw.endswith("%"):
                tokens.append("percent")
            continue
        word = raw.replace("'s", "")
        if word not in STOPWORDS and word not in QUESTION_FRAME_WORDS:
            word = stem(_SPELLING.get(singular(word), singular(word)))
        tokens.append(_SPELLING.get(word, word))
        head, _, tail = word.partition("'")
        if tail and tail not in _CONTRACTION_ENDINGS and len(tail) > 2:
            tokens.append(_SPELLING.get(tail, tail))  # "o'clock" also says "clock"
    return tokens


@functools.lru_cache(maxsize=64)
def _normalised_words(words: frozenset[str]) -> frozenset[str]:
    """A word list as tokens compare: each word as given and as normalised ("sentences": "sentenc")."""
    return words | {token for word in words for token in normalise_tokens(word)}


def content_tokens(text: str, drop: frozenset[str] = frozenset()) -> list[str]:
    """Normalised tokens without stopwords (and without `drop`, in any of its words' forms), for keyword matching."""
    dropped = _normalised_words(drop) if drop else drop
    return [t for t in normalise_tokens(text) if t not in STOPWORDS and t not in dropped and len(t) > 1]


class KeywordIndex:
    """A BM25 index over a fixed corpus, built once so repeated queries cost milliseconds."""

    def __init__(self, documents: Sequence[str]) -> None:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets its own logger to DEBUG on import
        corpus = [content_tokens(doc) or ["\u2205"] for doc in documents]
        self.size = len(corpus)
        self.vocabulary = {token for doc in corpus for token in doc}
        self._retriever = bm25s.BM25()
        if corpus:
            self._retriever.index(corpus, show_progress=False)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document (0 where no query word occurs); question framing words are ignored."""
        scores = np.zeros(self.size, dtype=np.float32)
        tokens = [t for t in content_tokens(query, drop=QUESTION_FRAME_WORDS) if t in self.vocabulary]
        if not self.size or not tokens:
            return scores
        scores[:] = self._retriever.get_scores(tokens)
        return scores

    def top(self, query: str, k: int) -> list[int]:
        """Indices of the best `k` documents with a positive score, best first."""
        scores = self.scores(query)
        if not scores.any():
            return []
        count = min(k, int((scores > 0).sum()))
        best = np.argpartition(-scores, count - 1)[:count]
        return [int(i) for i in best[np.argsort(-scores[best], kind="stable")]]


def bm25_scores(query: str, documents: Sequence[str]) -> np.ndarray:
    """BM25 score of every document for a query (0 where no query word occurs)."""
    return KeywordIndex(documents).scores(query)


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], k: int = 60) -> dict[int, float]:
    """Fuse ranked lists of item ids: score(item) = sum over lists of 1 / (k + rank)."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return fused
