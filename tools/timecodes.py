"""Times in tool arguments: seconds as numbers, or clock strings as people and language models write them.

`Seconds` accepts `75`, `75.5`, `"75"`, `"75s"`, `"1:15"`, `"01:15.5"`, `"1:02:03"` and `"[00:30]"`;
`TimeRange` accepts `[t0, t1]` of those, `{"t0": .., "t1": ..}` (or start/end) and `"0:10-0:20"`.
Both become float seconds from the start of the video; anything else is a validation error that
says what was expected.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

_CLOCK = re.compile(r"^(?:(\d+):)?(\d+):(\d{1,2}(?:\.\d+)?)$")
_PLAIN = re.compile(r"^(\d+(?:\.\d+)?|\.\d+)\s*(?:s|sec|secs|second|seconds)?$")
_RANGE_SPLIT = re.compile(r"\s*(?:\bto\b|–|—|\.\.|-)\s*")
TIME_HINT = "seconds (e.g. 75.5) or a 'mm:ss' / 'h:mm:ss' string"


def parse_time(value: Any) -> float:
    """Float seconds from a number or a clock string; raises ValueError with what was expected."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"expected a time in {TIME_HINT}, got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().strip("[]()").strip().lower()
        clock, plain = _CLOCK.match(text), _PLAIN.match(text)
        if clock:
            hours, minutes, secs = clock.group(1), clock.group(2), clock.group(3)
            if float(secs) >= 60 or (hours is not None and int(minutes) >= 60):
                raise ValueError(f"{value!r} is not a valid clock time (mm:ss, seconds below 60)")
            seconds = int(hours or 0) * 3600 + int(minutes) * 60 + float(secs)
        elif plain:
            seconds = float(plain.group(1))
        else:
            raise ValueError(f"expected a time in {TIME_HINT}, got {value!r}")
    else:
        raise ValueError(f"expected a time in {TIME_HINT}, got {type(value).__name__}")  # noqa: TRY004 (pydantic reports ValueError)
    if not math.isfinite(seconds):
        raise ValueError(f"a time must be a finite number of seconds, got {value!r}")
    if seconds < 0:
        raise ValueError(f"times are seconds from the start of the video and cannot be negative, got {value!r}")
    return seconds


def parse_range(value: Any) -> tuple[float, float]:
    """(t0, t1) seconds from a pair, a t0/t1 (or start/end) mapping or a 'a-b' string; t1 >= t0."""
    if isinstance(value, dict):
        keys = ("t0", "t1") if "t0" in value or "t1" in value else ("start", "end")
        if keys[0] not in value or keys[1] not in value:
            raise ValueError(f"a time range needs both ends, as [start, end]; got {value!r}")
        pair: Any = (value[keys[0]], value[keys[1]])
    elif isinstance(value, str):
        parts = [p for p in _RANGE_SPLIT.split(value.strip().strip("[]()").strip()) if p]
        if len(parts) != 2:
            raise ValueError(f"expected a time range such as [10, 20] or '0:10-0:20', got {value!r}")
        pair = parts
    elif isinstance(value, (list, tuple)):
        pair = value
    else:
        raise ValueError(f"expected a time range such as [10, 20] or '0:10-0:20', got {value!r}")  # noqa: TRY004
    if len(pair) != 2:
        raise ValueError(f"a time range has exactly two ends, [start, end]; got {len(pair)} values")
    t0, t1 = parse_time(pair[0]), parse_time(pair[1])
    if t1 < t0:
        raise ValueError(f"the time range ends before it starts ({t0:g} s to {t1:g} s)")
    return t0, t1


_TIME_SCHEMA = {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string"}]}

Seconds = Annotated[float, BeforeValidator(parse_time), WithJsonSchema(_TIME_SCHEMA)]
"""A time in a tool argument, as float seconds."""

TimeRange = Annotated[
    tuple[float, float],
    BeforeValidator(parse_range),
    WithJsonSchema(
        {"anyOf": [{"type": "array", "items": _TIME_SCHEMA, "minItems": 2, "maxItems": 2}, {"type": "string"}]}
    ),
]
"""A [start, end] time range in a tool argument, as float seconds."""
