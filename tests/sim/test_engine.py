"""Engine behaviour, one rule of batch-behavior.md at a time."""

from __future__ import annotations

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


def tasks(n: int, duration_s: float = 100.0, **kwargs: object) -> list[TaskSpec]:
    return [TaskSpec(str(i), "job", 0.0, duration_s, **kwargs) for i in range(n)]  # type: ignore[arg-type]


def test_slots_and_fill_types() -> None:
    spread = run(pool(initial_dedicated=2, task_slots_per_node=2), Workload(tasks=tasks(2)), 1000, 1)
    assert spread.attempts["node_id"].nunique() == 2  # spread: one task on each node
    pack = run(
        pool(initial_dedicated=2, task_slots_per_node=2, node_fill_type="pack"), Workload(tasks=tasks(2)), 1000, 1
    )
    assert pack.attempts["node_id"].nunique() == 1  # pack: fill a node first
    assert run(pool(initial_dedicated=1, task_slots_per_node=2), Workload(tasks=tasks(4)), 1000, 1).tasks[
        "start_s"
    ].sort_values().to_list() == [0, 0, 100, 100]


def test_task_needing_more_slots_than_a_node_has_never_runs_and_does_not_block() -> None:
    work = [TaskSpec("big", "job", 0, 10, required_slots=3), TaskSpec("small", "job", 1, 10)]
    result = run(pool(initial_dedicated=1, task_slots_per_node=2), Workload(tasks=work), 100, 1)
    states = dict(zip(result.tasks["task_id"], result.tasks["state"], strict=True))
    assert states == {"big": "active", "small": "completed"}


def test_job_priority_orders_the_queue() -> None:
    jobs = [JobSpec("low", priority=0), JobSpec("high", priority=100)]
    work = [TaskSpec("a", "low", 0, 10), TaskSpec("b", "high", 0, 10)]
    result = run(pool(initial_dedicated=1), Workload(jobs=jobs, tasks=work), 100, 1)
    assert result.tasks.set_index("task_id").loc["b", "start_s"] == 0


def test_retries_then_failure_and_wall_clock() -> None:
    work = [
        TaskSpec("f", "job", 0, 10, max_retry_count=2, failure_probability=1.0),
        TaskSpec("w", "job", 0, 500, max_wall_clock_s=60),
    ]
    result = run(pool(initial_dedicated=2), Workload(tasks=work), 10_000, 1).tasks.set_index("task_id")
    assert result.loc["f", "attempts"] == 3 and result.loc["f", "state"] == "failed"
    assert result.loc["w", "state"] == "failed" and result.loc["w", "end_s"] == 60


def test_dependencies_and_ranges() -> None:
    jobs = [JobSpec("job", uses_task_dependencies=True)]
    work = [
        TaskSpec("1", "job", 0, 50),
        TaskSpec("2", "job", 0, 70),
        TaskSpec("3", "job", 0, 10, depends_on_ranges=((1, 2),)),
        TaskSpec("4", "job", 0, 10, depends_on=("3",)),
    ]
    result = run(pool(initial_dedicated=4), Workload(jobs=jobs, tasks=work), 1000, 1).tasks.set_index("task_id")
    assert result.loc["3", "start_s"] == 70 and result.loc["4", "start_s"] == 80
    assert result.loc["3", "wait_s"] == 0  # wait counts from eligibility, not submission


def test_job_preparation_runs_once_per_node_per_job() -> None:
    jobs = [JobSpec("job", preparation=PrepTaskSpec(duration_s=30))]
    result = run(pool(initial_dedicated=1), Workload(jobs=jobs, tasks=tasks(3, 10)), 1000, 1)
    assert sorted(result.tasks["start_s"]) == [30, 40, 50]


def test_container_image_is_pulled_once_per_node() -> None:
    result = run(pool(initial_dedicated=1), Workload(tasks=tasks(2, 10, container_image="app:1")), 1000, 1)
    assert sorted(result.tasks["start_s"]) == [60, 70]  # default pull 60 s, then cached


