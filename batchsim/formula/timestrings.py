"""The strings `time(s)` accepts (formula reference §6.3): W3C-DTF and RFC 1123.

Imported by the first evaluation that parses a time string, not by `check`.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from batchsim.formula.context import TICKS_PER_SECOND, datetime_to_ticks

__all__ = ["parse_time_string"]

_W3C = re.compile(
    r"(?P<y>\d{4})(?:-(?P<mo>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,7}))?)?(?P<tz>Z|[+-]\d{2}:\d{2}))?)?)?"
)


def parse_time_string(text: str) -> int | None:
    """Ticks of a W3C-DTF or RFC 1123 time string, or None when it is neither (§6.3)."""
    match = _W3C.fullmatch(text)
    if match:
        try:
            moment = datetime(
                int(match["y"]),
                int(match["mo"] or 1),
                int(match["d"] or 1),
                int(match["h"] or 0),
                int(match["mi"] or 0),
                int(match["s"] or 0),
                tzinfo=timezone.utc,
            )
        except ValueError:
            return None
        ticks = datetime_to_ticks(moment) + int((match["f"] or "0").ljust(7, "0"))
        tz = match["tz"]
        if tz and tz != "Z":
            offset = (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60) * TICKS_PER_SECOND
            ticks -= offset if tz[0] == "+" else -offset
        return ticks
    if re.fullmatch(r"[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT", text):
        try:
            return datetime_to_ticks(parsedate_to_datetime(text))
        except (TypeError, ValueError):
            return None
    return None
