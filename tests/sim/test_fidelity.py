"""The fidelity fixes of issue 13 §2, each against an oracle from outside the engine: a rule the Batch
documentation states, a timeline worked out by hand, or a probability law."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from batchsim.formula import compile
from batchsim.sim.config import PoolConfig
from batchsim.sim.engine import run
from batchsim.workload.spec import JobSpec, ScheduleSpec, TaskSpec, Workload

ZERO = {"dedicated": {"dist": "constant", "value": 0}, "spot": {"dist": "constant", "value": 0}, "boot_billed_s": 0}


def pool(**kwargs: object) -> PoolConfig:
    settings: dict[str, object] = {"provisioning_delay": ZERO, "spot": {"eviction_rate_per_hour": 0.0}}
    settings.update(kwargs)
    return PoolConfig.model_validate(settings)


def autoscaled(text: str, **kwargs: object) -> tuple[PoolConfig, object]:
    return pool(autoscale={"formula": text, "interval": "5m"}, **kwargs), compile(text)


# -- requeues are not retries (REST: maxTaskRetryCount; requeueCount apart) ------------------------


def test_evictions_do_not_use_the_retry_budget() -> None:
    # maxTaskRetryCount 2: a task that always fails runs until it has failed 3 times, however many
    # times an eviction requeued it in between (batch-behavior §3.2, §4.2).
    p = pool(
        initial_spot=10,
        spot={"eviction_rate_per_hour": 6.0, "restore_wait": {"dist": "constant", "value": 60}},
    )
    work = [TaskSpec(str(i), "job", 0.0, 600.0, max_retry_count=2, failure_probability=1.0) for i in range(40)]
    result = run(p, Workload(tasks=work), 48 * 3600, 1)
    tasks = result.tasks.set_index("task_id")
    assert (tasks["state"] == "failed").all()
    attempts = result.attempts
    failed = attempts[attempts["outcome"] == "failed"].groupby("task_id").size()
    requeued = attempts[attempts["outcome"] == "requeued"].groupby("task_id").size()
    assert (failed == 3).all() and len(failed) == 40
    assert (tasks["retry_count"] == 2).all()
    assert (tasks["requeue_count"] == requeued.reindex(tasks.index, fill_value=0)).all()
    assert requeued.sum() > 20  # the evictions did happen, and often
    assert (tasks["attempts"] == 3 + tasks["requeue_count"]).all()


# -- equal-priority jobs share the pool (REST: jobDefaultOrder) -------------------------------------


def two_jobs(order: str, b_submit_s: float = 0.0) -> dict[str, list[float]]:
    jobs = [JobSpec("A"), JobSpec("B", submit_s=b_submit_s)]
    work = [TaskSpec(f"a{i}", "A", 0.0, 100.0) for i in range(20)]
    work += [TaskSpec(f"b{i}", "B", b_submit_s, 100.0) for i in range(20)]
    result = run(pool(initial_dedicated=1, job_default_order=order), Workload(jobs=jobs, tasks=work), 10_000, 1)
    starts = result.tasks.groupby("job_id")["start_s"].apply(sorted)
    return {job: list(values) for job, values in starts.items()}


def test_equal_priority_jobs_share_the_pool_by_default() -> None:
    # jobDefaultOrder none: "tasks should be scheduled uniformly from all equal-priority jobs":
    # on one slot the two jobs alternate, A's k-th task at 200 k s, B's at 200 k + 100 s.
    starts = two_jobs("none")
    assert starts["A"] == [200.0 * k for k in range(20)]
    assert starts["B"] == [200.0 * k + 100 for k in range(20)]


def test_creationtime_serves_the_older_job_first() -> None:
    starts = two_jobs("creationtime")
    assert starts["A"] == [100.0 * k for k in range(20)]
    assert starts["B"][0] == 2000.0  # behind all 20 of A's tasks


def test_a_job_that_joins_late_shares_from_then_on() -> None:
    # B arrives at 950 s, when A has run 10 tasks: from then on they alternate; B neither waits
    # behind A's backlog nor overtakes it.
    starts = two_jobs("none", b_submit_s=950.0)
    assert starts["A"][:11] == [100.0 * k for k in range(11)]
    assert starts["B"][:10] == [1100.0 + 200 * k for k in range(10)]
    assert starts["A"][11:] == [1200.0 + 200 * k for k in range(9)]


# -- waits of tasks that never start --------------------------------------------------------------


def test_a_pool_with_no_nodes_reports_waits_so_far_not_zero() -> None:
    submits = [36.0 * i for i in range(101)]
    work = [TaskSpec(str(i), "job", s, 60.0) for i, s in enumerate(submits)]
    result = run(pool(), Workload(tasks=work), 3600 + 36, 1)
    summary = result.summary
    so_far = np.array([3636.0 - s for s in submits])  # each task has waited from its submission on
    assert summary["tasks_never_started"] == 101 and summary["wait_censored"] is True
    assert summary["wait_s_mean"] == pytest.approx(so_far.mean())
    assert summary["wait_s_max"] == pytest.approx(3636.0)
    assert summary["wait_s_p95"] == pytest.approx(np.percentile(so_far, 95))


def test_waits_are_not_censored_when_every_task_started() -> None:
    result = run(pool(initial_dedicated=1), Workload(tasks=[TaskSpec("a", "job", 0.0, 10.0)]), 100, 1)
    assert result.summary["wait_censored"] is False and result.summary["tasks_never_started"] == 0


def test_the_text_table_marks_lower_bounds() -> None:
    from rich.console import Console

    from batchsim.cli.simulate import summary_table
    from batchsim.cost.prices import DEFAULT_PRICES
    from batchsim.pipeline import add_costs

    result = run(pool(), Workload(tasks=[TaskSpec(str(i), "job", 0.0, 60.0) for i in range(5)]), 600, 1)
    add_costs(result, DEFAULT_PRICES, 2)
    console = Console(width=200, record=True)
    console.print(summary_table(result.summary, "t"))
    text = console.export_text()
    assert "≥ 600 s / ≥ 600 s / ≥ 600 s (5 never started)" in text
    assert " 0 s" not in text


# -- retaineddata keeps every task's data (REST: retentionTime) ------------------------------------


def test_retaineddata_waits_for_the_retention_of_every_task_a_node_ran() -> None:
    # Node 0 ran a 100 s task, node 1 runs a 500 s task when the pool shrinks to 0 at 300.1 s with
    # retaineddata and retention 1000 s: node 0 leaves at 100 + 1000, node 1 at 500 + 1000, each
    # then 30 s in leavingpool (removal_delay). Before the fix node 0 left at once.
    text = (
        '$TargetDedicatedNodes = time() >= time("2026-01-05T00:05:00Z") ? 0 : 2;$NodeDeallocationOption = retaineddata;'
    )
    p, formula = autoscaled(text, initial_dedicated=2, retention="1000s")
    work = [TaskSpec("short", "job", 0.0, 100.0), TaskSpec("long", "job", 0.0, 500.0)]
    result = run(p, Workload(tasks=work), 3600, 1, formula=formula)
    nodes = result.nodes
    timeline = {
        node: [(r.state, r.start_s, r.end_s) for r in group.itertuples()] for node, group in nodes.groupby("node_id")
    }
    assert timeline["tvm-d-00000"][-2:] == [("retaining", 300.1, 1100.0), ("leavingpool", 1100.0, 1130.0)]
    assert timeline["tvm-d-00001"][-3:] == [
        ("leavingpool", 300.1, 500.0),
        ("retaining", 500.0, 1500.0),
        ("leavingpool", 1500.0, 1530.0),
    ]


# -- job schedules wake when the previous job ends (§4.5) -------------------------------------------


def schedule_run(start_window_s: float | None = None) -> dict[str, float]:
    schedule = ScheduleSpec(
        "nightly",
        JobSpec("nightly"),
        occurrences=[[TaskSpec("t", "", 0, 5430)]],
        recurrence_interval_s=3600,
        start_window_s=start_window_s,
    )
    result = run(pool(initial_dedicated=2), Workload(schedules=[schedule]), 5 * 3600, 1)
    return dict(zip(result.tasks["job_id"], result.tasks["start_s"], strict=True))


def test_a_due_job_starts_when_the_previous_one_ends() -> None:
    # Hourly, each job 5430 s long: job 1 (due at 3600 s) starts the moment job 0 ends, 5430 s
    # (a 60 s poll made it 5460 s); job 2 (due at 7200 s) when job 1 ends, 10860 s.
    starts = schedule_run()
    assert starts["nightly-0"] == 0.0
    assert starts["nightly-1"] == 5430.0
    assert starts["nightly-2"] == 10860.0


def test_a_job_that_outlives_the_start_window_skips_the_occurrence() -> None:
    # start window 30 min: occurrence 1 (due 3600 s) is skipped at 5400 s, job 0 running still;
    # occurrence 2 is due at 7200 s, after job 0 ended at 5430 s: it starts on time.
    starts = schedule_run(start_window_s=1800)
    assert "nightly-1" not in starts
    assert starts["nightly-2"] == 7200.0


# -- capacity: outages and allocation failures, both kinds ----------------------------------------


def test_a_dedicated_outage_times_out_allocations_until_it_ends() -> None:
    # The pool wants 2 nodes from 00:20; no dedicated capacity from 1000 s for an hour. The
    # allocation at 1200.1 s waits, gives up after resizeTimeout (15 min) at 2100.1 s with
    # AllocationTimedout, is asked again at once, and so on; at 4600 s the waiting nodes proceed.
    text = '$TargetDedicatedNodes = time() >= time("2026-01-05T00:20:00Z") ? 2 : 0;'
    p, formula = autoscaled(text, dedicated={"outages": [{"start": "1000s", "duration": "1h"}]})
    result = run(p, Workload(), 3 * 3600, 1, formula=formula)
    errors = result.resize_errors
    assert set(errors["code"]) == {"AllocationTimedout"}
    assert sorted(set(errors["time_s"].round(6))) == [2100.1, 3000.1, 3900.1]
    idle = result.nodes[result.nodes["state"] == "idle"]
    assert len(idle) == 2 and (idle["start_s"] == 4600.0).all()


def test_a_certain_allocation_failure_leaves_the_pool_empty_and_is_asked_again() -> None:
    text = "$TargetDedicatedNodes = 3;"
    p, formula = autoscaled(text, dedicated={"allocation_failure_probability": 1.0})
    result = run(p, Workload(), 1800, 1, formula=formula)
    assert result.nodes.empty
    errors = result.resize_errors
    assert set(errors["code"]) == {"AllocationFailed"}
    assert list(errors["time_s"]) == pytest.approx([0.1 + 300 * k for k in range(6)])  # every evaluation


def test_allocation_failures_follow_their_probability() -> None:
    # 400 nodes asked for at once, each failing with probability 0.25: the number obtained is
    # Binomial(400, 0.75); 3.5 standard deviations either side.
    text = "$TargetDedicatedNodes = 400;"
    p, formula = autoscaled(text, dedicated={"allocation_failure_probability": 0.25})
    result = run(p, Workload(), 200, 7, formula=formula)
    obtained = result.nodes["node_id"].nunique()
    sd = math.sqrt(400 * 0.75 * 0.25)
    assert abs(obtained - 300) < 3.5 * sd


def test_a_spot_outage_stops_restores() -> None:
    # Every Spot node is evicted at 1000 s, inside an outage from 900 s to 4500 s; each preempted
    # node tries to come back every 60 s (restore_wait) and first finds capacity at 1000 + 59·60 s.
    p = pool(
        initial_spot=4,
        spot={
            "eviction_rate_per_hour": 0.0,
            "restore_wait": {"dist": "constant", "value": 60},
            "outages": [{"start": "900s", "duration": "1h"}],
            "mass_evictions": [{"at": "1000s", "fraction": 1.0}],
        },
    )
    result = run(p, Workload(), 6000, 1)
    nodes = result.nodes
    preempted = nodes[nodes["state"] == "preempted"]
    assert len(preempted) == 4 and (preempted["start_s"] == 1000.0).all()
    assert preempted["end_s"].to_numpy() == pytest.approx(np.full(4, 1000.0 + 59 * 60))


def test_a_mass_eviction_takes_that_fraction_of_the_live_spot_nodes_at_once() -> None:
    p = pool(initial_spot=41, spot={"eviction_rate_per_hour": 0.0, "mass_evictions": [{"at": "1h", "fraction": 0.5}]})
    result = run(p, Workload(tasks=[TaskSpec(str(i), "job", 0.0, 7200.0) for i in range(41)]), 7200, 3)
    preempted = result.nodes[result.nodes["state"] == "preempted"]
    assert len(preempted) == 21 and (preempted["start_s"] == 3600.0).all()  # 20.5 rounds half up
    assert result.summary["task_requeues"] == 21


# -- node faults (§2.1 fault-only states) ----------------------------------------------------------


def test_unusable_nodes_follow_the_exponential_law_and_usable_count_follows() -> None:
    # 300 nodes, each usable until it fails at 0.5 per node-hour and stays unusable: after t hours
    # 300 (1 - exp(-0.5 t)) are unusable; 3.5 standard deviations of the binomial.
    text = "usable = $UsableNodeCount; $TargetDedicatedNodes = 300;"
    p, formula = autoscaled(text, initial_dedicated=300, node_faults={"unusable_rate_per_hour": 0.5})
    result = run(p, Workload(), 2 * 3600 + 1, 5, formula=formula)
    nodes = result.nodes
    for evaluation in result.evaluations.itertuples():
        hours = evaluation.time_s / 3600
        failed = nodes[(nodes["state"] == "unusable") & (nodes["start_s"] <= evaluation.time_s)]["node_id"].nunique()
        p_failed = 1 - math.exp(-0.5 * hours)
        assert abs(failed - 300 * p_failed) <= 3.5 * math.sqrt(300 * p_failed * (1 - p_failed)) + 1e-9
        assert f"usable={300 - failed}" in evaluation.results.split(";")  # $UsableNodeCount leaves them out


def test_a_reboot_requeues_the_running_tasks_as_a_recovery_and_comes_back() -> None:
    # Renewal-reward: a node alternates Exp(mean 1/r) usable and 120 s rebooting, so it spends
    # 120 / (3600 / r + 120) of its time rebooting; r = 2 per hour: 6.25 %.
    p = pool(initial_dedicated=100, node_faults={"reboot_rate_per_hour": 2.0})
    work = [TaskSpec(str(i), "job", 0.0, 1e9) for i in range(100)]
    result = run(p, Workload(tasks=work), 20 * 3600, 2)
    nodes = result.nodes
    rebooting = nodes[nodes["state"] == "rebooting"]
    durations = (rebooting["end_s"] - rebooting["start_s"]).to_numpy()
    assert np.allclose(durations[rebooting["end_s"].to_numpy() < 20 * 3600], 120.0)
    fraction = durations.sum() / (100 * 20 * 3600)
    assert fraction == pytest.approx(120 / (1800 + 120), rel=0.08)
    attempts = result.attempts
    assert set(attempts["outcome"]) == {"node_fault"}
    assert result.summary["task_requeues"] == 0 and (result.tasks["retry_count"] == 0).all()
    assert (result.tasks["requeue_count"] == 0).all()


# -- one wait per resize (§2.4 T_wait shared, then T_spread per node) ------------------------------


def test_the_nodes_of_a_resize_share_one_wait_then_spread() -> None:
    delays = {
        "resize_wait": {
            "dedicated": {"dist": "constant", "value": 240},
            "spot": {"dist": "constant", "value": 240},
        },
        "dedicated": {"dist": "exponential", "mean": 30},
        "spot": {"dist": "exponential", "mean": 30},
        "boot_billed_s": 0,
    }
    text = "$TargetDedicatedNodes = 300;"
    p, formula = autoscaled(text, provisioning_delay=delays)
    result = run(p, Workload(), 3000, 4, formula=formula)
    ready_s = result.nodes[result.nodes["state"] == "idle"].groupby("node_id")["start_s"].min().to_numpy()
    offsets = ready_s - 0.1 - 240  # after the resize at 0.1 s and its shared wait
    assert offsets.min() >= 0
    assert stats.kstest(offsets, stats.expon(scale=30).cdf).pvalue > 0.001


def test_without_a_provisioning_key_the_pool_waits_once_per_resize() -> None:
    # The default model (§2.4): median ≈ 6 min to ready, and the nodes of one resize within a
    # few minutes of each other (a shared wait), not spread over the whole delay.
    text = "$TargetDedicatedNodes = 200;"
    p = PoolConfig.model_validate({"autoscale": {"formula": text, "interval": "1h"}})
    result = run(p, Workload(), 3000, 8, formula=compile(text))
    ready_s = result.nodes[result.nodes["state"] == "idle"].groupby("node_id")["start_s"].min().to_numpy() - 0.1
    assert len(ready_s) == 200
    assert 60 < np.median(ready_s) - ready_s.min() < 300  # per-node part only: median ≈ 2 min
    assert np.percentile(ready_s, 95) - np.percentile(ready_s, 5) < 360


# -- bad horizons ----------------------------------------------------------------------------------


@pytest.mark.parametrize("duration_s", [0.0, -5.0, math.nan])
def test_the_engine_refuses_a_horizon_that_is_not_positive(duration_s: float) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        run(pool(), Workload(), duration_s, 1)


# -- task dependencies from scenario files (REST: dependsOn.taskIds / taskIdRanges) ----------------

DAG = """
name: dag
duration: 2h
pool:
  initial_dedicated: 3
  provisioning_delay: {dedicated: {dist: constant, value: 0}, spot: {dist: constant, value: 0}}
