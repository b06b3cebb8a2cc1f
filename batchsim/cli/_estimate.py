"""How big a run will be, before it starts: the tasks its workload will submit and the memory they
take, so that `mean_per_hour: 1e12` is one clear error instead of a 314 TiB allocation.

The estimate is the workload's expected task count (rates × their spans, bursts, schedules' jobs ×
tasks); traces and task lists are files already in memory, so they count as nothing here.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["BYTES_PER_TASK", "DEFAULT_MAX_TASKS", "check_size", "expected_tasks"]

BYTES_PER_TASK = 3300
"""Peak memory per submitted task, measured: the shipped default scenario for one day at
mean_per_hour 2000 (48,218 tasks) grew the process's peak RSS by 3.2 kB a task, records included."""

DEFAULT_MAX_TASKS = 2_000_000
"""About 6.6 GB at BYTES_PER_TASK: what a laptop holds; `--max-tasks` raises it."""


def _factor(entry: Any, start_s: float, end_s: float) -> float:
    """The mean arrival factor over [start, end) from the entry's rate_factors windows."""
    span = end_s - start_s
    if span <= 0:
        return 0.0
    extra = 0.0
    for window in getattr(entry, "rate_factors", None) or []:
        overlap = min(end_s, window.start + window.duration) - max(start_s, window.start)
        if overlap > 0:
            extra += (window.factor - 1.0) * overlap
    return max(0.0, 1.0 + extra / span)


def _entry_tasks(entry: Any, duration_s: float) -> float:
    start_s = float(getattr(entry, "start", 0.0) or 0.0)
    end_s = min(float(getattr(entry, "end", None) or duration_s), duration_s)
    hours = max(0.0, end_s - start_s) / 3600
    kind = getattr(entry, "kind", "")
    if kind == "poisson":
        return float(entry.rate_per_hour) * hours * _factor(entry, start_s, end_s)
    if kind == "diurnal":
        rates = entry.hourly_rates_per_hour
        mean = float(entry.mean_per_hour) if rates is None else sum(rates) / len(rates)
        weekdays = entry.weekday_factors
        mean *= sum(weekdays) / len(weekdays) if weekdays else 1.0
        return mean * hours * _factor(entry, start_s, end_s)
    if kind == "bursts":
        return float(sum(b.count for b in entry.bursts if b.at < duration_s))
    if kind == "schedule":
        every = entry.recurrence_interval
        first = float(getattr(entry, "do_not_run_until", 0.0) or 0.0)
        count = entry.occurrences or (1 if every is None else max(1, math.ceil((duration_s - first) / every)))
        return float(count * entry.tasks_per_job)
    return 0.0


def expected_tasks(scenario: Any) -> float:
    """The tasks the scenario's workload is expected to submit over its duration."""
    return sum(_entry_tasks(entry, float(scenario.duration)) for entry in scenario.workload)


def _size(n_bytes: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if n_bytes < 1000 or unit == "PB":
            return f"{n_bytes:.3g} {unit}"
        n_bytes /= 1000
    return f"{n_bytes:.3g} PB"


def check_size(scenario: Any, max_tasks: int) -> None:
    """Fail (bad input, exit 1) when the scenario would submit more than `max_tasks` tasks."""
    from batchsim.cli.errors import fail
    from batchsim.report.tables import period_text

    tasks = expected_tasks(scenario)
    if tasks > max_tasks:
        fail(
            f"{scenario.name}: the workload would submit about {tasks:.3g} tasks in {period_text(scenario.duration)}, "
            f"needing about {_size(tasks * BYTES_PER_TASK)} of memory; that is past --max-tasks {max_tasks} "
            "(lower the rates or the duration, or raise --max-tasks)"
        )
