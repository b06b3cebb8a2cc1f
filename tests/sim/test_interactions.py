"""Mechanics where two meet (issue 21 §1): each rule of batch-behavior.md holds while another is at work."""

from __future__ import annotations

import pandas as pd
import pytest

from batchsim.sim.config import PoolConfig
from batchsim.sim.engine import run
from batchsim.workload.spec import JobSpec, PrepTaskSpec, TaskSpec, Workload

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
