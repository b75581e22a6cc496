"""Keyword search understands how speech is written down: digits vs. words, dollars, spelling."""

from __future__ import annotations

from memory.text_search import bm25_scores, normalise_tokens, number_to_words, reciprocal_rank_fusion

LINES = [
    "Welcome to the harbour tour.",
    "The budget for the new bridge is $4 million.",
    "An astronaut will visit the science museum on Friday.",
]


def test_numbers_are_spelled_out() -> None:
    assert number_to_words(4) == "four"
    assert number_to_words(1_250_000) == "one million two hundred fifty thousand"
    assert normalise_tokens("$4 million") == ["four", "dollars", "million"]


def test_spoken_words_match_written_digits() -> None:
    scores = bm25_scores("four million dollars", LINES)
    assert scores.argmax() == 1 and scores[0] == scores[2] == 0


def test_british_and_american_spellings_match() -> None:
    assert bm25_scores("harbor", LINES).argmax() == 0


def test_question_framing_words_do_not_match_anything() -> None:
    assert not bm25_scores("what does the narrator say", LINES).any()


def test_rank_fusion_rewards_agreement() -> None:
    fused = reciprocal_rank_fusion([[1, 2, 0], [1, 0]])
    assert max(fused, key=fused.get) == 1 and fused[0] > fused[2]


def test_a_word_inside_another_word_is_found() -> None:
    """A clock narrated as "four o'clock" is found by "clock"; a contraction ("don't") stays one word."""
    lines = ["The meeting starts at four o'clock.", "Don't forget the keys."]
    scores = bm25_scores("clock", lines)
    assert scores[0] > 0 and scores[1] == 0
    assert "t" not in normalise_tokens("don't")


def test_verb_endings_and_accents_do_not_hide_a_match() -> None:
    """"How long has she been working here" finds "has worked here"; "unlock" finds "unlocked"; "café" is "cafe"."""
    lines = ["Saturday morning, and the museum has just opened.", "Our guide has worked here for 12 years.",
             "We unlocked the door at 7.", "The opening of our little corner cafe."]  # fmt: skip
    assert bm25_scores("how long has the guide been working", lines).argmax() == 1
    assert bm25_scores("when did they unlock the doors", lines).argmax() == 2
    assert bm25_scores("a café", lines).argmax() == 3
    assert normalise_tokens("loved love loving") == ["lov"] * 3 and normalise_tokens("bed need ring") == ["bed", "need", "ring"]
