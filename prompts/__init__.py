"""Prompt and answer templates as text files beside this module, loaded by name."""

from __future__ import annotations

import functools
from pathlib import Path

_DIR = Path(__file__).parent


@functools.cache
def load(name: str) -> str:
    """The template `<name>.txt`, without its trailing newline."""
    path = _DIR / f"{name}.txt"
    if not path.is_file():
        raise KeyError(f"no prompt template named {name!r} in {_DIR}")
    return path.read_text(encoding="utf-8").rstrip("\n")


def render(name: str, **values: object) -> str:
    """Fill a template's `{placeholders}`."""
    return load(name).format(**values)
