"""The backtest's verdict: does the scenario reproduce the record, metric by metric (docs/history.md).

Two kinds of metric, two rules, one question: could the record have been one more seed?

- A figure the record has too (node-hours, wait p50 and p95, cost): the simulated runs give a
  95 % prediction interval for one run, mean ± t(0.975, K−1) · s · √(1 + 1/K) over the K seeds;
  the metric passes when the record lies inside it, widened by a stated tolerance (the record's
  own measurement error: one-minute node samples, the window's edges).
- A distance (node-count and target MAE, the waits' KS statistic): the record's distance to the
  runs is compared with the distance between two runs (every pair of seeds); it passes when
  it is no larger than the upper end of that between-seeds interval, or than the tolerance.

With one seed there is no spread: the interval is the one value and only the tolerance decides;
the summary says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

__all__ = ["Check", "distance_check", "ks_tolerance", "prediction_interval", "value_check", "verdict"]

# Tolerances (docs/history.md): what the record cannot resolve.
RELATIVE_TOLERANCE = 0.05  # node-hours, cost, waits: 5 % of the simulated mean
WAIT_TOLERANCE_S = 10.0  # waits: at least 10 s (the service's scheduling latency is a few seconds)
NODE_TOLERANCE = 0.5  # node counts and targets: half a node (counts sampled once a minute)
_KS_C95 = 1.358  # the two-sample Kolmogorov–Smirnov critical coefficient at 5 %


def prediction_interval(values: Sequence[float | None]) -> tuple[float, float] | None:
    """The 95 % interval of one more run's value from the runs' values (normal, t with K−1 df)."""
    finite = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if not len(finite):
        return None
    mean = float(finite.mean())
    if len(finite) == 1:
        return mean, mean
    half = float(stats.t.ppf(0.975, len(finite) - 1)) * float(finite.std(ddof=1)) * math.sqrt(1 + 1 / len(finite))
    return mean - half, mean + half


def ks_tolerance(n: int, m: int) -> float:
    """The larger of the KS statistic two independent samples of sizes n and m of one distribution
    stay below 95 % of the time, and 5 % of the tasks (the statistic is a share of tasks: the
    relative tolerance of the other figures). Waits come in congestion episodes, not independently,
    so the first alone is too strict for thousands of tasks."""
    critical = _KS_C95 * math.sqrt((n + m) / (n * m)) if n and m else 1.0
    return max(critical, RELATIVE_TOLERANCE)


@dataclass(frozen=True)
class Check:
    """One metric's verdict: the record, the simulated interval, whether the record is inside."""

    metric: str
    recorded: float
    low: float
    high: float
    inside: bool
    units: str
    rule: str
    distance: bool = False  # the record's distance to the runs, against the distance between runs

    def as_dict(self) -> dict[str, Any]:
        return {
            "recorded": self.recorded,
            "simulated_ci": [self.low, self.high],
            "inside": self.inside,
            "units": self.units,
            "rule": self.rule,
            "compared_with": "between seeds" if self.distance else "simulated",
        }

    def text(self) -> str:
        interval = f"[{_num(self.low)}, {_num(self.high)}]"
        if self.distance:
            return f"{self.metric} {_num(self.recorded)} {self.units} from the record, {interval} between seeds"
        return f"{self.metric} {_num(self.recorded)} {self.units} recorded, simulated {interval}"


def _num(value: float) -> str:
    return f"{value:.4g}"


def value_check(
    metric: str, recorded: float | None, simulated: Sequence[float | None], units: str, *, floor: float = 0.0
) -> Check | None:
    """The record against the runs' prediction interval, widened by 5 % of the mean (at least `floor`)."""
    interval = prediction_interval(simulated)
    if recorded is None or interval is None or not math.isfinite(recorded):
        return None
    low, high = interval
    slack = max(RELATIVE_TOLERANCE * abs((low + high) / 2), floor)
    inside = low - slack <= recorded <= high + slack
    rule = f"inside the 95 % interval of one run, ± {_num(slack)} {units} tolerance"
    return Check(metric, float(recorded), low, high, inside, units, rule)


def distance_check(
    metric: str, to_record: list[float], between_seeds: list[float], units: str, tolerance: float
) -> Check | None:
    """The record's mean distance to the runs against the between-seeds interval (or the tolerance)."""
    values = [v for v in to_record if math.isfinite(v)]
    if not values:
        return None
    recorded = float(np.mean(values))
    interval = prediction_interval(between_seeds) or (0.0, 0.0)
    low, high = max(interval[0], 0.0), max(interval[1], 0.0)
    inside = recorded <= max(high, tolerance)
    rule = f"no farther from the runs than one run from another (or {_num(tolerance)} {units})"
    return Check(metric, recorded, low, high, inside, units, rule, distance=True)


def verdict(checks: list[Check], unchecked: list[str], seeds: int) -> dict[str, Any]:
    """`{reproduces, failing, summary, metrics}`: the record reproduced when every checked metric passes."""
    failing = [c for c in checks if not c.inside]
    caveat = "" if seeds > 1 else "; one seed, so no spread: only the tolerances decided"
    skipped = f" (not checked: {', '.join(unchecked)})" if unchecked else ""
    if not checks:
        summary = "no metric could be checked: the history has neither node counts nor task waits" + skipped
    elif failing:
        summary = "does not reproduce the record: " + "; ".join(c.text() for c in failing) + skipped + caveat
    else:
        summary = (
            f"reproduces the record: all {len(checks)} metrics inside their simulated 95 % intervals "
            f"over {seeds} seeds" + skipped + caveat
        )
    return {
        "reproduces": bool(checks) and not failing,
        "failing": [c.metric for c in failing],
        "summary": summary,
        "metrics": {c.metric: c.as_dict() for c in checks},
    }
