"""Mechanics where two meet (issue 21 §1): each rule of batch-behavior.md holds while another is at work."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from batchsim.formula import compile
from batchsim.sim.config import PoolConfig
from batchsim.sim.engine import run
from batchsim.workload.spec import JobSpec, PrepTaskSpec, ScheduleSpec, TaskSpec, Workload

ZERO = {"dedicated": {"dist": "constant", "value": 0}, "spot": {"dist": "constant", "value": 0}}


def pool(**kwargs: object) -> PoolConfig:
    settings: dict[str, object] = {"provisioning_delay": ZERO, "spot": {"eviction_rate_per_hour": 0.0}}
    settings.update(kwargs)
    return PoolConfig.model_validate(settings)


def max_cores_held(nodes: pd.DataFrame, kind: str, vcpus: int) -> int:
    """The most cores a kind's nodes held at once, from the node-state records: a node holds its
    cores from `creating` until it leaves, except while preempted (batch-behavior §6.4)."""
    held = nodes[(nodes["kind"] == kind) & ~nodes["state"].isin(["pending", "preempted"])]
    # A node's consecutive intervals meet end to start: ends sort before starts at the same instant.
    changes = sorted([(s, 1) for s in held["start_s"]] + [(e, -1) for e in held["end_s"]])
    count = most = 0
    for _, delta in changes:
        count += delta
        most = max(most, count)
    return most * vcpus


@pytest.mark.parametrize("priority_a", [100, 0, -100])
def test_a_failed_job_preparation_does_not_starve_other_jobs(priority_a: int) -> None:
    # §4.4: a final preparation failure bars the node from *that* job; §4.1: a node is eligible for
    # a task unless it failed that task's job's preparation, and a task that fits nowhere does not
    # block others. Job B's plain tasks therefore run on the idle node, one after the other.
    jobs = [
        JobSpec("a", priority=priority_a, preparation=PrepTaskSpec(duration_s=30, failure_probability=1.0)),
        JobSpec("b"),
    ]
    work = [TaskSpec(f"a{i}", "a", 0, 100) for i in range(3)] + [TaskSpec(f"b{i}", "b", 60, 100) for i in range(3)]
    result = run(pool(initial_dedicated=1), Workload(jobs=jobs, tasks=work), 3600, 1)
    tasks = result.tasks.set_index("task_id")
    assert (tasks.loc[["b0", "b1", "b2"], "state"] == "completed").all()
    assert tasks.loc[["b0", "b1", "b2"], "end_s"].max() <= 60 + 3 * 100
    assert (tasks.loc[["a0", "a1", "a2"], "state"] == "active").all()  # the only node is barred for job a


def test_a_draining_spot_node_can_still_be_evicted() -> None:
    # §3.4 model 1: every live Spot node, `creating` through `leavingpool`, is evicted at the rate;
    # a node draining its tasks (taskcompletion) is live. Ten nodes drain 10 h tasks at one
    # eviction per node-hour: each is evicted before its task ends with probability 1 - e^-10.
    text = "$TargetLowPriorityNodes = 0; $NodeDeallocationOption = taskcompletion;"
    p = pool(
        initial_spot=10,
        spot={"eviction_rate_per_hour": 1.0},
        autoscale={"formula": text, "interval": "5m"},
    )
    work = [TaskSpec(str(i), "job", 0, 36_000) for i in range(10)]
    result = run(p, Workload(tasks=work), 12 * 3600, 3, formula=compile(text))
    draining = result.nodes[result.nodes["state"] == "leavingpool"]
    assert draining["node_id"].nunique() == 10 and (draining["end_s"] - draining["start_s"]).sum() > 3600
    expected = 10 * (1 - math.exp(-10))
    assert result.summary["preemptions"] >= expected - 2  # Binomial(10, 0.99995): 8 or more


def test_restoring_evicted_spot_nodes_respects_the_spot_core_quota() -> None:
    # §6.4: at most ⌊free cores ÷ vCPUs⌋ nodes, counted from creating to removal, excluding
    # preempted. A restored node holds cores again, so it comes back only while the quota has room.
    text = "$TargetLowPriorityNodes = 3;"
    p = pool(
        vcpus_per_node=2,
        quota={"spot_cores": 4},
        spot={"eviction_rate_per_hour": 2.0, "restore_wait": {"dist": "constant", "value": "10m"}},
        autoscale={"formula": text, "interval": "5m"},
    )
    for seed in range(4):
        result = run(p, Workload(), 6 * 3600, seed, formula=compile(text))
        assert result.summary["preemptions"] > 2
        assert max_cores_held(result.nodes, "spot", 2) <= 4, seed


def test_a_task_whose_node_is_evicted_during_preparation_never_started() -> None:
    # §4.4: tasks wait in `preparing` while the job preparation runs; §4.2: a task starts
    # `running` after it. The node is evicted at 300 s, halfway through a 600 s preparation, and
    # not restored within the run: the task never started.
    jobs = [JobSpec("job", preparation=PrepTaskSpec(duration_s=600))]
    p = pool(
        initial_spot=1,
        spot={
            "eviction_rate_per_hour": 0.0,
            "mass_evictions": [{"at": 300, "fraction": 1.0}],
            "restore_wait": {"dist": "constant", "value": "10h"},
        },
    )
    result = run(p, Workload(jobs=jobs, tasks=[TaskSpec("t", "job", 0, 1000)]), 3600, 1)
    assert result.summary["preemptions"] == 1
    assert result.tasks.loc[0, "state"] == "active"
    assert pd.isna(result.tasks.loc[0, "start_s"])
    assert result.summary["tasks_never_started"] == 1


def test_a_task_started_after_its_preparation_and_image_pull_records_that_start() -> None:
    # The start is when the task runs (§4.2), after preparation (30 s) and the image pull (60 s);
    # an eviction after it does not move it.
    jobs = [JobSpec("job", preparation=PrepTaskSpec(duration_s=30))]
    p = pool(
        initial_spot=1,
        spot={
            "eviction_rate_per_hour": 0.0,
            "mass_evictions": [{"at": 200, "fraction": 1.0}],
            "restore_wait": {"dist": "constant", "value": "10h"},
        },
    )
    work = [TaskSpec("t", "job", 0, 1000, container_image="app:1")]
    result = run(p, Workload(jobs=jobs, tasks=work), 3600, 1)
    assert result.tasks.loc[0, "start_s"] == 90 and result.summary["tasks_never_started"] == 0


def crn_workload() -> Workload:
    """30 tasks in a job of their own, and a schedule whose ten occurrences add 3 tasks each: on a
    small pool the occurrences wait for each other (§4.5) and are submitted later."""
    steady = [TaskSpec(f"s{i}", "steady", 60.0 * i, 120.0, failure_probability=0.5) for i in range(30)]
    occurrence = [TaskSpec(f"t{i}", "", 0.0, 200.0, failure_probability=0.5) for i in range(3)]
    schedule = ScheduleSpec(
        "batch", JobSpec("batch"), occurrences=[occurrence], recurrence_interval_s=600, do_not_run_after_s=5400
    )
    return Workload(tasks=steady, schedules=[schedule])


def test_task_outcomes_are_common_random_numbers_across_pool_sizes() -> None:
    # STYLE / DESIGN §1 (common random numbers): a task attempt's outcome is its own draw, keyed by
    # the task's identity (job, task, attempt), so the same tasks on the same seed succeed or fail
    # alike whatever the pool, however the schedule's occurrences interleave with other work.
    outcomes = []
    for nodes in (1, 4):
        result = run(pool(initial_dedicated=nodes), crn_workload(), 20 * 3600, 7)
        tasks = result.tasks
        assert len(tasks) == 60 and tasks["state"].isin(["completed", "failed"]).all()
        outcomes.append(dict(zip(zip(tasks["job_id"], tasks["task_id"], strict=True), tasks["state"], strict=True)))
    assert outcomes[0] == outcomes[1]
    assert 15 < sum(state == "failed" for state in outcomes[0].values()) < 45  # the draws are live


def test_preparation_outcomes_are_common_random_numbers_across_submission_order() -> None:
    # The same job's preparation on the same node fails or succeeds alike whatever jobs were
    # created before it: the draw is keyed by the job's identity, not its creation order.
    prep = PrepTaskSpec(duration_s=10, failure_probability=0.5)
    barred = []
    for others in (0, 5):
        jobs = [JobSpec(f"other{i}") for i in range(others)] + [JobSpec(f"p{i}", preparation=prep) for i in range(20)]
        work = [TaskSpec("t", f"p{i}", 0, 10) for i in range(20)]
        result = run(pool(initial_dedicated=1), Workload(jobs=jobs, tasks=work), 3600, 2)
        failed = result.attempts[result.attempts["outcome"] == "preparation_failed"]
        barred.append(set(failed["job_id"]))
    assert barred[0] == barred[1] and 3 < len(barred[0]) < 17


def test_the_pools_initial_nodes_are_held_to_the_core_quota() -> None:
    # §6.4: reaching a quota stops the pool with an `Account…QuotaReached` resize error; at most
    # ⌊free cores ÷ vCPUs⌋ nodes. A pool created with 4 two-core nodes under a 4-core quota gets 2.
    p = pool(vcpus_per_node=2, initial_dedicated=4, initial_spot=3, quota={"dedicated_cores": 4, "spot_cores": 6})
    result = run(p, Workload(), 600, 1)
    assert max_cores_held(result.nodes, "dedicated", 2) == 4 and max_cores_held(result.nodes, "spot", 2) == 6
    assert list(result.resize_errors["code"]) == ["AccountCoreQuotaReached"]


def test_a_spot_node_evicted_while_it_retains_task_data_stays_gone() -> None:
    # §1.5 retaineddata keeps a leaving node until its tasks' data expires; §3.4 it is live, so it
    # can be evicted, and then its VM and the node are gone (§3.2): no later state comes back.
    text = '$TargetLowPriorityNodes = time() >= time("2026-01-05T00:05:00Z") ? 0 : 1; $NodeDeallocationOption = retaineddata;'
    p = pool(
        initial_spot=1,
        retention="1h",
        spot={"eviction_rate_per_hour": 0.0, "mass_evictions": [{"at": 1000, "fraction": 1.0}]},
        autoscale={"formula": text, "interval": "5m"},
    )
    result = run(p, Workload(tasks=[TaskSpec("t", "job", 0, 50)]), 7200, 1, formula=compile(text))
    nodes = result.nodes
    assert "retaining" in set(nodes["state"]) and result.summary["preemptions"] == 1
    assert nodes["end_s"].max() == 1000