def test_storage_staging_costs_time() -> None:
    result = run(
        pool(initial_dedicated=1), Workload(tasks=tasks(1, 10, input_bytes=200e6, output_bytes=100e6)), 1000, 1
    )
    assert result.tasks.loc[0, "start_s"] == 2 and result.tasks.loc[0, "end_s"] == 13


def test_spot_eviction_requeues_running_tasks_and_stops_billing() -> None:
    p = pool(initial_spot=3, spot={"eviction_rate_per_hour": 20.0, "restore_wait": {"dist": "constant", "value": "5m"}})
    result = run(p, Workload(tasks=tasks(3, 3000)), 7200, 1)
    assert result.summary["preemptions"] > 0 and result.summary["task_requeues"] > 0
    preempted = result.nodes[result.nodes["state"] == "preempted"]
    assert len(preempted) and not preempted["billed"].any()
    assert (result.tasks["requeue_count"] > 0).any()


@pytest.mark.parametrize(
    ("option", "requeues", "failed"), [("requeue", 2, 0), ("terminate", 0, 2), ("taskcompletion", 0, 0)]
)
def test_deallocation_options_on_scale_down(option: str, requeues: int, failed: int) -> None:
    formula = compile(
        f'$TargetDedicatedNodes = time() >= time("2026-01-05T00:10:00Z") ? 1 : 3; $NodeDeallocationOption = {option};'
    )
    p = pool(initial_dedicated=3, autoscale={"formula": "$TargetDedicatedNodes = 3;", "interval": "5m"})
    work = tasks(3, 1800)
    result = run(p, Workload(tasks=work), 7200, 1, formula=formula)
    assert result.summary["task_requeues"] == requeues
    assert result.summary["tasks_failed"] == failed
    if option == "taskcompletion":
        leaving = result.nodes[result.nodes["state"] == "leavingpool"]
        assert leaving["billed"].all() and leaving["end_s"].max() >= 1800  # drained while billed


def test_quota_caps_allocation_and_records_the_error() -> None:
    p = pool(
        vcpus_per_node=2,
        quota={"dedicated_cores": 6},
        autoscale={"formula": "$TargetDedicatedNodes = 10;", "interval": "5m"},
    )
    result = run(p, Workload(), 3600, 1, formula=compile("$TargetDedicatedNodes = 10;"))
    assert result.nodes["node_id"].nunique() == 3
    assert "AccountCoreQuotaReached" in set(result.resize_errors["code"])


def test_failed_start_task_leaves_an_unusable_billed_node() -> None:
    start_task = {"duration": {"dist": "constant", "value": 30}, "failure_probability": 1.0}
    p = pool(start_task=start_task, autoscale={"formula": "$TargetDedicatedNodes = 1;", "interval": "5m"})
    result = run(p, Workload(tasks=tasks(1)), 3600, 1, formula=compile("$TargetDedicatedNodes = 1;"))
    failed = result.nodes[result.nodes["state"] == "starttaskfailed"]
    assert len(failed) == 1 and failed["billed"].all()
    assert result.tasks.loc[0, "state"] == "active"


def test_autoscale_error_leaves_the_pool_unchanged() -> None:
    text = "$TargetDedicatedNodes = avg($PendingTasks.GetSample(TimeInterval_Minute * 60));"
    p = pool(initial_dedicated=2, autoscale={"formula": text, "interval": "5m"})
    result = run(p, Workload(), 1800, 1, formula=compile(text))
    assert set(result.evaluations["error_code"]) == {"InsufficientSampleData"}
    assert (result.evaluations["target_dedicated"] == 2).all()
    assert result.evaluations["time_s"].iloc[0] == pytest.approx(0.1)  # first run at enable, ~0.1 s late


def test_fractional_targets_truncate() -> None:
    text = "$TargetDedicatedNodes = 2.9;"
    p = pool(autoscale={"formula": text, "interval": "5m"})
    result = run(p, Workload(), 600, 1, formula=compile(text))
    assert result.evaluations["target_dedicated"].iloc[0] == 2
    assert result.nodes["node_id"].nunique() == 2


