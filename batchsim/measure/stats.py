"""Means with 95 % t-intervals, and paired differences under common random numbers.

Runs of two formulas on the same seeds see the same workload and the same random streams, so
their per-seed differences vary far less than either run; the interval of a comparison is the
interval of those differences (scipy's Student t), not of two independent means.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

__all__ = ["interval", "paired_difference"]


def interval(values: Sequence[float]) -> tuple[float, float]:
    """Mean and 95 % t half-width of the finite `values` (NaN half-width for fewer than two)."""
    finite = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if finite.size == 0:
        return math.nan, math.nan
    mean = float(finite.mean())
    if finite.size < 2:
        return mean, math.nan
    spread = float(finite.std(ddof=1))
    return mean, float(stats.t.ppf(0.975, finite.size - 1) * spread / math.sqrt(finite.size))


def paired_difference(ours: Sequence[float], theirs: Sequence[float]) -> tuple[float, float]:
    """Mean and 95 % half-width of `ours[i] - theirs[i]` over the pairs where both are finite."""
    pairs = [a - b for a, b in zip(ours, theirs, strict=True) if math.isfinite(a) and math.isfinite(b)]
    return interval(pairs)
