"""The discrete-event engine: a Batch pool of dedicated and Spot nodes running jobs, on simpy.

Lean by design (STYLE): tasks are records, not processes; every future happening is one simpy
timeout with a callback, and events that a later change makes obsolete (an eviction of a node
that already left, the end of a killed attempt) carry a generation token and are ignored when
they fire. Behaviour follows `reference/batch-behavior.md`; sections are cited where it matters.
"""

from __future__ import annotations

import gc
import heapq
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import numpy as np
import simpy
from simpy.events import NORMAL

from batchsim.formula.context import TICKS_PER_SECOND, AutoScaleRun, EvalContext, SampleSeries
from batchsim.formula.symbols import NODE_METRICS, SAMPLED, TASK_METRICS
from batchsim.sim.config import PoolConfig
from batchsim.sim.records import BILLED_STATES, LIVE_STATES, Job, Node, Task
from batchsim.sim.result import Result
from batchsim.workload.spec import JobSpec, TaskSpec, Workload

__all__ = ["DEFAULT_START_TICK", "PriceLike", "ProgramLike", "run"]

DEFAULT_START_TICK = 1_767_571_200 * TICKS_PER_SECOND  # 2026-01-05T00:00:00Z, a Monday
_READY = frozenset({"idle", "running"})
_EVALUATION_LATE_S = 0.1  # real runs fall ~0.1 s after the grid (formula reference §7)
# Sampled variables the engine computes; every other one is present and 0 (formula reference §5.3).
_MEASURED = (*TASK_METRICS, *NODE_METRICS, "$CPUPercent")
_SAMPLED_ZERO = tuple(name for name in SAMPLED if name not in _MEASURED)


class ProgramLike(Protocol):
    """A compiled formula (`batchsim.formula.Program`)."""

    def evaluate(self, ctx: EvalContext) -> AutoScaleRun: ...


class PriceLike(Protocol):
    """Prices per node-hour (`batchsim.cost.prices.PriceSpec` or the scenario's `prices:`)."""

    dedicated_per_hour: float
    spot_per_hour: float


def vcpus_of(pool: PoolConfig) -> int:
    """vCPUs per node: explicit, else the number in the size name (`Standard_D4s_v5` → 4), else 1."""
    if pool.vcpus_per_node:
        return pool.vcpus_per_node
    match = re.search(r"_[A-Z]+(\d+)", pool.vm_size)
    return int(match.group(1)) if match else 1


class _Call:
    """A due callback on simpy's calendar: the two attributes `Environment.step` reads, and the call."""

    __slots__ = ("_ok", "args", "callback", "callbacks")

    def __init__(self, callbacks: list[Callable[[_Call], None]], callback: Callable[..., None], args: tuple[Any, ...]):
        self.callbacks = callbacks  # shared: step() replaces the attribute, never the list's items
        self._ok = True
        self.callback = callback
        self.args = args