def test_job_schedule_runs_one_job_at_a_time() -> None:
    schedule = ScheduleSpec(
        "nightly",
        JobSpec("nightly"),
        occurrences=[[TaskSpec("t", "", 0, 5400)]],
        recurrence_interval_s=3600,
    )
    result = run(pool(initial_dedicated=2), Workload(schedules=[schedule]), 4 * 3600, 1)
    starts = sorted(result.tasks["start_s"].dropna())
    assert starts[:2] == [0, 5400]  # the 1 h occurrence waits for the previous job to finish


def test_metrics_are_sampled_every_30_seconds() -> None:
    result = run(pool(initial_dedicated=1), Workload(tasks=tasks(2, 100)), 600, 1)
    pending = result.metrics[result.metrics["name"] == "$PendingTasks"]
    assert pending["time_s"].diff().dropna().eq(30).all()
    assert pending["value"].iloc[:4].to_list() == [2, 2, 2, 2]


def test_job_release_runs_at_job_end_on_prepared_nodes() -> None:
    job = JobSpec("nightly", preparation=PrepTaskSpec(duration_s=10), release=PrepTaskSpec(duration_s=20))
    schedule = ScheduleSpec("nightly", job, occurrences=[[TaskSpec("t", "", 0, 100)]], recurrence_interval_s=None)
    result = run(pool(initial_dedicated=1), Workload(schedules=[schedule]), 3600, 1)
    releases = result.attempts[result.attempts["outcome"] == "jobrelease"]
    assert len(releases) == 1
    assert releases.iloc[0]["start_s"] == 110 and releases.iloc[0]["end_s"] == 130


@pytest.mark.parametrize("timeout_s", [300.0, 900.0])
def test_allocation_without_capacity_ends_after_the_resize_timeout(timeout_s: float) -> None:
    # Spot capacity runs short at once and stays short: each allocation gives up after the pool's
    # resizeTimeout with AllocationTimedout (batch-behavior §1.2), and the pool asks again.
    text = "$TargetLowPriorityNodes = 2;"
    p = pool(
        resize_timeout=timeout_s,
        spot={"eviction_rate_per_hour": 0.0, "available_mean": 1e-9, "shortage_mean": 1e12},
        autoscale={"formula": text, "interval": "5m"},
    )
    result = run(p, Workload(), 3 * timeout_s, 1, formula=compile(text))
    errors = result.resize_errors
    assert set(errors["code"]) == {"AllocationTimedout"}
    assert errors["time_s"].min() == pytest.approx(0.1 + timeout_s)  # the first evaluation's allocation
    assert not result.nodes["state"].isin(["creating", "idle"]).any()


def test_the_resize_timeout_is_one_pool_setting() -> None:
    with pytest.raises(ValueError, match="resize_timeout"):
        PoolConfig.model_validate({"autoscale": {"formula": "$TargetDedicatedNodes = 1;", "resize_timeout": "10m"}})
    with pytest.raises(ValueError, match="at least 5m"):
        PoolConfig.model_validate({"resize_timeout": "4m"})


def test_the_engine_leaves_the_workload_it_is_given_unchanged() -> None:
    # An optimizer reuses one workload per seed across candidates (pipeline.simulate(workload=...)).
    import copy

    from batchsim.pipeline import scenario_workload, simulate
    from batchsim.scenario import load_scenario

    scenario = load_scenario("scenarios/hourly-schedule.yaml", ["duration=3h"])
    workload = scenario_workload(scenario, 2)
    before = copy.deepcopy(workload)
    first = simulate(scenario, 2, workload=workload)
    assert workload == before
    second = simulate(scenario, 2)
    assert {k: v for k, v in first.summary.items() if k != "wall_s"} == {
        k: v for k, v in second.summary.items() if k != "wall_s"
    }
