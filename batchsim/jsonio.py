"""JSON that strict parsers accept: NaN and infinities become null, numpy scalars plain numbers.

Python's `json` writes `NaN` and `Infinity`, which RFC 8259 forbids and which `jq`, JavaScript's
`JSON.parse` and most other parsers reject; every JSON document batchsim writes goes through
`dumps` so that a script reading it never meets them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["dumps", "strict"]


def strict(value: Any) -> Any:
    """`value` with every non-finite float replaced by None and numpy scalars and arrays made plain."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, Mapping):
        return {key: strict(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(item) for item in value]
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays, without importing numpy
    if callable(tolist):
        return strict(tolist())
    return value


def dumps(value: Any, *, indent: int | None = 2, **kwargs: Any) -> str:
    """`json.dumps` of `strict(value)`, refusing anything that is still not valid JSON."""
    return json.dumps(strict(value), indent=indent, allow_nan=False, **kwargs)
