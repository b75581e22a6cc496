"""Text safe to show on a terminal: control characters become visible escapes (`\\x1b`), never raw bytes.

Questions, transcripts, captions, answers, file names and error messages can hold escape sequences that
would set the terminal's title, clear the screen or write to the clipboard; every place the CLI or the
chat shows such text passes it through here first.
"""

from __future__ import annotations

import re

_CONTROL = "\x00-\x08\x0b-\x1f\x7f-\x9f"
"""C0 controls except tab and newline, DEL, and the C1 controls (8-bit CSI, OSC, ...)."""
_REORDERING = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
"""Bidirectional marks, embeddings, overrides and isolates: they make shown text differ from the text."""
_UNSAFE = re.compile(f"[{_CONTROL}{_REORDERING}]")
_UNSAFE_LINE = re.compile(f"[\t\n\u2028\u2029{_CONTROL}{_REORDERING}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str) -> str:
    """`text` with every control character escaped, keeping newlines and tabs (answers, transcripts)."""
    return _UNSAFE.sub(_escape, text)


def terminal_line(text: str) -> str:
    """`text` as one line: newlines and tabs escaped too (file names, error messages, titles)."""
    return _UNSAFE_LINE.sub(_escape, text)


def terminal_json(data: object, indent: int | None = 2) -> str:
    """JSON for stdout, readable (non-ASCII kept) yet inert: the characters `terminal_safe` escapes are written
    as JSON unicode escapes (U+009B as `\\u009b`), so `--json` output cannot drive a terminal and parses the same."""
    import json

    text = json.dumps(data, indent=indent, ensure_ascii=False)  # C0 controls are escaped by JSON itself
    return _UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
