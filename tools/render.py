"""The compact text a language model reads for a tool's evidence: one line per item, times first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from core.types import Evidence, format_timestamp
from models.vlm.client import one_line

NOTHING_FOUND = "nothing found"
LINE_CHARS = 320
"""Longest text per line; evidence text is data from the video, not the place for essays."""

_TAGS = {"transcript": "said: ", "caption": "caption: ", "dense_caption": "description: ", "note": "note: ",
         "screen_text": "on screen: "}  # fmt: skip


def _printable(text: str) -> str:
    """Control characters (a model's stray output) as spaces, so a line stays one readable line."""
    return "".join(c if c.isprintable() else " " for c in text)


def span_text(t0: float, t1: float) -> str:
    """`[mm:ss-mm:ss]`, or `[mm:ss]` for a moment."""
    start, end = format_timestamp(t0), format_timestamp(t1)
    return f"[{start}]" if start == end else f"[{start}-{end}]"


def render_line(evidence: Evidence, video_name: str | None = None, suffix: str = "") -> str:
    """`[mm:ss-mm:ss] (video) kind: text suffix` on one line."""
    text = one_line(_printable(evidence.text), LINE_CHARS)
    if evidence.kind in ("transcript", "screen_text"):
        text = f'"{text}"'
    where = f" ({video_name})" if video_name else ""
    return f"{span_text(evidence.t0, evidence.t1)}{where} {_TAGS.get(evidence.kind, '')}{text}{suffix}"


def render_evidence(
    evidence: Sequence[Evidence],
    video_names: Mapping[str, str] | None = None,
    suffixes: Sequence[str] | None = None,
) -> str:
    """One line per item, `[mm:ss-mm:ss] text`, or `nothing found`. `video_names` (video id -> name) adds
    the video to each line, for tool sets bound to several videos; `suffixes` append per-line remarks."""
    if not evidence:
        return NOTHING_FOUND
    names = video_names or {}
    extra = list(suffixes) if suffixes is not None else [""] * len(evidence)
    return "\n".join(render_line(e, names.get(e.video_id), s) for e, s in zip(evidence, extra))
