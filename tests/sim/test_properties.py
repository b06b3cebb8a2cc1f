"""Invariants over mixed mechanics (issue 21 §1): random pools where preparation failures, core
quotas, node faults, Spot evictions and restores, drains, job schedules and dependencies all act
at once, each run checked against rules read from the records alone (batch-behavior.md), never
from the engine's own sets of states. Two generators: a composite strategy that draws a whole
pool at once, and a Hypothesis state machine that switches the mechanics on one at a time and
checks after every step. Bounded in the default suite; `pytest -m slow` runs deeper profiles.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from batchsim.cost.prices import DEFAULT_PRICES
from batchsim.formula import compile
from batchsim.pipeline import add_costs
from batchsim.sim.config import PoolConfig
from batchsim.sim.engine import run
from batchsim.sim.result import Result
from batchsim.workload.spec import JobSpec, PrepTaskSpec, ScheduleSpec, TaskSpec, Workload

VCPUS = 2
FORMULA = (
    "p = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 3);"
    "t = p < 70 ? val($PendingTasks.GetSample(1), 0) : avg($PendingTasks.GetSample(TimeInterval_Minute * 3));"
    "n = (t + $TaskSlotsPerNode - 1) / $TaskSlotsPerNode;"
    "$TargetDedicatedNodes = min({dedicated}, n); $TargetLowPriorityNodes = min({spot}, max(0, n - {dedicated}));"
    "$NodeDeallocationOption = {option};"
)
# §2.1 and §6.1, read independently of the engine: a node's VM is billed from `creating` until
# the node leaves, except while it is preempted (the VM is deleted) and before it has a VM.
UNBILLED = frozenset({"pending", "preempted"})
READY = frozenset({"idle", "running"})  # §4.1: the states in which a node takes tasks
TASK_STATES = frozenset({"completed", "failed", "active", "running", "waiting"})


@st.composite
def mixed_runs(draw: st.DrawFn, max_tasks: int = 50) -> tuple[PoolConfig, Workload, float, int]:
    """A pool and a workload with every mechanic possibly on at once, for a 2 h to 4 h run."""
    slots = draw(st.integers(1, 3))
    option = draw(st.sampled_from(["requeue", "terminate", "taskcompletion", "retaineddata"]))
    dedicated_quota = draw(st.sampled_from([None, 2, 4, 6]))
    spot_quota = draw(st.sampled_from([None, 2, 4, 6]))
    spot: dict[str, object] = {
        "eviction_rate_per_hour": draw(st.sampled_from([0.0, 1.0, 4.0])),
        "reclaim_events_per_hour": draw(st.sampled_from([0.0, 1.0])),
        "restore_wait": {"dist": "exponential", "mean": draw(st.sampled_from([60, 600]))},
        "mass_evictions": draw(st.sampled_from([[], [{"at": 1800, "fraction": 0.5}]])),
    }
    if draw(st.booleans()):
        spot |= {"available_mean": "40m", "shortage_mean": "10m"}
    pool = PoolConfig.model_validate(
        {
            "vcpus_per_node": VCPUS,
            "task_slots_per_node": slots,
            "node_fill_type": draw(st.sampled_from(["spread", "pack"])),
            "job_default_order": draw(st.sampled_from(["none", "creationtime"])),
            "initial_dedicated": draw(st.integers(0, 4)),
            "initial_spot": draw(st.integers(0, 4)),
            "provisioning_delay": {
                "dedicated": {"dist": "uniform", "low": 0, "high": 300},
                "spot": {"dist": "uniform", "low": 0, "high": 400},
            },
            "spot": spot,
            "quota": {"dedicated_cores": dedicated_quota, "spot_cores": spot_quota},
            "node_faults": {
                "unusable_rate_per_hour": draw(st.sampled_from([0.0, 0.5])),
                "unusable_recovery": {"dist": "constant", "value": 300},
                "reboot_rate_per_hour": draw(st.sampled_from([0.0, 0.5])),
            },
            "node_deallocation_option": option,
            "retention": "5m",
            "start_task": {
                "duration": {"dist": "constant", "value": draw(st.sampled_from([0, 30]))},
                "failure_probability": draw(st.sampled_from([0.0, 0.2])),
            },
            "scheduler_latency": draw(st.sampled_from([0, 2])),
            "autoscale": {"formula": "$TargetDedicatedNodes = 1;", "interval": "5m"},
        }
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    prep_failure = draw(st.sampled_from([0.0, 0.5, 1.0]))
    jobs = [
        JobSpec("prep", priority=int(rng.integers(-1, 2)), preparation=PrepTaskSpec(60, prep_failure)),
        JobSpec("deps", uses_task_dependencies=True),
        JobSpec("limited", max_wall_clock_s=float(rng.choice([1800.0, 1e9]))),
    ]
    tasks = []
    for i in range(draw(st.integers(0, max_tasks))):
        job = ("prep", "deps", "limited")[i % 3]
        tasks.append(
            TaskSpec(
                str(i),
                job,
                float(rng.uniform(0, 5400)),
                float(rng.exponential(300)),
                required_slots=int(rng.integers(1, slots + 1)),
                depends_on=(str(i - 3),) if job == "deps" and i >= 3 and rng.random() < 0.7 else (),
                max_retry_count=int(rng.integers(-1, 3)),
                max_wall_clock_s=float(rng.choice([600.0, 1e9])),
                failure_probability=float(rng.choice([0.0, 0.3])),
                container_image="app:1" if rng.random() < 0.3 else None,
                input_bytes=float(rng.choice([0.0, 5e8])),
            )
        )
    schedule = ScheduleSpec(
        "nightly",
        JobSpec("nightly", preparation=PrepTaskSpec(30, prep_failure / 2), release=PrepTaskSpec(20)),
        occurrences=[[TaskSpec(f"s{j}", "", 10.0 * j, float(rng.exponential(600))) for j in range(3)]],
        recurrence_interval_s=float(rng.choice([900.0, 1800.0])),
        start_window_s=float(rng.choice([600.0, 1e9])),
    )
    formula = FORMULA.format(dedicated=draw(st.integers(0, 4)), spot=draw(st.integers(0, 4)), option=option)
    pool = pool.model_copy(update={"autoscale": pool.autoscale.model_copy(update={"formula": formula})})  # type: ignore[union-attr]
    workload = Workload(jobs=jobs, tasks=tasks, schedules=[schedule] if draw(st.booleans()) else [])
    return pool, workload, float(draw(st.sampled_from([7200.0, 14_400.0]))), draw(st.integers(0, 1000))


def max_cores_held(nodes: pd.DataFrame, kind: str) -> int:
    """§6.4: the most cores a kind held at once, counted from `creating` to removal, excluding preempted."""
    held = nodes[(nodes["kind"] == kind) & ~nodes["state"].isin(["pending", "preempted"])]
    changes = sorted([(s, 1) for s in held["start_s"]] + [(e, -1) for e in held["end_s"]])  # ends first on ties
    count = most = 0
    for _, delta in changes:
        count += delta
        most = max(most, count)
    return most * VCPUS


def attempts_on_unready_nodes(nodes: pd.DataFrame, attempts: pd.DataFrame) -> list[tuple[str, str, float]]:
    """Attempts that started on a node that was not idle or running at that instant (§4.1)."""
    by_node = {node_id: group for node_id, group in nodes.groupby("node_id")}
    bad = []
    for attempt in attempts.itertuples():
        if attempt.outcome == "jobrelease":
            continue
        intervals = by_node[attempt.node_id]
        t = attempt.start_s
        at = intervals[(intervals["start_s"] <= t) & (t < intervals["end_s"])]
        if attempt.end_s == t:  # killed the instant it started: its running interval was empty
            at = pd.concat([at, intervals[(intervals["start_s"] < t) & (t <= intervals["end_s"])]])
        if not at["state"].isin(READY).any():
            bad.append((attempt.task_id, attempt.node_id, t))
    return bad


def billed_node_s(nodes: pd.DataFrame) -> dict[str, float]:
    """Billed node-seconds by kind, from the state intervals alone (§6.1)."""
    billed = nodes[~nodes["state"].isin(UNBILLED)]
    seconds = (billed["end_s"] - billed["start_s"]).groupby(billed["kind"]).sum()
    return {kind: float(seconds.get(kind, 0.0)) for kind in ("dedicated", "spot")}


def check_invariants(pool: PoolConfig, result: Result, duration_s: float) -> None:
    nodes, tasks, attempts = result.nodes, result.tasks, result.attempts
    # Cores held never exceed a quota (§6.4).
    family = pool.quota.family_cores(pool.vm_family)
    for kind, quota in (
        ("dedicated", pool.quota.dedicated_cores),
        ("spot", pool.quota.spot_cores),
        ("dedicated", family),
    ):
        if quota is not None:
            assert max_cores_held(nodes, kind) <= quota, kind
    # An attempt starts only on a ready node (§4.1).
    assert attempts_on_unready_nodes(nodes, attempts) == []
    # Every task ends in exactly one state, and the counts partition the tasks.
    assert not tasks.duplicated(["job_id", "task_id"]).any()
    assert set(tasks["state"]) <= TASK_STATES
    summary = result.summary
    assert summary["tasks_completed"] + summary["tasks_failed"] + summary["tasks_active_at_end"] + summary[
        "tasks_running_at_end"
    ] == len(tasks)
    completed_attempts = attempts[attempts["outcome"] == "completed"].groupby(["job_id", "task_id"]).size()
    instances = [t.instances for t in result.records.tasks]  # a multi-instance task: one attempt per node
    for task, nodes_held in zip(tasks.itertuples(), instances, strict=True):
        runs = int(completed_attempts.get((task.job_id, task.task_id), 0))
        assert runs == (nodes_held if task.state == "completed" else 0), task
        if task.state in ("completed", "failed"):
            assert task.end_s is not None and not math.isnan(task.end_s)
        if not math.isnan(task.start_s):  # a start is never before the task could run
            assert task.start_s >= task.eligible_s
    # Node-seconds by state sum to each node's life: its intervals follow each other, no gap, no overlap.
    for node_id, group in nodes.sort_values(["node_id", "start_s"]).groupby("node_id"):
        starts, ends = group["start_s"].to_numpy(), group["end_s"].to_numpy()
        assert (ends > starts).all() and (starts[1:] == ends[:-1]).all(), node_id
        assert math.isclose(float((ends - starts).sum()), float(ends[-1] - starts[0]), abs_tol=1e-6)
        assert ends[-1] <= duration_s
    # Billed seconds equal the billed states' seconds, as the bill prices them.
    add_costs(result, DEFAULT_PRICES, VCPUS)
    expected = billed_node_s(nodes)
    summary = result.summary
    assert math.isclose(summary["node_hours_dedicated"] * 3600, expected["dedicated"], rel_tol=1e-9, abs_tol=1e-6)
    assert math.isclose(summary["node_hours_spot"] * 3600, expected["spot"], rel_tol=1e-9, abs_tol=1e-6)


def simulate(case: tuple[PoolConfig, Workload, float, int]) -> tuple[PoolConfig, Result, float]:
    pool, workload, duration_s, seed = case
    assert pool.autoscale is not None and pool.autoscale.formula is not None
    return pool, run(pool, workload, duration_s, seed, formula=compile(pool.autoscale.formula)), duration_s


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed_runs())
def test_invariants_hold_over_mixed_mechanics(case: tuple[PoolConfig, Workload, float, int]) -> None:
    check_invariants(*simulate(case))


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed_runs(max_tasks=200))
def test_invariants_hold_over_mixed_mechanics_deeply(case: tuple[PoolConfig, Workload, float, int]) -> None:
    check_invariants(*simulate(case))


def test_the_checks_catch_a_broken_record() -> None:
    # The checks say no: a node interval moved, a quota exceeded, an attempt on a preempted node.
    pool = PoolConfig.model_validate(
        {
            "vcpus_per_node": VCPUS,
            "initial_spot": 2,
            "quota": {"spot_cores": 4},
            "provisioning_delay": {
                "dedicated": {"dist": "constant", "value": 0},
                "spot": {"dist": "constant", "value": 0},
            },
            "spot": {"eviction_rate_per_hour": 0.0, "mass_evictions": [{"at": 100, "fraction": 1.0}]},
        }
    )
    result = run(pool, Workload(tasks=[TaskSpec("t", "j", 0, 50), TaskSpec("u", "j", 200, 50)]), 3600, 1)
    check_invariants(pool, result, 3600)
    nodes, attempts = result.nodes, result.attempts
    assert max_cores_held(pd.concat([nodes, nodes.iloc[:1].assign(node_id="extra")]), "spot") == 6
    preempted = nodes[nodes["state"] == "preempted"].iloc[0]
    moved = attempts.iloc[:1].assign(node_id=preempted["node_id"], start_s=preempted["start_s"] + 1)
    assert attempts_on_unready_nodes(nodes, moved) != []
    assert billed_node_s(nodes.assign(state="preempted"))["spot"] == 0.0


class MixedMechanics(RuleBasedStateMachine):
    """One pool, its mechanics switched on one rule at a time (Hypothesis picks which, in which
    order); after every step the pool so far is simulated and its records checked."""

    def __init__(self) -> None:
        super().__init__()
        self.settings: dict[str, object] = {
            "vcpus_per_node": VCPUS,
            "task_slots_per_node": 2,
            "initial_dedicated": 1,
            "initial_spot": 1,
            "provisioning_delay": {
                "dedicated": {"dist": "uniform", "low": 0, "high": 300},
                "spot": {"dist": "uniform", "low": 0, "high": 400},
            },
            "spot": {"eviction_rate_per_hour": 0.0},
            "retention": "5m",
        }
        self.targets = (2, 2)
        self.option = "requeue"
        self.jobs: list[JobSpec] = [JobSpec("plain")]
        self.tasks = [TaskSpec(f"p{i}", "plain", 300.0 * i, 400.0) for i in range(8)]
        self.schedules: list[ScheduleSpec] = []
        self.seed = 0

    @rule(failure=st.sampled_from([0.5, 1.0]), priority=st.integers(-1, 1))
    def preparation_failures(self, failure: float, priority: int) -> None:
        job_id = f"prep{len(self.jobs)}"
        self.jobs.append(JobSpec(job_id, priority=priority, preparation=PrepTaskSpec(60, failure)))
        self.tasks += [TaskSpec(f"t{i}", job_id, 200.0 * i, 300.0) for i in range(6)]

    @rule(dedicated=st.sampled_from([2, 4]), spot=st.sampled_from([2, 4, 6]))
    def quotas(self, dedicated: int, spot: int) -> None:
        self.settings["quota"] = {"dedicated_cores": dedicated, "spot_cores": spot}

    @rule(unusable=st.sampled_from([0.0, 1.0]), reboot=st.sampled_from([0.0, 1.0]))
    def faults(self, unusable: float, reboot: float) -> None:
        self.settings["node_faults"] = {
            "unusable_rate_per_hour": unusable,
            "unusable_recovery": {"dist": "constant", "value": 300},
            "reboot_rate_per_hour": reboot,
        }

    @rule(rate=st.sampled_from([1.0, 4.0]), reclaims=st.sampled_from([0.0, 1.0]), mass=st.booleans())
    def spot_evictions(self, rate: float, reclaims: float, mass: bool) -> None:
        self.settings["spot"] = {
            "eviction_rate_per_hour": rate,
            "reclaim_events_per_hour": reclaims,
            "restore_wait": {"dist": "exponential", "mean": 300},
            "mass_evictions": [{"at": 2400, "fraction": 0.5}] if mass else [],
        }

    @rule(
        option=st.sampled_from(["requeue", "terminate", "taskcompletion", "retaineddata"]),
        dedicated=st.integers(0, 3),
        spot=st.integers(0, 3),
    )
    def drains(self, option: str, dedicated: int, spot: int) -> None:
        self.option, self.targets = option, (dedicated, spot)

    @rule(recurrence_s=st.sampled_from([900.0, 1800.0]), window_s=st.sampled_from([600.0, 1e9]))
    def schedule(self, recurrence_s: float, window_s: float) -> None:
        occurrence = [TaskSpec(f"s{j}", "", 10.0 * j, 500.0) for j in range(3)]
        job = JobSpec("sched", preparation=PrepTaskSpec(30, 0.3), release=PrepTaskSpec(20))
        schedule_id = f"sched{len(self.schedules)}"
        self.schedules.append(
            ScheduleSpec(schedule_id, job, [occurrence], recurrence_interval_s=recurrence_s, start_window_s=window_s)
        )

    @rule(failure=st.sampled_from([0.0, 0.5]))
    def dependencies(self, failure: float) -> None:
        job_id = f"deps{len(self.jobs)}"
        self.jobs.append(JobSpec(job_id, uses_task_dependencies=True))
        self.tasks += [
            TaskSpec(
                str(i), job_id, 100.0 * i, 200.0, depends_on=(str(i - 1),) if i else (), failure_probability=failure
            )
            for i in range(6)
        ]

    @rule(seed=st.integers(0, 1000))
    def reseed(self, seed: int) -> None:
        self.seed = seed

    @invariant()
    def records_hold(self) -> None:
        dedicated, spot = self.targets
        formula = FORMULA.format(dedicated=dedicated, spot=spot, option=self.option)
        pool = PoolConfig.model_validate(
            self.settings
            | {"node_deallocation_option": self.option, "autoscale": {"formula": formula, "interval": "5m"}}
        )
        workload = Workload(jobs=self.jobs, tasks=self.tasks, schedules=self.schedules)
        check_invariants(*simulate((pool, workload, 7200.0, self.seed)))


MixedMechanics.TestCase.settings = settings(
    max_examples=5, stateful_step_count=4, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


class TestMixedMechanicsStepByStep(MixedMechanics.TestCase):  # type: ignore[misc,valid-type]
    """The state machine, bounded, in the default suite."""


@pytest.mark.slow
def test_mixed_mechanics_step_by_step_deeply() -> None:
    run_state_machine_as_test(
        MixedMechanics,
        settings=settings(
            max_examples=150, stateful_step_count=10, deadline=None, suppress_health_check=[HealthCheck.too_slow]
        ),
    )
