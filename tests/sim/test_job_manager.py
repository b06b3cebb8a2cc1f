"""Job manager tasks (issue 24 §2), from REST "Job - Add", `jobManagerTask`
(https://learn.microsoft.com/rest/api/batchservice/job/add#jobmanagertask):

- "The Job Manager Task is automatically started when the Job is created. The Batch service tries
  to schedule the Job Manager Task before any other Tasks in the Job."
- `killJobOnCompletion`: "If true, when the Job Manager Task completes, the Batch service marks the
  Job as complete. If any Tasks are still running at this time (other than Job Release), those
  Tasks are terminated. ... The default value is true." (terminateReason `JMComplete`, §4.5.)
- `runExclusive`: "If true, no other Tasks will run on the same Node for as long as the Job Manager
  is running. If false, other Tasks can run simultaneously with the Job Manager on a Compute Node.
  ... The default value is true."
"""

from __future__ import annotations

import pytest

from batchsim import simulate
from batchsim.scenario import load_scenario
from batchsim.sim.config import PoolConfig
from batchsim.sim.engine import run
from batchsim.workload.spec import JobManagerSpec, JobSpec, ScheduleSpec, TaskSpec, Workload

ZERO = {"dedicated": {"dist": "constant", "value": 0}, "spot": {"dist": "constant", "value": 0}}


def pool(nodes: int, slots: int = 1) -> PoolConfig:
    return PoolConfig.model_validate(
        {
            "provisioning_delay": ZERO,
            "spot": {"eviction_rate_per_hour": 0.0},
            "initial_dedicated": nodes,
            "task_slots_per_node": slots,
        }
    )


def tasks_of(result: object) -> object:
    return result.tasks.set_index("task_id")  # type: ignore[attr-defined]


def test_the_job_manager_is_scheduled_before_the_jobs_tasks() -> None:
    manager = JobManagerSpec(duration_s=100, kill_job_on_completion=False)
    work = Workload(jobs=[JobSpec("j", job_manager=manager)], tasks=[TaskSpec(f"t{i}", "j", 0, 50) for i in range(3)])
    tasks = tasks_of(run(pool(1), work, 3600, 1))
    assert tasks.loc["jobmanager", "start_s"] == 0.0
    assert list(tasks.loc[["t0", "t1", "t2"], "start_s"]) == [100.0, 150.0, 200.0]


def test_a_schedules_job_starts_its_manager_first() -> None:
    # A job schedule's job: the manager is submitted at the job's creation, before its tasks.
    manager = JobManagerSpec(duration_s=100, kill_job_on_completion=False)
    schedule = ScheduleSpec("s", JobSpec("s", job_manager=manager), [[TaskSpec("t", "", 0, 50)]])
    tasks = tasks_of(run(pool(1), Workload(schedules=[schedule]), 3600, 1))
    assert tasks.loc["jobmanager", "start_s"] == 0.0
    assert tasks.loc["t", "start_s"] == 100.0


def test_kill_job_on_completion_terminates_the_running_tasks() -> None:
    work = Workload(
        jobs=[JobSpec("j", job_manager=JobManagerSpec(duration_s=100, run_exclusive=False))],
        tasks=[TaskSpec("long", "j", 0, 1000), TaskSpec("late", "j", 500, 10)],
    )
    result = run(pool(2), work, 3600, 1)
    tasks = tasks_of(result)
    assert tasks.loc["jobmanager", "state"] == "completed"
    assert tasks.loc["long", "state"] == "failed"
    assert tasks.loc["long", "end_s"] == pytest.approx(100.0)
    assert tasks.loc["late", "state"] == "failed"  # a completed job takes no task
    assert [(a.task_id, a.reason) for a in result.records.job_actions] == [("jobmanager", "JMComplete")]


def test_without_kill_job_on_completion_the_job_goes_on() -> None:
    manager = JobManagerSpec(duration_s=100, run_exclusive=False, kill_job_on_completion=False)
    work = Workload(jobs=[JobSpec("j", job_manager=manager)], tasks=[TaskSpec("long", "j", 0, 1000)])
    result = run(pool(2), work, 3600, 1)
    assert tasks_of(result).loc["long", "state"] == "completed"
    assert result.records.job_actions == []


@pytest.mark.parametrize(("exclusive", "start_s"), [(True, 100.0), (False, 0.0)])
def test_run_exclusive_keeps_other_tasks_off_the_managers_node(exclusive: bool, start_s: float) -> None:
    manager = JobManagerSpec(duration_s=100, run_exclusive=exclusive, kill_job_on_completion=False)
    work = Workload(
        jobs=[JobSpec("j", job_manager=manager), JobSpec("other")],
        tasks=[TaskSpec("t", "j", 0, 50), TaskSpec("o", "other", 0, 50)],
    )
    tasks = tasks_of(run(pool(1, slots=4), work, 3600, 1))
    assert tasks.loc["jobmanager", "start_s"] == 0.0
    assert tasks.loc["t", "start_s"] == start_s
    assert tasks.loc["o", "start_s"] == start_s  # any job's task: "no other Tasks"


def test_run_exclusive_waits_for_an_empty_node() -> None:
    manager = JobManagerSpec(duration_s=100, kill_job_on_completion=False)
    work = Workload(
        jobs=[JobSpec("busy"), JobSpec("j", submit_s=10, job_manager=manager)],
        tasks=[TaskSpec("b", "busy", 0, 300)],
    )
    tasks = tasks_of(run(pool(1, slots=4), work, 3600, 1))
    assert tasks.loc["jobmanager", "start_s"] == 300.0  # three free slots were not enough


def test_the_scenario_key_reaches_the_engine() -> None:
    text = """
name: jm
duration: 1h
pool: {vm_size: Standard_D2s_v3, initial_dedicated: 2}
workload:
  - kind: bursts
    job: render
    bursts: [{at: 0, count: 3}]
    task_duration: {dist: constant, value: 10m}
    job_manager: {duration: 2m, run_exclusive: false}
"""
    result = simulate(load_scenario("jm.yaml", text=text), seed=1)
    tasks = result.tasks.set_index("task_id")
    assert tasks.loc["jobmanager", "end_s"] == pytest.approx(120.0)
    assert list(tasks.drop(index="jobmanager")["end_s"]) == [120.0] * 3  # killed with the job


def test_all_tasks_complete_waits_for_the_manager_too() -> None:
    # onAllTasksComplete counts every task of the job, the job manager one of them (REST Job - Add).
    manager = JobManagerSpec(duration_s=500, run_exclusive=False, kill_job_on_completion=False)
    jobs = [JobSpec("j", job_manager=manager, on_all_tasks_complete="terminatejob")]
    result = run(pool(2), Workload(jobs=jobs, tasks=[TaskSpec("t", "j", 0, 100)]), 3600, 1)
    assert [(a.time_s, a.task_id, a.reason) for a in result.records.job_actions] == [
        (500.0, "jobmanager", "AllTasksComplete")
    ]
