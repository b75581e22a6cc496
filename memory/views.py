"""JSON views of one video's memory for `main.py inspect` (transcript, triggers, actors)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from memory.video_memory import VideoMemory


def transcript_view(memory: VideoMemory) -> dict[str, Any]:
    """`{"transcript": [{t0, t1, text, words: [{word, start, end}], segments}], language, ...}`.

    `segments` lists the indices of the memory segments each span overlaps (the alignment the
    agent uses to jump from speech to pictures).
    """
    segments = memory.segments()
    summary = memory.summary("transcript")
    spans = []
    for span in memory.transcript():
        spans.append(
            {
                "t0": span.t0,
                "t1": span.t1,
                "text": span.text,
                "words": [
                    {"word": w.text, "start": w.t0, "end": w.t1, "probability": w.probability} for w in span.words
                ],
                "segments": [s.index for s in segments if s.t0 < span.t1 and span.t0 < s.t1],
            }
        )
    return {
        "video_path": str(memory.ref.path),
        "language": summary.get("language"),
        "language_probability": summary.get("language_probability"),
        "has_audio": memory.ref.has_audio,
        "transcript": spans,
    }


VIEWS: dict[str, Callable[[VideoMemory], dict[str, Any]]] = {"transcript": transcript_view}
"""View name -> builder, as offered by `main.py inspect --what`."""
