"""The discrete-event engine: a Batch pool of dedicated and Spot nodes running jobs.

`run()` builds one run from its rooms and fires its calendar to the end:

- `calendar.py`: the clock and the callbacks due (the event calendar);
- `state.py`: the shared pool state (nodes and their counts, task counts, targets, records);
- `jobs.py`: jobs, arrivals, dependencies, schedules, preparation and release;
- `scheduler.py`: the queue, placement, attempts, retries;
- `nodes.py`: provisioning, start task, readiness, removal; `faults.py`: unusable and rebooting nodes;
- `capacity.py`: capacity shortages and outages; `resize.py`: targets → allocations and removals, quotas;
- `spot.py`: eviction, reclaims, mass evictions, restore;
- `autoscale.py`: the metric sampler and the evaluation loop;
- `records.py`: the rows a run leaves behind, which `result.py` turns into tables.

Behaviour follows `reference/batch-behavior.md`; each room cites its sections.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NoReturn

from batchsim.collector import collector_paused
from batchsim.formula.context import TICKS_PER_SECOND
from batchsim.sim.autoscale import Autoscale, ProgramLike
from batchsim.sim.calendar import Calendar
from batchsim.sim.capacity import Capacity
from batchsim.sim.config import PoolConfig
from batchsim.sim.faults import Faults
from batchsim.sim.jobs import Jobs
from batchsim.sim.nodes import Nodes
from batchsim.sim.records import Records
from batchsim.sim.resize import Resize
from batchsim.sim.result import Result
from batchsim.sim.scheduler import Scheduler
from batchsim.sim.spot import Spot
from batchsim.sim.state import PoolState
from batchsim.sim.streams import Streams
from batchsim.workload.spec import Workload

__all__ = ["DEFAULT_START_TICK", "ProgramLike", "run"]

DEFAULT_START_TICK = 1_767_571_200 * TICKS_PER_SECOND  # 2026-01-05T00:00:00Z, a Monday


def run(
    pool: PoolConfig,
    workload: Workload,
    duration_s: float,
    seed: int,
    *,
    formula: ProgramLike | None = None,
    start_tick: int = DEFAULT_START_TICK,
    progress: Callable[[float], None] | None = None,
) -> Result:
    """Simulate `duration_s` seconds of a pool running `workload`; see `Result`.

    The result's summary has the engine's keys; the pipeline (`batchsim.simulate`) adds the cost.
    Raises `ValueError` unless `duration_s` is positive.
    """
    if not duration_s > 0:  # NaN too
        raise ValueError(f"the duration to simulate must be positive, got {duration_s!r} s")
    with collector_paused():
        wall = time.perf_counter()
        records = Engine(pool, workload, duration_s, seed, formula=formula, start_tick=start_tick).simulate(progress)
        return Result.from_records(records, wall_s=time.perf_counter() - wall)


class Engine:
    """One run: the rooms on one shared pool state, connected."""

    def __init__(
        self,
        pool: PoolConfig,
        workload: Workload,
        duration_s: float,
        seed: int,
        *,
        formula: ProgramLike | None,
        start_tick: int,
    ) -> None:
        self.duration_s = float(duration_s)
        self.calendar = Calendar()
        self.records = Records(self.duration_s, seed)
        self.state = state = PoolState(pool, self.calendar, self.records)
        streams = Streams(seed)
        self.scheduler = Scheduler(state, streams)
        self.jobs = Jobs(state, streams, self.scheduler, self.duration_s)
        self.nodes = Nodes(state, streams, self.scheduler)
        self.faults = Faults(state, streams, self.scheduler, self.nodes)
        self.capacity = Capacity(state, streams)
        self.resize = Resize(state, streams, self.scheduler, self.nodes, self.capacity)
        self.spot = Spot(state, streams, self.scheduler, self.nodes, self.capacity, self.resize)
        self.autoscale = Autoscale(state, streams, self.resize, formula, start_tick)
        self.scheduler.connect(preparation=self.jobs.preparation, end_job=self.jobs.end_job, leave=self.nodes.leave)
        self.nodes.connect(arm_eviction=self.spot.schedule_eviction, arm_faults=self.faults.arm)
        self.capacity.connect(self.resize.capacity_returned)
        self.jobs.load(workload)

    def simulate(self, progress: Callable[[float], None] | None = None) -> Records:
        """Run to the end and return the records, every node's last interval closed."""
        state = self.state
        config = state.config
        for kind, count in (("dedicated", config.initial_dedicated), ("spot", config.initial_spot)):
            for _ in range(self.resize.within_quota(kind, count)):
                node = state.new_node(kind)  # the pool exists with these nodes ready at t=0
                state.set_state(node, "idle")
                if kind == "spot":
                    self.spot.schedule_eviction(node)
                self.nodes.became_ready(node, initial=True)
        self.jobs.arrive(0)
        self.autoscale.start_sampler()  # after the t=0 submissions, so the first sample sees them
        self.spot.start()
        self.capacity.start()
        self.autoscale.start_evaluations()
        if progress is None:
            self.calendar.run(self.duration_s)
        else:
            step = max(self.duration_s / 100, 1.0)
            t = 0.0
            while t < self.duration_s:
                t = min(t + step, self.duration_s)
                self.calendar.run(t)
                progress(t)
        self.calendar.now = self.duration_s
        self.scheduler.record_starts(self.duration_s)
        for node in state.nodes:
            state.close_interval(node, self.duration_s)
        self.records.events = self.calendar.events
        self._release()
        return self.records

    def _release(self) -> None:
        """Break the run's reference cycles, so that reference counting frees a run as soon as its
        result is dropped: the calendar's pending callbacks and the rooms' callbacks to each other
        (which hold the rooms, and the rooms the records), jobs ↔ their tasks, nodes ↔ their
        running tasks. Left to the cycle collector, every task and record of a run was walked
        twice, alive and as garbage: a sixth of a run on the 50-node day."""
        self.calendar.clear()
        self.scheduler.connect(preparation=_run_over, end_job=_run_over, leave=_run_over)
        self.nodes.connect(arm_eviction=_run_over, arm_faults=_run_over)
        self.capacity.connect(_run_over)
        for job in self.jobs.jobs.values():
            job.tasks = []
        for node in self.state.nodes:
            for task in node.running:
                task.node = None
            node.running.clear()


def _run_over(*_: object) -> NoReturn:
    raise RuntimeError("the run is over: its rooms are disconnected")
