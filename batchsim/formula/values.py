"""Runtime values and their printed forms (formula reference §4, §9.2).

Values are plain Python objects, tagged by the static type the compiler knows:
double → float, doubleVec → list[float], string → str, timestamp and timeinterval → int ticks of
100 ns (timestamps since the Unix epoch), dealloc option → str.
"""

from __future__ import annotations

import math
from datetime import timedelta

_TICKS_PER_SECOND = 10_000_000  # context.TICKS_PER_SECOND, without importing the context types

__all__ = [
    "DOUBLE",
    "DOUBLE_VEC",
    "NONE",
    "SAMPLE",
    "SMALL_INTEGER_TEXT",
    "STRING",
    "TIMEINTERVAL",
    "TIMESTAMP",
    "format_double",
    "format_value",
    "round_half_away",
    "to_python",
]

DOUBLE = "double"
DOUBLE_VEC = "doubleVec"
STRING = "string"
TIMESTAMP = "timestamp"
TIMEINTERVAL = "timeinterval"
SAMPLE = "sample"
DEALLOC = "dealloc option"
NONE = "none"


def round_half_away(x: float) -> float:
    """Nearest integer, halves away from zero (§6.1 `round`, §4 interval scaling)."""
    return math.copysign(math.floor(abs(x) + 0.5), x)


# Node counts and task counts are most of what a results string holds: look them up rather than
# format them (a tenth of an evaluation's time). `%g` writes these integers as `str` does.
# Compiled formulas inline the same lookup (`compiler.py`).
# Built with `map` (a third faster than a comprehension): every `check` builds it.
SMALL_INTEGER_TEXT = dict(zip(map(float, range(4097)), map(str, range(4097)), strict=True))


def format_double(x: float) -> str:
    """C `%g` with 6 significant digits; `-0` prints as `0` (§9.2)."""
    text = SMALL_INTEGER_TEXT.get(x)  # -0.0 == 0.0: "0"
    if text is not None:
        return text
    return f"{x:g}"  # C %g: 6 significant digits


def _format_timestamp(ticks: int) -> str:
    from batchsim.formula.context import ticks_to_datetime

    # Not strftime: its %Y writes year 1 as "1" on glibc, not "0001".
    m = ticks_to_datetime(ticks)
    date = f"{m.year:04d}-{m.month:02d}-{m.day:02d}"
    return f"{date}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}.{m.microsecond // 1000:03d}Z"


def _format_interval(ticks: int) -> str:
    """.NET TimeSpan constant form `[-][d.]hh:mm:ss[.fffffff]` (§9.2)."""
    sign = "-" if ticks < 0 else ""
    ticks = abs(ticks)
    seconds, fraction = divmod(ticks, _TICKS_PER_SECOND)
    days, seconds = divmod(seconds, 86_400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    text = f"{sign}{f'{days}.' if days else ''}{hours:02d}:{minutes:02d}:{seconds:02d}"
    return text + (f".{fraction:07d}" if fraction else "")


def format_value(kind: str, value: object) -> str:
    """A value as the results string writes it (§9.2)."""
    if kind == DOUBLE:
        return format_double(value)  # type: ignore[arg-type]
    if kind == DOUBLE_VEC:
        return "[" + ",".join(format_double(v) for v in value) + "]"  # type: ignore[attr-defined]
    if kind == TIMESTAMP:
        return _format_timestamp(value)  # type: ignore[arg-type]
    if kind == TIMEINTERVAL:
        return _format_interval(value)  # type: ignore[arg-type]
    return str(value)


def to_python(kind: str, value: object) -> object:
    """A value for `AutoScaleRun.values`: floats, lists, datetimes, timedeltas, strings."""
    if kind == TIMESTAMP:
        from batchsim.formula.context import ticks_to_datetime

        return ticks_to_datetime(value)  # type: ignore[arg-type]
    if kind == TIMEINTERVAL:
        return timedelta(microseconds=value / 10)  # type: ignore[operator]
    if kind == DOUBLE_VEC:
        return list(value)  # type: ignore[call-overload]
    return value
