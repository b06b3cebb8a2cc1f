"""Durations as scenario files and flags write them: seconds, "90s", "15m", "24h", "7d", or ISO 8601.

ISO 8601 durations (`PT15M`, `P1DT2H`) are how ARM templates, Bicep and the Batch REST API write
intervals and timeouts, so a value copied from them is accepted as it is.
"""

from __future__ import annotations

import math
import re

__all__ = ["DURATION_FORMS", "DURATION_PATTERN", "format_duration", "iso_8601_duration_s", "parse_duration_s"]

DURATION_FORMS = "a number of seconds, 90s, 15m, 24h, 7d, or ISO 8601 such as PT15M or P1DT2H"
"""The accepted forms, as error messages and help texts name them."""

_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
# ISO 8601 durations with fixed-length parts only: years and months have no length in seconds.
# Written out here because the libraries that parse them either need an extra dependency (isodate)
# or read P1M as 30 days (pydantic), which would silently turn a typo into a month.
_NUMBER = r"(\d+(?:[.,]\d+)?)"
_ISO_8601 = re.compile(
    rf"^P(?!$)(?:{_NUMBER}W)?(?:{_NUMBER}D)?(?:T(?=\d)(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?$",
    re.IGNORECASE,
)
DURATION_PATTERN = (
    r"^\s*\d+(\.\d+)?\s*(ms|s|m|h|d|w)?\s*$"
    r"|^[Pp](?!$)(\d+([.,]\d+)?[Ww])?(\d+([.,]\d+)?[Dd])?([Tt](?=\d)(\d+([.,]\d+)?[Hh])?(\d+([.,]\d+)?[Mm])?(\d+([.,]\d+)?[Ss])?)?$"
)
"""The string forms as a JSON Schema pattern (ECMA 262), for editors that validate scenario files."""
_ISO_PART_S = (604800.0, 86400.0, 3600.0, 60.0, 1.0)
_CALENDAR = re.compile(r"^P[^T]*[YM]", re.IGNORECASE)  # M before the T is months, after it minutes


def iso_8601_duration_s(text: str) -> float | None:
    """Seconds in an ISO 8601 duration of weeks, days, hours, minutes and seconds (`PT15M`,
    `PT05M00S`, `P1W`, `P1DT2H`, the REST API's `P10675199DT2H48M5.4775807S`), None when `text` is
    not one. The project's one parser of these durations. A `T` must be followed by a time part
    (ISO 8601 leaves the designator out when there is none), so `P1DT` is not a duration."""
    match = _ISO_8601.match(text.strip())
    if match is None:
        return None
    return sum(
        float(part.replace(",", ".")) * size for part, size in zip(match.groups(), _ISO_PART_S, strict=True) if part
    )


def parse_duration_s(value: object) -> float:
    """Seconds in `value`: a number of seconds, "90s", "15m", "1.5h", "7d", or ISO 8601 ("PT15M").

    Raises ValueError naming the accepted forms when `value` is none of them or negative.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration ({DURATION_FORMS}), got {value!r}")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"a duration cannot be negative, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"a duration must be finite, got {value!r}")
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        match = _DURATION.match(text)
        if match:
            return float(match.group(1)) * _UNIT_S[match.group(2) or "s"]
        seconds = iso_8601_duration_s(text)
        if seconds is not None:
            return seconds
        if text.startswith("-"):
            raise ValueError(f"a duration cannot be negative, got {value!r}")
        if _CALENDAR.match(text):
            raise ValueError(f"years and months have no fixed length in seconds: write days (P30D), got {value!r}")
    raise ValueError(f"expected a duration ({DURATION_FORMS}), got {value!r}")


def format_duration(seconds: float) -> str:
    """The shortest exact form of `seconds` among d, h, m, s ("7d", "15m", "90s", "0.5s")."""
    for unit in ("d", "h", "m"):
        size = _UNIT_S[unit]
        if seconds and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s" if float(seconds).is_integer() else f"{seconds:g}s"
