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
  t interval) and the index of dispersion of the intervals between them (1 for a Poisson
  process; above 1 over-dispersed).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from batchsim.history.directory import History
from batchsim.history.estimators import Z95, Estimate, poisson_rate

__all__ = ["BATCH_SHARE", "Collections", "collections", "scheduler_latency"]

BATCH_SHARE = 0.5  # arrivals are collections when at least half the tasks share a creation instant
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
    """Batch arrivals of one group: collection rate, size and dispersion, as estimates."""

    def __init__(self, rate: Estimate, size: Estimate, dispersion: Estimate) -> None:
        self.rate, self.size, self.dispersion = rate, size, dispersion


def collections(submit_s: np.ndarray, window_h: float) -> Collections | None:
    """The collections among arrivals at `submit_s`, or None when tasks do not come in collections."""
    if len(submit_s) < 2:
        return None
    instants, sizes = np.unique(np.round(submit_s, 3), return_counts=True)
    if sizes[sizes > 1].sum() < BATCH_SHARE * len(submit_s) or len(instants) < 3:
        return None
    source = "tasks.csv (collections: tasks sharing a creation instant)"
    rate = poisson_rate(len(instants), window_h, source)
    mean = float(sizes.mean())
    half = float(stats.t.ppf(0.975, len(sizes) - 1)) * float(sizes.std(ddof=1)) / math.sqrt(len(sizes))
    size = Estimate(mean, max(mean - half, 1.0), mean + half, len(sizes), "tasks.csv")
    gaps = np.diff(instants)
    # The index of dispersion of the intervals (CV²): 1 for Poisson collections. Its interval from
    # the chi-square law of the sample variance, as an approximation for non-normal gaps.
    cv2 = float(gaps.var(ddof=1) / gaps.mean() ** 2) if len(gaps) > 1 and gaps.mean() > 0 else math.nan
    k = len(gaps) - 1
    low = cv2 * k / float(stats.chi2.ppf(0.975, k)) if k > 0 else math.nan
    high = cv2 * k / float(stats.chi2.ppf(0.025, k)) if k > 0 else math.nan
    dispersion = Estimate(cv2, low, high, len(gaps), "tasks.csv")
    if math.isfinite(cv2) and cv2 > 1 and rate.estimate is not None:
        # A renewal process's count has variance CV² × its mean (Cox 1962, §3.3), not the mean:
        # over-dispersed intervals widen the rate's interval by √CV² (on the log scale).
        half = Z95 * math.sqrt(cv2 / len(instants))
        rate = Estimate(rate.estimate, rate.estimate * math.exp(-half), rate.estimate * math.exp(half), rate.n, source)
    return Collections(rate, size, dispersion)
