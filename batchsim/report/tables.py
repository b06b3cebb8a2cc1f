"""The words and tables a report shares with the terminal: costs with their period, censored waits,
and measurements across seeds as the command printed them.

A `SeedTable` holds cells already formatted: the command that measured the seeds builds it once
and both prints it and hands it to the report, so the report cannot disagree with the terminal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "HOURS_PER_MONTH",
    "SeedTable",
    "cost_periods",
    "cost_text",
    "period_text",
    "wait_text",
]

HOURS_PER_MONTH = 730.0
"""The month the Azure pricing calculator prices a VM for (730 hours: 365 days × 24 h ÷ 12)."""

_DAY_S = 86400.0
_WEEK_S = 7 * _DAY_S


@dataclass(frozen=True)
class SeedTable:
    """Measurements across seeds, one row per formula or variant, every cell formatted as printed."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str
    """What ± and Δ mean and how many seeds, as the line under the terminal's table."""
    left: int = 1
    """How many leading columns are names (left-aligned); the others are numbers."""


def period_text(horizon_s: float) -> str:
    """A run's horizon as the period its cost covers: "30 days", "1 day", "3 h", "90 min"."""
    if horizon_s >= _DAY_S and math.isclose(horizon_s % _DAY_S, 0.0, abs_tol=1e-6):
        days = round(horizon_s / _DAY_S)
        return "1 day" if days == 1 else f"{days} days"
    if horizon_s >= 3600:
        hours = horizon_s / 3600
        return f"{hours:.0f} h" if math.isclose(hours, round(hours), abs_tol=1e-6) else f"{hours:.1f} h"
    return f"{horizon_s / 60:.0f} min"


def cost_periods(horizon_s: float) -> list[tuple[str, float]]:
    """(period, factor from the run's cost) for each period a cost is shown in: the run's horizon,
    per day, and for runs of a week or more per month (730 h)."""
    if not horizon_s > 0:
        return [("run", 1.0)]
    periods = [(period_text(horizon_s), 1.0)]
    if not math.isclose(horizon_s, _DAY_S):
        periods.append(("day", _DAY_S / horizon_s))
    if horizon_s >= _WEEK_S:
        periods.append(("month", HOURS_PER_MONTH * 3600 / horizon_s))
    return periods


def cost_text(mean: float | None, half: float | None, horizon_s: float) -> str:
    """ "283.23 ± 0.97 USD per 30 days (9.44 ± 0.03 per day, 287.17 ± 0.99 per month)"."""
    if mean is None or not math.isfinite(mean):
        return "–"

    def one(factor: float) -> str:
        text = f"{mean * factor:.2f}"
        if half is not None and math.isfinite(half):
            text += f" ± {abs(half) * factor:.2f}"
        return text

    (period, _), *others = cost_periods(horizon_s)
    text = f"{one(1.0)} USD per {period}"
    if others:
        text += " (" + ", ".join(f"{one(factor)} per {name}" for name, factor in others) + ")"
    return text


def wait_text(summary: Mapping[str, Any], keys: Sequence[str] = ("wait_s_p95",)) -> str:
    """Waits in seconds, "≥"-marked with the count of tasks that never started when the run ended
    before some tasks started (their waits, and so the percentiles, are lower bounds)."""
    censored = bool(summary.get("wait_censored"))
    at_least = "≥ " if censored else ""
    values = []
    for key in keys:
        value = summary.get(key)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        values.append(f"{at_least}{value:.0f} s" if ok else "–")
    figures = " / ".join(values)
    if censored:
        figures += f" ({summary.get('tasks_never_started', 0)} never started)"
    return figures
