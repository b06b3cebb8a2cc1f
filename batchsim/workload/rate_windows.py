"""Rate-factor windows: an entry's arrivals multiplied by `factor` from `start` for `duration`.

This is how a scenario says "three times the arrivals for an hour" (the `burst` stress) or "20 %
more work all day" (arrival-rate uncertainty). The entry's own tasks are drawn exactly as without
the window, from the entry's stream; the change is drawn from a separate stream, so a stressed
run and its baseline share every task they have in common (common random numbers):

- factor > 1 adds tasks. A Poisson or diurnal entry gets an independent Poisson process of rate
  (factor − 1) × its rate inside the window (the superposition is the entry at factor × its rate).
  A job schedule adds (factor − 1) × `tasks_per_job` tasks to each job due inside the window, and a
  `bursts` entry (factor − 1) × the count of each burst inside it. A trace has no rate to scale:
  each of its tasks inside the window gets a Poisson(factor − 1) number of copies, with the same
  duration and slots, submitted within 30 s of the original.
- factor < 1 removes tasks: each one inside the window is kept with probability `factor`.
- An entry with `collections` gains and loses whole collections: the added tasks are collections of
  its sizes and interval dispersion at (factor − 1) × its rate, and a factor below 1 keeps each
  collection (its tasks sharing a submission instant) whole with probability `factor`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from batchsim.dist import DurationS
from batchsim.workload.spec import ScheduleSpec, TaskSpec

__all__ = ["COPY_JITTER_S", "RateFactor", "apply_rate_factors", "apply_to_schedule"]

COPY_JITTER_S = 30.0


class RateFactor(BaseModel):
    """Arrivals × `factor` on [start, start + duration) (seconds from the simulation start)."""

    model_config = ConfigDict(extra="forbid")

    start: DurationS = 0.0
    duration: DurationS
    factor: float = Field(ge=0)


def _inside(window: RateFactor, t: float) -> bool:
    return window.start <= t < window.start + window.duration


def apply_rate_factors(
    entry: Any, tasks: list[TaskSpec], end_s: float, rng: np.random.Generator, index: int
) -> list[TaskSpec]:
    """`tasks` of workload entry `index` with every window of `entry.rate_factors` applied."""
    for number, window in enumerate(entry.rate_factors):
        low, high = max(window.start, getattr(entry, "start", 0.0)), min(window.start + window.duration, end_s)
        if high <= low or window.factor == 1:
            continue
        batched = getattr(entry, "collections", None) is not None
        if window.factor < 1 and batched:
            tasks = _thin_collections(tasks, window, rng)
            continue
        if window.factor < 1:
            keep = rng.random(len(tasks)) < window.factor
            tasks = [t for t, k in zip(tasks, keep, strict=True) if k or not _inside(window, t.submit_s)]
            continue
        extra = window.factor - 1
        prefix = f"w{index}-r{number}-"
        if batched:
            added = entry.tasks_at(entry.collection_times(low, high, rng, extra), rng, index)
        elif hasattr(entry, "rate_at") or hasattr(entry, "rate_per_hour"):
            added = entry.tasks_at(_extra_times(entry, extra, low, high, rng), rng, index)
        elif hasattr(entry, "bursts"):
            times = [np.full(round(extra * b.count), b.at) for b in entry.bursts if low <= b.at < high]
            added = entry.tasks_at(np.sort(np.concatenate(times or [np.empty(0)])), rng, index)
        else:
            added = _copies(tasks, window, extra, rng)
        for k, task in enumerate(added):
            task.task_id = f"{prefix}{k}"
        tasks = tasks + added
    return tasks


def _thin_collections(tasks: list[TaskSpec], window: RateFactor, rng: np.random.Generator) -> list[TaskSpec]:
    """Each collection (tasks of one submission instant) inside the window kept whole with probability
    `factor`: fewer calls, each as large as before."""
    instants = sorted({t.submit_s for t in tasks if _inside(window, t.submit_s)})
    keep = dict(zip(instants, rng.random(len(instants)) < window.factor, strict=True))
    return [t for t in tasks if keep.get(t.submit_s, True)]


def _extra_times(entry: Any, extra: float, low: float, high: float, rng: np.random.Generator) -> np.ndarray:
    """Arrival times of a Poisson process of rate `extra` × the entry's rate on [low, high)."""
    if hasattr(entry, "rate_at"):  # a diurnal entry: thinning against its peak
        grid = np.linspace(low, high, 512)
        peak = float(max(entry.rate_at(grid).max(), 0.0)) * extra
        if peak <= 0:
            return np.empty(0)
        count = rng.poisson(peak * (high - low) / 3600)
        times = np.sort(rng.uniform(low, high, count))
        kept: np.ndarray = times[rng.uniform(0, peak, count) < extra * entry.rate_at(times)]
        return kept
    rate = extra * float(entry.rate_per_hour)
    count = rng.poisson(rate * (high - low) / 3600) if rate > 0 else 0
    return np.sort(rng.uniform(low, high, count))


def _copies(tasks: list[TaskSpec], window: RateFactor, extra: float, rng: np.random.Generator) -> list[TaskSpec]:
    added = []
    for task in tasks:
        if not _inside(window, task.submit_s):
            continue
        for _ in range(int(rng.poisson(extra))):
            shift = float(rng.uniform(-COPY_JITTER_S, COPY_JITTER_S))
            submit = min(max(task.submit_s + shift, window.start), window.start + window.duration)
            deadline = None if task.deadline_s is None else task.deadline_s + (submit - task.submit_s)
            added.append(dataclasses.replace(task, submit_s=submit, deadline_s=deadline))
    return added


def apply_to_schedule(entry: Any, schedule: ScheduleSpec, rng: np.random.Generator, index: int) -> None:
    """Jobs of a schedule due inside a window get (factor − 1) × `tasks_per_job` more tasks (or fewer)."""
    interval = schedule.recurrence_interval_s or math.inf
    for number, window in enumerate(entry.rate_factors):
        for k, occurrence in enumerate(schedule.occurrences):
            due_s = schedule.do_not_run_until_s + k * interval
            if not _inside(window, due_s) or window.factor == 1:
                continue
            if window.factor < 1:
                keep = rng.random(len(occurrence)) < window.factor
                schedule.occurrences[k] = [t for t, kept in zip(occurrence, keep, strict=True) if kept]
                continue
            added = entry.tasks_at(np.zeros(round((window.factor - 1) * entry.tasks_per_job)), rng, index)
            for j, task in enumerate(added):
                task.task_id = f"{schedule.schedule_id}-{k}-r{number}-{j}"
            occurrence.extend(added)