def run(
    pool: PoolConfig,
    workload: Workload,
    duration_s: float,
    seed: int,
    *,
    prices: PriceLike | None = None,
    formula: ProgramLike | None = None,
    start_tick: int = DEFAULT_START_TICK,
    progress: Callable[[float], None] | None = None,
) -> Result:
    """Simulate `duration_s` seconds of a pool running `workload`; see `Result`."""
    with _without_cyclic_gc():
        engine = Engine(pool, workload, duration_s, seed, formula=formula, start_tick=start_tick)
        wall = time.perf_counter()
        engine.simulate(progress)
        return Result.from_engine(engine, prices=prices, wall_s=time.perf_counter() - wall)


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """Pause Python's cycle collector for a run.

    A run keeps every task, node and record alive until it ends, so each full collection walks a
    growing heap for nothing: it took 45 % of a 200,000-task run (benchmarks/bench_engine.py).
    Reference counting still frees the events; the few cycles left are collected afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Engine:
    """One simulation run. Attributes are read by `Result` at the end."""

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
        self.pool = pool
        self.duration_s = float(duration_s)
        self.seed = seed
        self.formula = formula
        self.start_tick = start_tick
        self.env = simpy.Environment()
        self._scheduler_latency_s = float(pool.scheduler_latency)
        self._fire_list: list[Callable[[_Call], None]] = [self._fire]
        self._calendar: list[Any] = self.env._queue  # simpy's own heap: see `at`
        self._event_ids = self.env._eid
        self.now = 0.0
        self.events = 0
        # One stream per source of randomness (STYLE: common random numbers).
        streams = np.random.SeedSequence([seed, 0x6261]).spawn(8)
        self.rng_provision, self.rng_evict, self.rng_reclaim, self.rng_shortage = (
            np.random.default_rng(s) for s in streams[:4]
        )
        self.rng_start_task, self.rng_autoscale, self.rng_samples, self.rng_restore = (
            np.random.default_rng(s) for s in streams[4:]
        )
        self.outcome_entropy = int(streams[0].generate_state(1)[0])
        self.vcpus = vcpus_of(pool)
        # Pool state.
        self.nodes: list[Node] = []
        self.live: dict[str, set[Node]] = {"dedicated": set(), "spot": set()}  # every node not gone
        self.state_count: Counter[tuple[str, str]] = Counter()
        self.ready_slots = 0  # slots of idle and running nodes
        self.ready_used = 0
        self.target = {"dedicated": pool.initial_dedicated, "spot": pool.initial_spot}
        self.shortage = False
        self.open_heap: list[tuple[int, int, Node]] = []
        # Work.
        self.jobs: dict[str, Job] = {}
        self.tasks: list[Task] = []
        self.by_job_id: dict[tuple[str, str], Task] = {}
        self.queue: list[tuple[int, int, int, Task]] = []  # (-priority, job order, task index)
        self.active_count = 0
        self.running_count = 0
        self.succeeded_count = 0
        self.failed_count = 0
        self.preemptions = 0
        self.requeues = 0
        # Records.
        self.node_intervals: list[tuple[str, str, str, float, float, bool]] = []
        self.attempt_log: list[tuple[str, str, str, str, float, float, int, str]] = []
        self.resize_log: list[tuple[float, str, int, int, int]] = []
        self.evaluations: list[tuple[Any, ...]] = []
        self.resize_errors: list[tuple[float, str, str]] = []
        self.sample_times: list[float] = []
        self.samples: dict[str, SampleSeries] = {}
        self._schedule_state: dict[str, Job] = {}
        self._setup_workload(workload)

    # -- event plumbing ----------------------------------------------------------------------
    def at(self, delay_s: float, callback: Callable[..., None], *args: Any) -> None:
        """Call `callback(*args)` `delay_s` from now."""
        # Straight onto simpy's calendar, in the order env.schedule would give: a closure and a
        # simpy.Event per call cost a fifth of a run (benchmarks/bench_engine.py).
        due_s = self.env._now + (delay_s if delay_s > 0 else 0.0)
        heapq.heappush(self._calendar, (due_s, NORMAL, next(self._event_ids), _Call(self._fire_list, callback, args)))
        self.events += 1

    def _fire(self, call: _Call) -> None:
        self.now = self.env._now  # read the clock once per event, not in every handler
        call.callback(*call.args)

    def simulate(self, progress: Callable[[float], None] | None = None) -> None:
        for kind, count in (("dedicated", self.pool.initial_dedicated), ("spot", self.pool.initial_spot)):
            for _ in range(count):
                node = self._new_node(kind)  # the pool exists with these nodes ready at t=0
                self._set_state(node, "idle")
                if kind == "spot":
                    self._schedule_eviction(node)
                self._became_ready(node, initial=True)
        self._arrive(0)
        self._start_sampler()  # after the t=0 submissions, so the first sample sees them
        self._start_spot_processes()
        if self.formula is not None and self.pool.autoscale is not None:
            first = 0.0 if self.pool.autoscale.first_evaluation == "on_enable" else self.pool.autoscale.interval
            self.at(first + _EVALUATION_LATE_S, self._evaluate)
        if progress is None:
            self.env.run(until=self.duration_s)
        else:
            step = max(self.duration_s / 100, 1.0)
            t = 0.0
            while t < self.duration_s:
                t = min(t + step, self.duration_s)
                self.env.run(until=t)
                progress(t)
        self.now = self.duration_s
        for node in self.nodes:
            self._close_interval(node, self.duration_s)

    # -- workload ------------------------------------------------------------------------------
    def _setup_workload(self, workload: Workload) -> None:
        for spec in workload.jobs:
            self._add_job(spec, spec.submit_s)
        self._arrivals: list[TaskSpec] = sorted(workload.tasks, key=lambda t: t.submit_s)
        for schedule in workload.schedules:
            self._start_schedule(schedule)

    def _add_job(self, spec: JobSpec, created_s: float) -> Job:
        job = Job(spec, len(self.jobs), created_s)
        self.jobs[spec.job_id] = job
        if spec.max_wall_clock_s is not None:
            self.at(created_s + spec.max_wall_clock_s - self.now, self._job_timeout, job)
        return job

    def _arrive(self, i: int) -> None:
        """Submit every task due now from arrival `i` on, schedule the next arrival, then dispatch."""
        arrivals = self._arrivals
        now = self.now
        while i < len(arrivals) and arrivals[i].submit_s <= now:
            self._submit(arrivals[i])
            i += 1
        if i < len(arrivals):
            self.at(arrivals[i].submit_s - now, self._arrive, i)
        if self.queue:
            self._dispatch()

    def _submit(self, spec: TaskSpec) -> Task:
        job = self.jobs.get(spec.job_id) or self._add_job(JobSpec(job_id=spec.job_id, submit_s=self.now), self.now)
        task = Task(spec, len(self.tasks), job)
        task.plain = spec.plain
        self.tasks.append(task)
        job.tasks.append(task)
        job.outstanding += 1
        if job.spec.uses_task_dependencies:
            self.by_job_id[(job.spec.job_id, spec.task_id)] = task
        if job.done:  # a terminated job takes no new work
            self._finish(task, "failed", exit_code=None)
            return task
        if job.spec.uses_task_dependencies:
            for dep in self._dependencies(task):
                if dep.state != "completed":
                    task.remaining_deps += 1
                    dep.dependents.append(task)
        if task.remaining_deps == 0:
            self._make_eligible(task)
        return task

    def _dependencies(self, task: Task) -> list[Task]:
        """The tasks `task` depends on, for a job that uses task dependencies."""
        spec = task.spec
        ids = list(spec.depends_on)
        for first, last in spec.depends_on_ranges:
            ids += [str(i) for i in range(first, last + 1)]
        job_id = task.job.spec.job_id
        return [d for d in (self.by_job_id.get((job_id, i)) for i in ids) if d is not None]

    def _make_eligible(self, task: Task) -> None:
        if task.eligible_s is None:
            task.eligible_s = self.now
        task.state = "active"
        self.active_count += 1
        priority = task.job.spec.priority
        heapq.heappush(self.queue, (-priority, task.job.order, task.index, task))

    # -- job schedules (batch-behavior §4.5) ----------------------------------------------------
    def _start_schedule(self, schedule: Any) -> None:
        self.at(schedule.do_not_run_until_s, self._schedule_due, schedule, 0, schedule.do_not_run_until_s)

    def _schedule_due(self, schedule: Any, k: int, due_s: float) -> None:
        if schedule.do_not_run_after_s is not None and due_s > schedule.do_not_run_after_s:
            return
        previous: Job | None = self._schedule_state.get(schedule.schedule_id)
        window = schedule.start_window_s
        if previous is not None and not previous.done:
            if window is not None and self.now - due_s >= window:
                self._schedule_next(schedule, k, due_s)  # this occurrence is skipped
                return
            self.at(min(60.0, self.duration_s), self._schedule_due, schedule, k, due_s)  # wait for it
            return
        spec = JobSpec(
            job_id=f"{schedule.schedule_id}-{k}",
            submit_s=self.now,
            priority=schedule.job.priority,
            max_wall_clock_s=schedule.job.max_wall_clock_s,
            uses_task_dependencies=schedule.job.uses_task_dependencies,
            preparation=schedule.job.preparation,
            release=schedule.job.release,
        )
        job = self._add_job(spec, self.now)
        self._schedule_state[schedule.schedule_id] = job
        occurrence = schedule.occurrences[k % len(schedule.occurrences)] if schedule.occurrences else []
        job.scheduled = len(occurrence)  # the job ends when these tasks are done (onAllTasksComplete)
        for template in occurrence:
            delay = template.submit_s
            task_spec = TaskSpec(
                task_id=template.task_id,
                job_id=spec.job_id,
                submit_s=self.now + delay,
                duration_s=template.duration_s,
                required_slots=template.required_slots,
                depends_on=template.depends_on,
                depends_on_ranges=template.depends_on_ranges,
                max_retry_count=template.max_retry_count,
                max_wall_clock_s=template.max_wall_clock_s,
                failure_probability=template.failure_probability,
                container_image=template.container_image,
                input_bytes=template.input_bytes,
                output_bytes=template.output_bytes,
                deadline_s=None if template.deadline_s is None else self.now + template.deadline_s,
            )
            self.at(delay, self._submit_and_dispatch, task_spec)
        if not occurrence:
            job.done = True
        self._schedule_next(schedule, k, due_s)

    def _schedule_next(self, schedule: Any, k: int, due_s: float) -> None:
        if schedule.recurrence_interval_s is None:
            return
        next_due = due_s + schedule.recurrence_interval_s
        self.at(next_due - self.now, self._schedule_due, schedule, k + 1, next_due)

    def _submit_and_dispatch(self, spec: TaskSpec) -> None:
        self._submit(spec)
        self._dispatch()

    def _job_timeout(self, job: Job) -> None:
        """Job `maxWallClockTime` expired: running tasks are killed, the rest fail (§4.2)."""
        if job.done:
            return
        self._end_job(job)
        for task in list(job.tasks):
            if task.state == "running":
                self._kill(task, requeue=False)
            elif task.state in ("active", "waiting"):
                if task.state == "active":
                    self.active_count -= 1
                self._finish(task, "failed", exit_code=None)
        self._dispatch()

    # -- nodes ------------------------------------------------------------------------------------
    def _new_node(self, kind: str) -> Node:
        node = Node(len(self.nodes), kind, self.pool.task_slots_per_node, self.now)
        self.nodes.append(node)
        self.live[kind].add(node)
        self.state_count[(kind, "pending")] += 1
        return node

    def _set_state(self, node: Node, state: str) -> None:
        """Change a node's state, closing its record interval and keeping the counters true."""
        old = node.state
        if old == state:
            return
        self._close_interval(node, self.now)
        counts = self.state_count
        counts[(node.kind, old)] -= 1
        counts[(node.kind, state)] += 1
        if old in _READY:
            self.ready_slots -= node.slots
            self.ready_used -= node.used_slots
        if state in _READY:
            self.ready_slots += node.slots
            self.ready_used += node.used_slots
        if state == "gone":
            self.live[node.kind].discard(node)
        node.state = state
        node.since_s = self.now

    def _flip_busy(self, node: Node, state: str) -> None:
        """`_set_state` for idle ↔ running, the change every task makes: both states are ready and
        billed, so only the record and the two counters move (a third of a short run's events)."""
        now = self.now
        if now > node.since_s:
            self.node_intervals.append((node.node_id, node.kind, node.state, node.since_s, now, True))
        counts = self.state_count
        counts[node.busy_key if state == "idle" else node.idle_key] -= 1
        counts[node.idle_key if state == "idle" else node.busy_key] += 1
        node.state = state
        node.since_s = now

    def _close_interval(self, node: Node, end_s: float) -> None:
        if end_s > node.since_s and node.state != "gone":
            billed = node.state in BILLED_STATES
            self.node_intervals.append((node.node_id, node.kind, node.state, node.since_s, end_s, billed))
            node.since_s = end_s

    def _cores_in_use(self, kind: str) -> int:
        return (len(self.live[kind]) - self.state_count[(kind, "preempted")]) * self.vcpus

    def _allocate(self, kind: str, count: int) -> None:
        quota = self.pool.quota.dedicated_cores if kind == "dedicated" else self.pool.quota.spot_cores
        if quota is not None:
            allowed = max(0, (quota - self._cores_in_use(kind)) // self.vcpus)
            if allowed < count:
                code = "AccountCoreQuotaReached" if kind == "dedicated" else "AccountLowPriorityCoreQuotaReached"
                self.resize_errors.append((self.now, kind, code))
                count = allowed
        delays = self.pool.provisioning_delay
        dist = delays.dedicated if kind == "dedicated" else delays.spot
        for _ in range(count):
            node = self._new_node(kind)
            if kind == "spot" and self.shortage:
                node.waiting_capacity = True
                self.at(self.pool.resize_timeout, self._capacity_timeout, node, node.generation)
                continue
            self._provision(node, float(dist.sample(self.rng_provision)))

    def _provision(self, node: Node, delay_s: float) -> None:
        """Pending (no VM, not billed), then `creating` for the billed boot, then ready (§2.4)."""
        node.waiting_capacity = False
        boot = min(delay_s, self.pool.provisioning_delay.boot_billed_s)
        self.at(delay_s - boot, self._vm_obtained, node, node.generation, boot)

    def _capacity_timeout(self, node: Node, generation: int) -> None:
        if node.generation == generation and node.waiting_capacity and node.state == "pending":
            self.resize_errors.append((self.now, node.kind, "AllocationTimedout"))
            self._gone(node)
            self._reconcile_later()

    def _vm_obtained(self, node: Node, generation: int, boot_s: float) -> None:
        if node.generation != generation or node.state == "gone":
            return
        self._set_state(node, "creating")
        if node.kind == "spot":
            self._schedule_eviction(node)
        self.at(boot_s, self._booted, node, node.generation)

    def _booted(self, node: Node, generation: int) -> None:
        if node.generation != generation or node.state != "creating":
            return
        start = self.pool.start_task
        duration = float(start.duration.sample(self.rng_start_task))
        if duration <= 0 and start.failure_probability == 0:
            self._set_state(node, "idle")
            self._became_ready(node)
            return
        if not start.wait_for_success:
            self._set_state(node, "idle")
            self._became_ready(node)
            return
        self._set_state(node, "waitingforstarttask")
        self.at(duration, self._start_task_done, node, node.generation, 0)

    def _start_task_done(self, node: Node, generation: int, attempt: int) -> None:
        if node.generation != generation or node.state != "waitingforstarttask":
            return
        start = self.pool.start_task
        if self.rng_start_task.random() >= start.failure_probability:
            self._set_state(node, "idle")
            self._became_ready(node)
        elif attempt < start.max_retry_count:
            duration = float(start.duration.sample(self.rng_start_task))
            self.at(duration, self._start_task_done, node, generation, attempt + 1)
        else:
            self._set_state(node, "starttaskfailed")  # unusable, still billed (§2.2)

    def _became_ready(self, node: Node, initial: bool = False) -> None:
        self._push_open(node)
        if not initial:
            self._dispatch()

    def _gone(self, node: Node) -> None:
        self._set_state(node, "gone")
        node.generation += 1

    # -- spot (batch-behavior §3) -------------------------------------------------------------------
    def _schedule_eviction(self, node: Node) -> None:
        rate = self.pool.spot.eviction_rate_per_hour
        if rate > 0:
            self.at(float(self.rng_evict.exponential(3600.0 / rate)), self._evict, node, node.generation)

    def _evict(self, node: Node, generation: int) -> None:
        if node.generation != generation or node.state not in LIVE_STATES:
            return
        self._preempt(node)
        self._dispatch()

    def _preempt(self, node: Node) -> None:
        for task in sorted(node.running, key=_task_index):  # sets iterate in memory order
            self._kill(task, requeue=True)
        node.generation += 1
        self._set_state(node, "preempted")
        node.images.clear()  # the VM and its local data are deleted
        node.prep_ready_s.clear()
        node.barred_jobs.clear()
        node.draining = False
        self.preemptions += 1
        node.restore_deadline_s = self.now + self.pool.spot.restore_give_up
        self._schedule_restore(node)

    def _schedule_restore(self, node: Node) -> None:
        wait = float(self.pool.spot.restore_wait.sample(self.rng_restore))
        self.at(wait, self._restore, node, node.generation)

    def _restore(self, node: Node, generation: int) -> None:
        """A preempted node comes back under the same ID through creating/starting (§3.2)."""
        if node.generation != generation or node.state != "preempted":
            return
        if self.now >= node.restore_deadline_s:
            self._gone(node)
            self._reconcile_later()
            return
        if self.shortage:
            self._schedule_restore(node)
            return
        self._vm_obtained(node, node.generation, self.pool.provisioning_delay.boot_billed_s)

    def _start_spot_processes(self) -> None:
        spot = self.pool.spot
        if spot.reclaim_events_per_hour > 0:
            self.at(float(self.rng_reclaim.exponential(3600.0 / spot.reclaim_events_per_hour)), self._reclaim)
        if spot.available_mean is not None:
            self.at(float(self.rng_shortage.exponential(spot.available_mean)), self._shortage_begins)

    def _reclaim(self) -> None:
        """A correlated capacity reclaim: each live Spot node is evicted with probability f (§3.4)."""
        spot = self.pool.spot
        fraction = float(self.rng_reclaim.beta(spot.reclaim_fraction_alpha, spot.reclaim_fraction_beta))
        for node in sorted(self.live["spot"], key=_index):  # index order: draws stay reproducible
            if node.state in LIVE_STATES and self.rng_reclaim.random() < fraction:
                self._preempt(node)
        self._dispatch()
        self.at(float(self.rng_reclaim.exponential(3600.0 / spot.reclaim_events_per_hour)), self._reclaim)

    def _shortage_begins(self) -> None:
        self.shortage = True
        assert self.pool.spot.shortage_mean is not None
        self.at(float(self.rng_shortage.exponential(self.pool.spot.shortage_mean)), self._shortage_ends)

    def _shortage_ends(self) -> None:
        self.shortage = False
        dist = self.pool.provisioning_delay.spot
        for node in sorted(self.live["spot"], key=_index):
            if node.waiting_capacity and node.state == "pending":
                self._provision(node, float(dist.sample(self.rng_provision)))
        assert self.pool.spot.available_mean is not None
        self.at(float(self.rng_shortage.exponential(self.pool.spot.available_mean)), self._shortage_begins)

    # -- resize (batch-behavior §1.4–1.5) -------------------------------------------------------------
    def _counted(self, kind: str) -> list[Node]:
        """Nodes that count toward the target: not gone, not leaving (preempted ones included)."""
        nodes = [n for n in self.live[kind] if n.state not in ("leavingpool", "retaining") and not n.draining]
        nodes.sort(key=_index)  # sets iterate in memory order: sort so runs are reproducible
        return nodes

    def _reconcile_later(self) -> None:
        self.at(0.0, self._reconcile, self.pool.node_deallocation_option)

    def _reconcile(self, option: str) -> None:
        for kind in ("dedicated", "spot"):
            counted = self._counted(kind)
            target = self.target[kind]
            preempted = sum(1 for n in counted if n.state == "preempted")
            self.resize_log.append((self.now, kind, len(counted), target, preempted))
            if len(counted) < target:
                self._allocate(kind, target - len(counted))
            elif len(counted) > target:
                for node in heapq.nsmallest(len(counted) - target, counted, key=_removal_order):
                    self._remove(node, option)
        self._dispatch()

    def _remove(self, node: Node, option: str) -> None:
        """Take a node out of the pool with the deallocation option's effect on its tasks (§1.5)."""
        if node.state in ("pending", "preempted"):
            self._gone(node)  # an unstarted allocation is cancelled; a preempted node is released
            return
        node.generation += 1  # no eviction or readiness for a leaving node
        node.removal_option = option
        if option in ("requeue", "terminate") or not node.running:
            for task in sorted(node.running, key=_task_index):  # sets iterate in memory order
                self._kill(task, requeue=option != "terminate")
            self._leave(node)
        else:
            node.draining = True  # taskcompletion / retaineddata: running tasks finish, nothing new starts
            self._set_state(node, "leavingpool")

    def _leave(self, node: Node) -> None:
        node.draining = True
        if node.removal_option == "retaineddata" and self.pool.retention > 0 and node.state == "leavingpool":
            self._set_state(node, "retaining")
            self.at(self.pool.retention, self._leave_now, node)
            return
        self._leave_now(node)

    def _leave_now(self, node: Node) -> None:
        self._set_state(node, "leavingpool")
        self.at(self.pool.removal_delay, self._left, node)

    def _left(self, node: Node) -> None:
        self._gone(node)

    # -- scheduling (batch-behavior §4.1) --------------------------------------------------------------
    def _push_open(self, node: Node) -> None:
        free = node.slots - node.used_slots
        if free > 0 and node.schedulable:
            key = -free if self.pool.node_fill_type == "spread" else free
            heapq.heappush(self.open_heap, (key, node.index, node))

    def _pick_node(self, slots: int, job_id: str) -> Node | None:
        """The node for a task: spread → most free slots, pack → fullest that fits; lowest index on ties."""
        heap = self.open_heap
        spread = self.pool.node_fill_type == "spread"
        skipped: list[tuple[int, int, Node]] = []
        chosen = None
        while heap:
            key, _, node = heap[0]
            free = node.slots - node.used_slots
            if free <= 0 or key != (-free if spread else free) or node.draining or node.state not in _READY:
                heapq.heappop(heap)  # stale entry
                continue
            if free >= slots and job_id not in node.barred_jobs:
                chosen = node
                break
            skipped.append(heapq.heappop(heap))
        for entry in skipped:
            heapq.heappush(heap, entry)
        return chosen

    def _dispatch(self) -> None:
        """Start queued tasks while some node has room; a task that fits nowhere does not block others."""
        blocked: list[tuple[int, int, int, Task]] = []
        queue = self.queue
        while queue and self.open_heap:
            entry = heapq.heappop(queue)
            task = entry[3]
            if task.state != "active":
                continue
            node = self._pick_node(task.spec.required_slots, task.job.spec.job_id)
            if node is None:
                blocked.append(entry)
                if task.spec.required_slots == 1:
                    break
                continue
            self._start_attempt(task, node)
        for entry in blocked:
            heapq.heappush(queue, entry)

    def _start_attempt(self, task: Task, node: Node) -> None:
        spec = task.spec
        self.active_count -= 1
        self.running_count += 1
        task.state = "running"
        task.node = node
        task.attempts += 1
        task.token += 1
        task.placed_s = self.now
        node.used_slots += spec.required_slots
        self.ready_used += spec.required_slots  # the node is idle or running: ready
        node.running.add(task)
        if node.state == "idle":
            self._flip_busy(node, "running")
        self._push_open(node)
        start_s = self.now + self._scheduler_latency_s
        job = task.job
        if task.plain and job.spec.preparation is None:  # no preparation, image, staging, failure or limit
            if task.first_start_s is None:
                task.first_start_s = start_s
            task.attempt_start_s = start_s
            self.at(start_s + spec.duration_s - self.now, self._attempt_ended, task, task.token, "completed")
            return
        if job.spec.preparation is not None:
            start_s = max(start_s, self._preparation(node, job))
            if job.spec.job_id in node.barred_jobs:  # preparation failed: back to the queue
                self.at(start_s - self.now, self._prep_failed, task, task.token)
                return
        if spec.container_image is not None and spec.container_image not in node.images:
            node.images.add(spec.container_image)
            start_s += float(self.pool.container.image_pull.sample(self._task_rng(task, 1)))
        bandwidth = self.pool.storage_bandwidth_bytes_per_s
        start_s += spec.input_bytes / bandwidth
        if task.first_start_s is None:
            task.first_start_s = start_s
        task.attempt_start_s = start_s
        run_s = spec.duration_s
        failed = spec.failure_probability > 0 and self._task_rng(task, 0).random() < spec.failure_probability
        timeout = spec.max_wall_clock_s is not None and run_s > spec.max_wall_clock_s
        if timeout:
            run_s = spec.max_wall_clock_s  # type: ignore[assignment]
        end_s = start_s + run_s + (0.0 if timeout else spec.output_bytes / bandwidth)
        outcome = "failed" if failed or timeout else "completed"
        self.at(end_s - self.now, self._attempt_ended, task, task.token, outcome)

    def _task_rng(self, task: Task, purpose: int) -> np.random.Generator:
        """A stream for one task attempt's own draws, independent of the simulation's history."""
        return np.random.default_rng([self.outcome_entropy, task.index, task.attempts, purpose])

    def _preparation(self, node: Node, job: Job) -> float:
        """When the job's preparation task is done on `node`, starting it now if it never ran (§4.4)."""
        job_id = job.spec.job_id
        if job_id not in node.prep_ready_s:
            prep = job.spec.preparation
            assert prep is not None
            rng = np.random.default_rng([self.outcome_entropy, node.index, job.order, 7])
            node.prep_ready_s[job_id] = self.now + prep.duration_s
            if prep.wait_for_success and rng.random() < prep.failure_probability:
                node.barred_jobs.add(job_id)
        return node.prep_ready_s[job_id]

    def _prep_failed(self, task: Task, token: int) -> None:
        if task.token == token and task.state == "running":
            self._release_slot(task, "preparation_failed")
            self.running_count -= 1
            task.attempts -= 1  # the task itself never started
            self._make_eligible(task)
            self._dispatch()

    def _attempt_ended(self, task: Task, token: int, outcome: str) -> None:
        if task.token != token or task.state != "running":
            return
        node = self._release_slot(task, outcome)
        self.running_count -= 1
        if outcome == "completed":
            self._finish(task, "completed", exit_code=0)
        elif task.spec.max_retry_count == -1 or task.attempts <= task.spec.max_retry_count:
            self._make_eligible(task)  # retry (§4.2)
        else:
            self._finish(task, "failed", exit_code=task.spec.failure_exit_code)
        if node is not None and node.draining and not node.running and node.state == "leavingpool":
            self._leave(node)
        self._dispatch()

    def _release_slot(self, task: Task, outcome: str) -> Node | None:
        node = task.node
        task.node = None
        if node is None:
            return None
        self.attempt_log.append(
            (
                task.spec.task_id,
                task.job.spec.job_id,
                node.node_id,
                node.kind,
                task.placed_s,
                self.now,
                task.spec.required_slots,
                outcome,
            )
        )
        node.running.discard(task)
        slots = task.spec.required_slots
        node.used_slots -= slots
        if node.state in _READY:
            self.ready_used -= slots
            if not node.running and node.state == "running" and not node.draining:
                self._flip_busy(node, "idle")
        self._push_open(node)
        return node

    def _kill(self, task: Task, *, requeue: bool) -> None:
        """End a running attempt now: requeue it (shrink with requeue, preemption) or fail it."""
        task.token += 1
        self._release_slot(task, "requeued" if requeue else "killed")
        self.running_count -= 1
        if requeue:
            task.requeues += 1
            self.requeues += 1
            self._make_eligible(task)
        else:
            self._finish(task, "failed", exit_code=None)

    def _finish(self, task: Task, state: str, exit_code: int | None) -> None:
        task.state = state
        task.end_s = self.now
        task.exit_code = exit_code
        if state == "completed":
            self.succeeded_count += 1
            for dependent in task.dependents:
                dependent.remaining_deps -= 1
                if dependent.remaining_deps == 0 and dependent.state == "waiting":
                    self._make_eligible(dependent)
        else:
            self.failed_count += 1  # dependents stay blocked (dependencyAction block, §4.2)
        job = task.job
        job.outstanding -= 1
        job.finished += 1
        if job.scheduled and job.finished >= job.scheduled and not job.done:
            self._end_job(job)

    def _end_job(self, job: Job) -> None:
        """A job ends: its release task runs on every live node that ran its preparation (§4.4)."""
        job.done = True
        job.ended_s = self.now
        release = job.spec.release
        if release is None:
            return
        job_id = job.spec.job_id
        for kind in ("dedicated", "spot"):
            for node in sorted(self.live[kind], key=_index):
                if job_id in node.prep_ready_s and node.state in LIVE_STATES:
                    duration = min(release.duration_s, release.max_wall_clock_s or 900.0)
                    self.attempt_log.append(
                        (
                            f"{job_id}-jobrelease",
                            job_id,
                            node.node_id,
                            node.kind,
                            self.now,
                            self.now + duration,
                            0,
                            "jobrelease",
                        )
                    )
                    job.ended_s = max(job.ended_s, self.now + duration)

    # -- metrics and autoscale (formula reference §6.5, batch-behavior §5) -----------------------------
    def _start_sampler(self) -> None:
        interval = self.pool.metrics.sample_interval
        lag_ticks = round(self.pool.metrics.sample_lag * TICKS_PER_SECOND)
        interval_ticks = round(interval * TICKS_PER_SECOND)
        zeros: list[float] = []
        self._zeros = zeros
        for name in _MEASURED:
            self.samples[name] = SampleSeries(self.start_tick, [], interval_ticks, lag_ticks)
        for name in _SAMPLED_ZERO:
            self.samples[name] = SampleSeries(self.start_tick, zeros, interval_ticks, lag_ticks)
        self._sample()

    def _preempted(self) -> int:
        return self.state_count[("spot", "preempted")] + self.state_count[("dedicated", "preempted")]

    def _sample(self) -> None:
        preempted = self._preempted()
        total_slots, used = self.ready_slots, self.ready_used
        in_pool = self._current("dedicated") + self._current("spot")
        values = {
            "$ActiveTasks": self.active_count,
            "$RunningTasks": self.running_count,
            "$PendingTasks": self.active_count + self.running_count,
            "$SucceededTasks": self.succeeded_count,
            "$FailedTasks": self.failed_count,
            "$PreemptedNodeCount": preempted if self.pool.spot.preempted_count_reported else 0,
            "$SampleNodeCount": in_pool,
            "$CPUPercent": 100.0 * used / total_slots if total_slots else 0.0,
        }
        drop = self.pool.metrics.sample_drop_probability
        for name, value in values.items():
            missing = drop > 0 and self.rng_samples.random() < drop
            self.samples[name].values.append(math.nan if missing else float(value))
        self._zeros.append(0.0)
        self.sample_times.append(self.now)
        self.at(self.pool.metrics.sample_interval, self._sample)

    def _current(self, kind: str) -> int:
        """Nodes the service lists for a kind: every node with a VM (pending and gone excluded)."""
        return len(self.live[kind]) - self.state_count[(kind, "pending")]

    def _evaluate(self) -> None:
        assert self.formula is not None and self.pool.autoscale is not None
        preempted = self._preempted()
        ctx = EvalContext(
            now_tick=self.start_tick + round(self.now * TICKS_PER_SECOND),
            target_dedicated_nodes=float(self.target["dedicated"]),
            target_low_priority_nodes=float(self.target["spot"]),
            current_dedicated_nodes=float(self._current("dedicated")),
            current_low_priority_nodes=float(self._current("spot")),
            preempted_node_count=float(preempted),
            task_slots_per_node=float(self.pool.task_slots_per_node),
            node_deallocation_option=self.pool.node_deallocation_option,
            samples=self.samples,
            rng=self.rng_autoscale,
        )
        result = self.formula.evaluate(ctx)
        dedicated, spot = result.applied_targets() if result.ok else (self.target["dedicated"], self.target["spot"])
        error = result.error
        self.evaluations.append(
            (
                self.now,
                result.results,
                dedicated,
                spot,
                result.node_deallocation_option,
                error.code if error else None,
                error.detail if error else None,
            )
        )
        if result.ok:
            self.target = {"dedicated": dedicated, "spot": spot}
            self._reconcile(result.node_deallocation_option)
        self.at(self.pool.autoscale.interval, self._evaluate)


def _removal_order(node: Node) -> tuple[int, int, int]:
    """Shrink order (batch-behavior §1.5): preempted, failed, not ready, idle, then least busy."""
    rank = {"preempted": 0, "starttaskfailed": 1, "pending": 2, "creating": 3, "waitingforstarttask": 3, "idle": 4}
    return rank.get(node.state, 5), node.used_slots, -node.index


def _index(node: Node) -> int:
    return node.index


def _task_index(task: Task) -> int:
    return task.index