prices: {dedicated_per_hour: 1, spot_per_hour: 0.2}
workload:
  - kind: task_list
    job: render
    uses_task_dependencies: true
    task_duration: {dist: constant, value: 10m}
    tasks:
      - {ids: {start: 9, end: 12}}
      - {id: "13", duration: {dist: constant, value: 1m}, depends_on: {task_id_ranges: [{start: 9, end: 12}]}}
      - {id: report, duration: {dist: constant, value: 1m}, depends_on: {task_ids: ["13", "9"]}}
"""


def test_dependencies_written_in_a_scenario_file() -> None:
    # 9..12 means tasks 9, 10, 11 and 12 (both ends included): on 3 nodes, three of them run
    # 0-600 s, the fourth 600-1200 s; 13 waits for all four, report for 13.
    from batchsim.pipeline import simulate
    from batchsim.scenario import load_scenario

    result = simulate(load_scenario("dag.yaml", text=DAG))
    tasks = result.tasks.set_index("task_id")
    assert sorted(tasks.loc[["9", "10", "11", "12"], "start_s"]) == [0, 0, 0, 600]
    assert tasks.loc["13", "start_s"] == 1200 and tasks.loc["report", "start_s"] == 1260
    assert tasks.loc["13", "wait_s"] == 0  # waits count from eligibility (DESIGN §4)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("uses_task_dependencies: true", "uses_task_dependencies: false"), "TaskDependenciesNotSpecifiedOnJob"),
        (("end: 12}]}", "end: 14}]}"), "no task of this job has id '14'"),
        (('task_ids: ["13", "9"]', 'task_ids: ["report"]'), "depends on itself"),
        (('{id: "13", duration', '{id: "12", duration'), "repeated: 12"),
    ],
)
def test_bad_dependencies_are_scenario_errors(change: tuple[str, str], message: str) -> None:
    from batchsim.scenario import ScenarioError, load_scenario

    with pytest.raises(ScenarioError, match=message):
        load_scenario("dag.yaml", text=DAG.replace(*change))


def test_a_dependency_cycle_is_a_scenario_error() -> None:
    from batchsim.scenario import ScenarioError, load_scenario

    cyclic = DAG.replace(
        "- {ids: {start: 9, end: 12}}",
        '- {ids: {start: 9, end: 12}}\n      - {id: "8", depends_on: {task_ids: [report]}}',
    )
    cyclic = cyclic.replace('task_ids: ["13", "9"]', 'task_ids: ["13", "8"]')
    with pytest.raises(ScenarioError, match="cycle"):
        load_scenario("dag.yaml", text=cyclic)


@pytest.mark.parametrize("duration", ["0", "0s", "-5", "-1h"])
def test_a_horizon_of_zero_or_less_is_a_scenario_error_naming_the_key(duration: str) -> None:
    from batchsim.scenario import ScenarioError, load_scenario

    with pytest.raises(ScenarioError, match="duration"):
        load_scenario("dag.yaml", text=DAG.replace("duration: 2h", f"duration: {duration}"))
