"""What an autoscale evaluation reads (`EvalContext`) and what it produces (`AutoScaleRun`).

These two types are the contract between the formula engine and its callers: the simulator
builds an `EvalContext` at every evaluation, `batchsim eval` builds one from a context file
(DESIGN §3), and the exporter compares `AutoScaleRun`s.

Time is kept in integer ticks of 100 ns since the Unix epoch (formula reference Q39), so that
window edges and timestamp equality are exact.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, MutableSequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "TICKS_PER_SECOND",
    "AutoScaleError",
    "AutoScaleRun",
    "EvalContext",
    "SampleSeries",
    "datetime_to_ticks",
    "ticks_to_datetime",
]

TICKS_PER_SECOND = 10_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def datetime_to_ticks(moment: datetime) -> int:
    """A timezone-aware datetime as 100 ns ticks since the Unix epoch (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * TICKS_PER_SECOND + delta.microseconds * 10


def ticks_to_datetime(ticks: int) -> datetime:
    """100 ns ticks since the Unix epoch as a UTC datetime (microsecond resolution)."""
    from datetime import timedelta

    return _EPOCH + timedelta(microseconds=ticks // 10)


@dataclass(slots=True)
class SampleSeries:
    """The sample history of one sampled metric, on a regular grid, oldest first.

    `values[i]` was taken at `first_tick + i * interval_ticks`; a NaN value is a missing
    (dropped) sample. A sample is visible to a formula once `lag_ticks` have passed since it was
    taken, so at evaluation time `now` only samples with time <= now - lag_ticks can be read.
    The simulator appends to `values` as it samples; the list is shared, not copied.
    """

    first_tick: int
    values: MutableSequence[float] = field(default_factory=list)
    interval_ticks: int = 30 * TICKS_PER_SECOND
    lag_ticks: int = 0

    def sample_tick(self, index: int) -> int:
        """The instant sample `index` was taken."""
        return self.first_tick + index * self.interval_ticks

    def visible_count(self, now_tick: int) -> int:
        """How many leading samples are visible at `now_tick` (present or missing)."""
        newest = now_tick - self.lag_ticks - self.first_tick
        if newest < 0:
            return 0
        return min(len(self.values), newest // self.interval_ticks + 1)

    @classmethod
    def ending_at(
        cls, values: list[float], newest_tick: int, interval_ticks: int = 30 * TICKS_PER_SECOND
    ) -> SampleSeries:
        """A series whose newest value was taken at `newest_tick` (the context-file form)."""
        first = newest_tick - (len(values) - 1) * interval_ticks if values else newest_tick
        return cls(first_tick=first, values=[float(v) for v in values], interval_ticks=interval_ticks)


@dataclass(slots=True)
class EvalContext:
    """Everything one autoscale evaluation reads, at the single instant `now_tick` (reference §5.3).

    Scalars are the pool's values when the run starts. `samples` maps a sampled variable's name,
    `$` included (`"$PendingTasks"`), to its history; a metric absent from it has no samples.
    `rng` drives `rand()`; when None, a generator seeded from `now_tick` is used so that a run
    stays reproducible.
    """

    now_tick: int
    target_dedicated_nodes: float = 0.0
    target_low_priority_nodes: float = 0.0
    current_dedicated_nodes: float = 0.0
    current_low_priority_nodes: float = 0.0
    preempted_node_count: float = 0.0
    task_slots_per_node: float = 1.0
    usable_node_count: float | None = None
    node_deallocation_option: str = "requeue"
    samples: Mapping[str, SampleSeries] = field(default_factory=dict)
    rng: np.random.Generator | None = None

    @property
    def now(self) -> datetime:
        """`now_tick` as a UTC datetime."""
        return ticks_to_datetime(self.now_tick)


@dataclass(frozen=True, slots=True)
class AutoScaleError:
    """An evaluation error as the service reports it in `autoScaleRun.error`.

    code: `AutoScalingFormulaEvaluationError` or `InsufficientSampleData`.
    message: the service's fixed message for that code.
    detail: the single `values` entry named `Message`: `Line L, Col C: <detail>`.
    """

    code: str
    message: str
    detail: str

    def as_dict(self) -> dict[str, Any]:
        """The REST shape: `{"code", "message", "values": [{"name": "Message", "value"}]}`."""
        return {"code": self.code, "message": self.message, "values": [{"name": "Message", "value": self.detail}]}


@dataclass(frozen=True, slots=True)
class AutoScaleRun:
    """The outcome of one evaluation, as the service's `AutoScaleRun` plus typed final values.

    results: the results string, byte-identical to the service's (reference §9).
    target_dedicated_nodes / target_low_priority_nodes: the final targets after the
        full-name-wins alias rule, before truncation; equal to the context's current targets
        when the formula did not assign them or when the run failed.
    node_deallocation_option: the final `$NodeDeallocationOption` keyword.
    values: user variables assigned in the run, name (with `$` where written) to value.
    error: None on success.
    """

    timestamp_tick: int
    results: str
    target_dedicated_nodes: float
    target_low_priority_nodes: float
    node_deallocation_option: str
    values: Mapping[str, object]
    error: AutoScaleError | None = None

    @property
    def ok(self) -> bool:
        """True when the run succeeded and its targets apply."""
        return self.error is None

    @property
    def timestamp(self) -> datetime:
        """The run's instant as a UTC datetime."""
        return ticks_to_datetime(self.timestamp_tick)

    def applied_targets(self) -> tuple[int, int]:
        """Targets as the service applies them: truncated toward zero, negatives to 0 (§9.4)."""
        return _apply(self.target_dedicated_nodes), _apply(self.target_low_priority_nodes)


def _apply(target: float) -> int:
    if math.isnan(target) or math.isinf(target) or target <= 0:
        return 0
    return int(target)
