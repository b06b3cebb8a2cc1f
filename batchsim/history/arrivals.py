"""What tasks.csv says beyond rates and durations: the scheduler's latency and batch arrivals.

- **Scheduler latency** (`pool.scheduler_latency`, the engine's delay from a task becoming
  eligible to its start on a free slot): a task created while a node of the pool was idle, and
  with no more tasks created in that minute than the idle nodes had slots, found a free slot
  at once; its wait is the latency. Idle nodes come from node_counts.csv's `idle` column (a pull
  with --resource-id, or any per-minute state counts), checked at the samples before and after
  the creation. The estimate is the median of those waits with the exact order-statistic 95 %
  interval (binomial), which needs no assumption on the latency's distribution.
- **Batch arrivals**: the service adds up to 100 tasks a call (Add Task Collection), so tasks of
  one call share a creation instant. When most tasks share theirs, arrivals are collections:
  their rate (Garwood interval, widened for over-dispersed intervals), their size (mean and its
  t interval), the index of dispersion of the intervals between them (1 for a Poisson
  process; above 1 over-dispersed; bootstrap interval) and the sizes seen, which
  `calibrate --workload fitted` writes as the entry's `collections:` block.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

from batchsim.history.directory import History
from batchsim.history.estimators import Z95, Estimate, poisson_rate
from batchsim.workload.generators import MAX_COLLECTION_SIZE

__all__ = [
    "BATCH_SHARE",
    "Collections",
    "chance_share",
    "collections",
    "rate_clock",
    "rates_vary",
    "scheduler_latency",
    "shared_share",
    "widened",
]

BATCH_SHARE = 0.5  # arrivals are collections when at least half the tasks share a creation instant
_BOOTSTRAP_DRAWS = 2000
_MIN_LATENCY_TASKS = 10  # the exact median interval needs n ≥ 6; 10 gives it a usable width


def _median_interval(values: np.ndarray) -> tuple[float, float]:
    """The distribution-free 95 % interval of a median: order statistics at binomial(n, ½) quantiles."""
    ordered = np.sort(values)
    n = len(ordered)
    low = int(stats.binom.ppf(0.025, n, 0.5))
    high = int(stats.binom.ppf(0.975, n, 0.5))
    return float(ordered[max(low - 1, 0)]), float(ordered[min(high, n - 1)])


def scheduler_latency(history: History) -> tuple[Estimate | None, str]:
    """The latency estimate, or None and why not."""
    counts = history.node_counts
    if counts is None or "idle" not in counts or counts["idle"].isna().all():
        return None, "no idle node counts in node_counts.csv (pull --resource-id records them)"
    tasks = history.tasks
    created = history.seconds(tasks["created"])
    started = history.seconds(tasks["started"])
    once = (tasks["retry_count"].fillna(0).to_numpy() == 0) & (tasks["requeue_count"].fillna(0).to_numpy() == 0)
    known = once & ~np.isnan(created) & ~np.isnan(started)
    if not known.any():
        return None, "no task with both a creation and a start time"
    ordered = counts.sort_values("time")
    sample_s = history.seconds(ordered["time"])
    idle = ordered["idle"].fillna(0).to_numpy(float)
    slots = int(history.pool.get("taskSlotsPerNode") or 1)
    position = np.searchsorted(sample_s, created, side="right") - 1
    inside = (position >= 0) & (position + 1 < len(sample_s))
    before = np.where(inside, idle[np.clip(position, 0, len(idle) - 1)], 0)
    after = np.where(inside, idle[np.clip(position + 1, 0, len(idle) - 1)], 0)
    # Tasks created between the same two samples compete for the idle slots.
    per_interval = pd.Series(position[known]).value_counts()
    crowd = pd.Series(position).map(per_interval).fillna(0).to_numpy(float)
    free = known & inside & (before > 0) & (after > 0) & (crowd <= before * slots)
    waits = (started - created)[free]
    waits = waits[waits >= 0]
    if len(waits) < _MIN_LATENCY_TASKS:
        return None, f"fewer than {_MIN_LATENCY_TASKS} tasks were created while a node was idle"
    low, high = _median_interval(waits)
    return Estimate(float(np.median(waits)), low, high, len(waits), "tasks.csv, node_counts.csv"), ""


class Collections:
    """Batch arrivals of one group: collection rate, size and dispersion, as estimates.

    sizes: how many collections had each size (capped at the service's 100 a call).
    count_dispersion: the variance-to-mean ratio of the task count over a long window, Var S / E S +
    CV² · E S for a renewal process of collections with sizes S (Cox 1962, §3.3, compounded): what
    a Poisson interval on the task count understates.
    """

    def __init__(
        self, rate: Estimate, size: Estimate, dispersion: Estimate, sizes: dict[int, int], count_dispersion: float
    ) -> None:
        self.rate, self.size, self.dispersion = rate, size, dispersion
        self.sizes, self.count_dispersion = sizes, count_dispersion


def widened(rate: Estimate, count_dispersion: float) -> Estimate:
    """A Poisson rate's interval widened for over-dispersed counts (Wald on the log scale, variance × D)."""
    if rate.estimate is None or rate.estimate <= 0 or rate.n <= 0 or not count_dispersion > 1:
        return rate
    half = Z95 * math.sqrt(count_dispersion / rate.n)
    return Estimate(rate.estimate, rate.estimate * math.exp(-half), rate.estimate * math.exp(half), rate.n, rate.source)


def _cv2_interval(gaps: np.ndarray, cv2: float) -> tuple[float, float]:
    """A 95 % interval of the intervals' CV²: the basic bootstrap on the log scale (the gaps of a
    renewal process are independent, so resampling them is valid). The chi-square law of a sample
    variance holds for normal gaps only: on gamma gaps of shape ¼ it covered 25 of 40 histories,
    this one 32 (the sample CV² of heavy-tailed gaps is biased low, which no interval undoes).
    The resampling stream is fixed, so the interval is the same on every run."""
    if len(gaps) < 3 or not math.isfinite(cv2) or cv2 <= 0:
        return math.nan, math.nan
    draws = np.random.default_rng(0).choice(gaps, (_BOOTSTRAP_DRAWS, len(gaps)))
    means = draws.mean(axis=1)
    resampled = draws.var(axis=1, ddof=1) / np.where(means > 0, means, np.nan) ** 2
    low_q, high_q = np.nanquantile(np.log(np.where(resampled > 0, resampled, np.nan)), [0.025, 0.975])
    return float(cv2**2 / math.exp(high_q)), float(cv2**2 / math.exp(low_q))


def shared_share(submit_s: np.ndarray) -> float:
    """The share of tasks whose creation instant (to the millisecond) another task shares."""
    if len(submit_s) == 0:
        return 0.0
    _, sizes = np.unique(np.round(submit_s, 3), return_counts=True)
    return float(sizes[sizes > 1].sum()) / len(submit_s)


def chance_share(submit_s: np.ndarray, window_h: float) -> float:
    """The share of tasks a Poisson process at the tasks' rate would have sharing an instant at the
    times' resolution (the smallest gap between distinct instants, at least 1 ms): 1 − e^(−λδ) for a
    task whose bin of width δ holds another. Whole-second times at 2 tasks a second share 86 %
    by chance, which is not collections."""
    instants = np.unique(np.round(submit_s, 3))
    if len(instants) < 2 or window_h <= 0:
        return 0.0
    resolution_s = max(float(np.diff(instants).min()), 0.001)
    per_s = len(submit_s) / (window_h * 3600)
    return 1.0 - math.exp(-per_s * resolution_s)


def collections(
    submit_s: np.ndarray, window_h: float, clock: Callable[[np.ndarray], np.ndarray] | None = None
) -> Collections | None:
    """The collections among arrivals at `submit_s`, or None when tasks do not come in collections.

    clock: seconds → the arrivals' own clock (their cumulative fitted rate), in which the intervals'
    dispersion is measured, so that a daily cycle is not read as over-dispersion.
    """
    if len(submit_s) < 2:
        return None
    instants, sizes = np.unique(np.round(submit_s, 3), return_counts=True)
    if shared_share(submit_s) < BATCH_SHARE or len(instants) < 3 or chance_share(submit_s, window_h) >= BATCH_SHARE:
        return None
    source = "tasks.csv (collections: tasks sharing a creation instant)"
    rate = poisson_rate(len(instants), window_h, source)
    mean = float(sizes.mean())
    half = float(stats.t.ppf(0.975, len(sizes) - 1)) * float(sizes.std(ddof=1)) / math.sqrt(len(sizes))
    size = Estimate(mean, max(mean - half, 1.0), mean + half, len(sizes), "tasks.csv")
    gaps = np.diff(instants if clock is None else clock(instants))
    # The index of dispersion of the intervals (CV²): 1 for Poisson collections.
    cv2 = float(gaps.var(ddof=1) / gaps.mean() ** 2) if len(gaps) > 1 and gaps.mean() > 0 else math.nan
    low, high = _cv2_interval(gaps, cv2)
    dispersion = Estimate(cv2, low, high, len(gaps), "tasks.csv" if clock is None else "tasks.csv, fitted rates")
    if math.isfinite(cv2) and cv2 > 1 and rate.estimate is not None:
        # A renewal process's count has variance CV² × its mean (Cox 1962, §3.3), not the mean:
        # over-dispersed intervals widen the rate's interval by √CV² (on the log scale).
        rate = widened(rate, cv2)
    # Two calls in one millisecond read as one collection; the service's cap is what a call can be.
    capped = np.minimum(sizes, MAX_COLLECTION_SIZE)
    values, counts = np.unique(capped, return_counts=True)
    size_counts = {int(v): int(c) for v, c in zip(values, counts, strict=True)}
    count_dispersion = float(sizes.var(ddof=1)) / mean + (cv2 if math.isfinite(cv2) else 1.0) * mean
    return Collections(rate, size, dispersion, size_counts, count_dispersion)


def rates_vary(counts: np.ndarray, exposure_h: np.ndarray, count_dispersion: float) -> bool:
    """Whether hourly counts reject one flat rate (Pearson's X² scaled by the counts' dispersion, 1 %)."""
    expected = counts.sum() * exposure_h / exposure_h.sum()
    seen = expected > 0
    statistic = float((((counts - expected) ** 2)[seen] / expected[seen]).sum()) / max(count_dispersion, 1.0)
    return bool(stats.chi2.sf(statistic, max(int(seen.sum()) - 1, 1)) < 0.01)


def rate_clock(rates_per_hour: list[float], weekday_factors: list[float] | None) -> Callable[[np.ndarray], np.ndarray]:
    """Seconds from the window's start → tasks the fitted rates expect by then (the entry's clock)."""

    def clock(t: np.ndarray) -> np.ndarray:
        edges = np.arange(0.0, float(np.max(t)) + 3600.0, 3600.0)
        hours = np.arange(len(edges) - 1)
        per_hour = np.asarray(rates_per_hour)[hours % 24]
        if weekday_factors is not None:
            per_hour = per_hour * np.asarray(weekday_factors)[(hours // 24) % 7]
        cumulative = np.concatenate([[0.0], np.cumsum(per_hour)])
        expected: np.ndarray = np.interp(t, edges, cumulative)
        return expected

    return clock
