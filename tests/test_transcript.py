"""The real tiny.en model hears the narration: the spoken words, at the times they are spoken."""

from __future__ import annotations

import pytest
from conftest import IngestedSample

from memory.text_search import normalise_tokens
from memory.video_memory import VideoMemory

# (narration line index, words that must be heard during that line)
HEARD = [
    (0, ["welcome", "harbor", "tour"]),
    (1, ["budget", "bridge", "four", "million"]),
    (2, ["astronaut", "science", "museum", "friday"]),
    (3, ["coffee", "served", "garden"]),
]
EARLY_S = 1.0
"""tiny.en places first words up to ~0.3-0.6 s early; allow 1 s."""


@pytest.mark.parametrize(("line_index", "expected"), HEARD)
def test_narrated_words_are_transcribed_at_their_times(
    offline_memory: IngestedSample, line_index: int, expected: list[str]
) -> None:
    line = offline_memory.video.narration[line_index]
    memory = VideoMemory.for_path(offline_memory.settings, offline_memory.video.path)
    heard: dict[str, list[float]] = {}
    for span in memory.transcript():
        for word in span.words:
            for token in normalise_tokens(word.text):
                heard.setdefault(token, []).append(word.t0)
    for word in (normalise_tokens(w)[0] for w in expected):  # compared as search compares them ("served": "serv")
        assert word in heard, f"{word!r} not transcribed; heard {sorted(heard)}"
        assert any(line.t0 - EARLY_S <= t <= line.t1 + 0.5 for t in heard[word]), (
            f"{word!r} heard at {heard[word]}, narrated {line.t0:.1f}-{line.t1:.1f} s"
        )


def test_transcript_spans_are_ordered_and_inside_the_video(offline_memory: IngestedSample) -> None:
    memory = VideoMemory.for_path(offline_memory.settings, offline_memory.video.path)
    spans = memory.transcript()
    assert spans, "no speech recognised"
    assert all(0 <= s.t0 < s.t1 <= offline_memory.video.duration + 0.5 for s in spans)
    assert [s.t0 for s in spans] == sorted(s.t0 for s in spans)
    assert memory.summary("transcript")["model"].startswith("faster-whisper tiny.en")
