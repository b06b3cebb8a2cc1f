"""Durations as the scenario files write them: a number of seconds, or "90s", "15m", "24h", "7d"."""

from __future__ import annotations

import re

__all__ = ["format_duration", "parse_duration_s"]

_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")


def parse_duration_s(value: object) -> float:
    """Seconds in `value`: an int/float of seconds, or a string such as "90s", "15m", "1.5h", "7d".

    Raises ValueError naming the accepted forms when `value` is none of them or negative.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as 90s, 15m, 24h or 7d, got {value!r}")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"a duration cannot be negative, got {value!r}")
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match.group(1)) * _UNIT_S[match.group(2) or "s"]
    raise ValueError(f"expected a duration such as 90s, 15m, 24h or 7d, got {value!r}")


def format_duration(seconds: float) -> str:
    """The shortest exact form of `seconds` among d, h, m, s ("7d", "15m", "90s", "0.5s")."""
    for unit in ("d", "h", "m"):
        size = _UNIT_S[unit]
        if seconds and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s" if float(seconds).is_integer() else f"{seconds:g}s"
