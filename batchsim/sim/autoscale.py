"""The metric sampler and the autoscale loop (formula reference §6.5–§7, batch-behavior §1.3–1.4, §5).

One sampler process for the pool (STYLE: lean processes) appends every sampled metric every
`metrics.sample_interval` from t = 0; the formula reads the same lists through its context.
Autoscale is enabled at t = 0 and evaluates on the grid `k · interval`, ~0.1 s late as real runs
are; a successful run sets the targets and resizes, an evaluation error changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import MutableSequence
from typing import Protocol

from batchsim.formula.context import TICKS_PER_SECOND, AutoScaleRun, EvalContext, SampleSeries
from batchsim.formula.symbols import NODE_METRICS, SAMPLED, TASK_METRICS
from batchsim.sim.records import Evaluation
from batchsim.sim.resize import Resize
from batchsim.sim.state import PoolState
from batchsim.sim.streams import Streams

__all__ = ["Autoscale", "ProgramLike"]

_EVALUATION_LATE_S = 0.1  # real runs fall ~0.1 s after the grid (formula reference §7)
# Sampled variables the engine computes; every other one is present and 0 (formula reference §5.3).
_MEASURED = (*TASK_METRICS, *NODE_METRICS, "$CPUPercent")
_SAMPLED_ZERO = tuple(name for name in SAMPLED if name not in _MEASURED)


class ProgramLike(Protocol):
    """A compiled formula (`batchsim.formula.Program`)."""

    def evaluate(self, ctx: EvalContext) -> AutoScaleRun: ...


class Autoscale:
    """Sampling always; evaluations when the pool has a formula."""

    __slots__ = (
        "_measured",
        "_zeros",
        "at",
        "calendar",
        "config",
        "formula",
        "records",
        "resize",
        "rng_autoscale",
        "rng_sample_loss",
        "rng_samples",
        "start_tick",
        "state",
    )

    def __init__(
        self, state: PoolState, streams: Streams, resize: Resize, formula: ProgramLike | None, start_tick: int
    ) -> None:
        self.state = state
        self.calendar = state.calendar
        self.at = state.calendar.at
        self.config = state.config
        self.records = state.records
        self.resize = resize
        self.formula = formula
        self.start_tick = start_tick
        self.rng_autoscale = streams.autoscale
        self.rng_samples = streams.samples
        self.rng_sample_loss = streams.sample_loss
        self._zeros: list[float] = []  # one list shared by every metric that is always 0
        self._measured: list[MutableSequence[float]] = []  # the values of each _MEASURED series, in that order

    # -- sampling -------------------------------------------------------------------------------
    def start_sampler(self) -> None:
        """Create every sampled metric's series and take the t = 0 sample."""
        metrics = self.config.metrics
        lag_ticks = round(metrics.sample_lag * TICKS_PER_SECOND)
        interval_ticks = round(metrics.sample_interval * TICKS_PER_SECOND)
        samples = self.records.samples
        for name in _MEASURED:
            samples[name] = SampleSeries(self.start_tick, [], interval_ticks, lag_ticks)
        self._measured = [samples[name].values for name in _MEASURED]
        for name in _SAMPLED_ZERO:
            samples[name] = SampleSeries(self.start_tick, self._zeros, interval_ticks, lag_ticks)
        self._sample()

    def _sample(self) -> None:
        state = self.state
        active, running = state.active_count, state.running_count
        total_slots = state.ready_slots
        preempted = state.preempted()
        values = (  # in _MEASURED's order
            active,
            running,
            active + running,
            state.succeeded_count,
            state.failed_count,
            preempted if self.config.spot.preempted_count_reported else 0,
            state.current("dedicated") + state.current("spot"),
            100.0 * state.ready_used / total_slots if total_slots else 0.0,
        )
        series = self._measured
        drop = self.config.metrics.sample_drop_probability
        autoscale = self.config.autoscale
        loss = autoscale.sample_loss_fraction if autoscale is not None else 0.0
        if drop > 0 or loss > 0:
            for values_of, value in zip(series, values, strict=True):
                missing = drop > 0 and self.rng_samples.random() < drop
                lost = loss > 0 and self.rng_sample_loss.random() < loss  # drawn apart, so drops keep their draws
                values_of.append(math.nan if missing or lost else float(value))
        else:  # nothing is lost: no draw to make
            for values_of, value in zip(series, values, strict=True):
                values_of.append(float(value))
        self._zeros.append(0.0)
        self.records.sample_times.append(self.calendar.now)
        self.at(self.config.metrics.sample_interval, self._sample)

    # -- evaluations ------------------------------------------------------------------------------
    def start_evaluations(self) -> None:
        """Enable autoscale at t = 0: the first run at enable or after one interval (§1.3)."""
        autoscale = self.config.autoscale
        if self.formula is None or autoscale is None:
            return
        first = 0.0 if autoscale.first_evaluation == "on_enable" else autoscale.interval
        self.at(first + _EVALUATION_LATE_S, self._evaluate)

    def _evaluate(self) -> None:
        assert self.formula is not None and self.config.autoscale is not None
        state = self.state
        now = self.calendar.now
        ctx = EvalContext(
            now_tick=self.start_tick + round(now * TICKS_PER_SECOND),
            target_dedicated_nodes=float(state.target["dedicated"]),
            target_low_priority_nodes=float(state.target["spot"]),
            current_dedicated_nodes=float(state.current("dedicated")),
            current_low_priority_nodes=float(state.current("spot")),
            preempted_node_count=float(state.preempted()),
            usable_node_count=float(state.usable()),
            task_slots_per_node=float(self.config.task_slots_per_node),
            node_deallocation_option=self.config.node_deallocation_option,
            samples=self.records.samples,
            rng=self.rng_autoscale,
        )
        result = self.formula.evaluate(ctx)
        dedicated, spot = result.applied_targets() if result.ok else (state.target["dedicated"], state.target["spot"])
        error = result.error
        self.records.evaluations.append(
            Evaluation(
                now,
                result.results,
                dedicated,
                spot,
                result.node_deallocation_option,
                error.code if error else None,
                error.detail if error else None,
            )
        )
        if result.ok:
            state.target = {"dedicated": dedicated, "spot": spot}
            self.resize.reconcile(result.node_deallocation_option)
        self.at(self.config.autoscale.interval, self._evaluate)
