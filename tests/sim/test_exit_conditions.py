"""Exit conditions and the job's failure and completion actions (issue 24 §2), from the REST API.

Oracles, all from Microsoft's pages:
- REST "Task - Add" (https://learn.microsoft.com/rest/api/batchservice/task/add), `ExitConditions`:
  `default` "is used if the Task exits with any nonzero exit code not listed in the exitCodes or
  exitCodeRanges collection, with a pre-processing error if the preProcessingError property is not
  present, or with a file upload error if the fileUploadError property is not present. If you want
  non-default behavior on exit code 0, you must list it explicitly"; `fileUploadError`: "If the Task
  exited with an exit code that was specified via exitCodes or exitCodeRanges, and then encountered a
  file upload error, then the action specified by the exit code takes precedence."
- `ExitOptions` (same page; also https://learn.microsoft.com/javascript/api/@azure/batch/exitoptions):
  `jobAction` "The default is none for exit code 0 and terminate for all other exit conditions"; it
  acts when "the Job's onTaskFailed property is 'performExitOptionsJobAction'", and "if the Job's
  onTaskFailed property is noaction, then specifying this property returns an error ... 400";
  `dependencyAction`: "'satisfy' (allowing dependent tasks to progress) and 'block' (dependent tasks
  continue to wait)", "The default is 'satisfy' for exit code 0, and 'block' for all other exit
  conditions"; `disable` "is equivalent to calling the disable Job API, with a disableTasks value of
  requeue"; `terminate` sets the job's terminateReason to "TaskFailed".
- REST "Job - Add" (https://learn.microsoft.com/rest/api/batchservice/job/add): `onTaskFailure`
  noaction (default) | performexitoptionsjobaction; "A Task is considered to have failed if has a
  failureInfo. A failureInfo is set if the Task completes with a non-zero exit code after exhausting
  its retry count, or if there was an error starting the Task"; `onAllTasksComplete` terminatejob
  "Terminate the Job. The Job's terminateReason is set to 'AllTasksComplete'".
- `maxTaskRetryCount` (Task - Add, `TaskConstraints`): "this value specifically controls the number of
  retries for the Task executable due to a nonzero exit code" (pre-processing and upload errors are
  not retried, batch-behavior §4.2).
"""

from __future__ import annotations

import pytest

from batchsim import simulate
from batchsim.scenario import ScenarioError, load_scenario
from batchsim.sim.config import PoolConfig
from batchsim.sim.engine import run
from batchsim.workload.spec import ExitConditionsSpec, ExitOptionsSpec, JobSpec, TaskSpec, Workload

ZERO = {"dedicated": {"dist": "constant", "value": 0}, "spot": {"dist": "constant", "value": 0}}
PERFORM = "performexitoptionsjobaction"


def pool(nodes: int = 2) -> PoolConfig:
    return PoolConfig.model_validate(
        {"provisioning_delay": ZERO, "spot": {"eviction_rate_per_hour": 0.0}, "initial_dedicated": nodes}
    )


def by_id(result: object) -> object:
    return result.tasks.set_index("task_id")  # type: ignore[attr-defined]


def failing(task_id: str, job_id: str = "j", code: int = 1, **kwargs: object) -> TaskSpec:
    return TaskSpec(task_id, job_id, 0, 100, failure_probability=1.0, failure_exit_codes=((code, 1.0),), **kwargs)  # type: ignore[arg-type]


def dependent(task_id: str, on: str, job_id: str = "j") -> TaskSpec:
    return TaskSpec(task_id, job_id, 0, 50, depends_on=(on,))


def deps_job(**kwargs: object) -> JobSpec:
    return JobSpec("j", uses_task_dependencies=True, **kwargs)  # type: ignore[arg-type]


# -- dependencyAction ---------------------------------------------------------------------------------
def test_a_failure_blocks_its_dependents_by_default() -> None:
    work = Workload(jobs=[deps_job()], tasks=[failing("a"), dependent("b", "a")])
    tasks = by_id(run(pool(), work, 3600, 1))
    assert tasks.loc["a", "state"] == "failed"
    assert tasks.loc["b", "state"] == "waiting"  # block: "dependent tasks continue to wait"


def test_an_exit_code_mapped_to_satisfy_lets_dependents_run() -> None:
    satisfy = ExitConditionsSpec(exit_codes=((3, ExitOptionsSpec(dependency_action="satisfy")),))
    work = Workload(jobs=[deps_job()], tasks=[failing("a", code=3, exit_conditions=satisfy), dependent("b", "a")])
    tasks = by_id(run(pool(), work, 3600, 1))
    assert tasks.loc["a", "state"] == "failed"
    assert tasks.loc["b", "state"] == "completed"
    assert tasks.loc["b", "start_s"] == pytest.approx(100.0)


def test_an_unlisted_code_takes_default_and_a_range_covers_its_ends() -> None:
    conditions = ExitConditionsSpec(
        exit_code_ranges=((10, 20, ExitOptionsSpec(dependency_action="satisfy")),),
        default=ExitOptionsSpec(dependency_action="block"),
    )
    tasks = [failing(f"a{code}", code=code, exit_conditions=conditions) for code in (9, 10, 20, 21)]
    tasks += [dependent(f"b{code}", f"a{code}") for code in (9, 10, 20, 21)]
    result = by_id(run(pool(8), Workload(jobs=[deps_job()], tasks=tasks), 3600, 1))
    assert list(result.loc[["b9", "b10", "b20", "b21"], "state"]) == ["waiting", "completed", "completed", "waiting"]


def test_exit_code_zero_can_block_only_when_listed() -> None:
    # `default` is for nonzero codes: a success still satisfies; listing 0 with block blocks.
    default_block = ExitConditionsSpec(default=ExitOptionsSpec(dependency_action="block"))
    zero_block = ExitConditionsSpec(exit_codes=((0, ExitOptionsSpec(dependency_action="block")),))
    work = Workload(
        jobs=[deps_job()],
        tasks=[
            TaskSpec("a", "j", 0, 100, exit_conditions=default_block),
            TaskSpec("z", "j", 0, 100, exit_conditions=zero_block),
            dependent("b", "a"),
            dependent("y", "z"),
        ],
    )
    tasks = by_id(run(pool(4), work, 3600, 1))
    assert tasks.loc["a", "state"] == tasks.loc["z", "state"] == "completed"
    assert tasks.loc["b", "state"] == "completed"
    assert tasks.loc["y", "state"] == "waiting"


# -- jobAction and onTaskFailure ------------------------------------------------------------------------
def test_job_action_needs_perform_exit_options_job_action() -> None:
    # With the default onTaskFailure (noaction), a failure leaves the job running its other tasks.
    work = Workload(jobs=[JobSpec("j")], tasks=[failing("a"), TaskSpec("long", "j", 0, 1000)])
    result = run(pool(), work, 3600, 1)
    assert by_id(result).loc["long", "state"] == "completed"
    assert result.records.job_actions == []


def test_a_failure_terminates_the_job_by_default_under_perform() -> None:
    # jobAction's default for a nonzero exit is terminate: the running task is killed, a queued one
    # never runs, and the job is recorded as terminated for TaskFailed.
    jobs = [JobSpec("j", on_task_failure=PERFORM)]
    work = Workload(
        jobs=jobs,
        tasks=[failing("a"), TaskSpec("long", "j", 0, 1000), TaskSpec("queued", "j", 0, 10)],
    )
    result = run(pool(2), work, 3600, 1)
    tasks = by_id(result)
    assert tasks.loc["a", "end_s"] == pytest.approx(100.0)
    assert tasks.loc["long", "state"] == "failed"
    assert tasks.loc["long", "end_s"] == pytest.approx(100.0)
    assert tasks.loc["queued", "state"] == "failed"
    assert [(a.job_id, a.task_id, a.action, a.reason) for a in result.records.job_actions] == [
        ("j", "a", "terminate", "TaskFailed")
    ]
    assert "job_actions" in result.tables()


def test_job_action_none_keeps_the_job_and_exit_zero_does_not_terminate() -> None:
    conditions = ExitConditionsSpec(
        exit_codes=((2, ExitOptionsSpec(job_action="none")),), default=ExitOptionsSpec(job_action="terminate")
    )
    jobs = [JobSpec("j", on_task_failure=PERFORM)]
    work = Workload(
        jobs=jobs,
        tasks=[
            failing("a", code=2, exit_conditions=conditions),
            TaskSpec("ok", "j", 0, 10, exit_conditions=conditions),  # exit 0: default does not apply
            TaskSpec("long", "j", 0, 1000),
        ],
    )
    result = run(pool(3), work, 3600, 1)
    assert by_id(result).loc["long", "state"] == "completed"
    assert result.records.job_actions == []
    assert "job_actions" not in result.tables()


def test_the_job_action_waits_for_the_last_retry() -> None:
    jobs = [JobSpec("j", on_task_failure=PERFORM)]
    work = Workload(jobs=jobs, tasks=[failing("a", max_retry_count=2), TaskSpec("long", "j", 0, 1000)])
    result = run(pool(2), work, 3600, 1)
    tasks = by_id(result)
    assert tasks.loc["a", "attempts"] == 3
    assert tasks.loc["long", "end_s"] == pytest.approx(300.0)  # killed at the third failure
    assert result.records.job_actions[0].time_s == pytest.approx(300.0)


def test_disable_requeues_running_tasks_and_schedules_none() -> None:
    disable = ExitConditionsSpec(default=ExitOptionsSpec(job_action="disable"))
    jobs = [JobSpec("j", on_task_failure=PERFORM), JobSpec("other")]
    work = Workload(
        jobs=jobs,
        tasks=[
            failing("a", exit_conditions=disable),
            TaskSpec("long", "j", 0, 1000),
            TaskSpec("later", "j", 500, 10),
            TaskSpec("o", "other", 500, 10),
        ],
    )
    result = run(pool(2), work, 3600, 1)
    tasks = by_id(result)
    assert tasks.loc["long", "state"] == "active"  # requeued, never run again
    assert tasks.loc["long", "requeue_count"] == 1
    assert tasks.loc["later", "state"] == "active"
    assert tasks.loc["o", "state"] == "completed"  # another job still runs
    assert result.records.job_actions[0].action == "disable"


# -- the two errors that are not exit codes ------------------------------------------------------------
def test_a_pre_processing_error_is_not_retried_and_takes_its_own_options() -> None:
    conditions = ExitConditionsSpec(
        pre_processing_error=ExitOptionsSpec(dependency_action="satisfy"), default=ExitOptionsSpec()
    )
    task = TaskSpec(
        "a", "j", 0, 100, max_retry_count=3, pre_processing_error_probability=1.0, exit_conditions=conditions
    )
    result = run(pool(), Workload(jobs=[deps_job()], tasks=[task, dependent("b", "a")]), 3600, 1)
    tasks = by_id(result)
    assert tasks.loc["a", "state"] == "failed"
    assert tasks.loc["a", "attempts"] == 1
    assert tasks.loc["a", "retry_count"] == 0
    assert tasks.loc["a", "start_s"] != tasks.loc["a", "start_s"]  # it never ran (NaN)
    assert tasks.loc["b", "state"] == "completed"
    assert list(result.attempts["outcome"]).count("preprocessing_error") == 1


def test_an_upload_error_yields_to_a_listed_exit_code() -> None:
    listed = ExitConditionsSpec(
        exit_codes=((0, ExitOptionsSpec(dependency_action="satisfy")),),
        file_upload_error=ExitOptionsSpec(dependency_action="block"),
    )
    unlisted = ExitConditionsSpec(file_upload_error=ExitOptionsSpec(dependency_action="satisfy"))
    upload_fails = {"file_upload_error_probability": 1.0, "output_bytes": 1e6, "max_retry_count": 2}
    work = Workload(
        jobs=[deps_job()],
        tasks=[
            TaskSpec("a", "j", 0, 100, exit_conditions=listed, **upload_fails),  # type: ignore[arg-type]
            TaskSpec("u", "j", 0, 100, exit_conditions=unlisted, **upload_fails),  # type: ignore[arg-type]
            TaskSpec("n", "j", 0, 100, **upload_fails),  # type: ignore[arg-type]
            dependent("b", "a"),
            dependent("v", "u"),
            dependent("m", "n"),
        ],
    )
    tasks = by_id(run(pool(6), work, 3600, 1))
    assert (tasks.loc[["a", "u", "n"], "state"] == "failed").all()  # an upload error fails the task
    assert (tasks.loc[["a", "u", "n"], "attempts"] == 1).all()  # and is not retried
    assert tasks.loc["b", "state"] == "completed"  # exit code 0's listed options take precedence
    assert tasks.loc["v", "state"] == "completed"  # fileUploadError's options
    assert tasks.loc["m", "state"] == "waiting"  # no options: block, as for any failure


# -- onAllTasksComplete ---------------------------------------------------------------------------------
def test_terminatejob_ends_the_job_when_its_tasks_are_done() -> None:
    jobs = [JobSpec("j", on_all_tasks_complete="terminatejob"), JobSpec("keep")]
    work = Workload(
        jobs=jobs,
        tasks=[TaskSpec("a", "j", 0, 100), TaskSpec("b", "j", 50, 200), TaskSpec("k", "keep", 0, 10)],
    )
    result = run(pool(2), work, 3600, 1)
    assert [(a.time_s, a.job_id, a.task_id, a.reason) for a in result.records.job_actions] == [
        (250.0, "j", "b", "AllTasksComplete")
    ]


# -- scenario keys --------------------------------------------------------------------------------------
SCENARIO = """
name: exits
duration: 1h
pool: {{vm_size: Standard_D2s_v3, initial_dedicated: 1}}
workload:
  - kind: task_list
    uses_task_dependencies: {deps}
    on_task_failure: {on_failure}
    failure_probability: 1.0
    tasks: [{{id: "1"}}, {{id: "2", depends_on: {{task_ids: ["1"]}}}}]
    exit_conditions:
      default: {{{options}}}
"""


def test_a_job_action_under_noaction_is_refused_as_the_service_does() -> None:
    text = SCENARIO.format(deps="true", on_failure="noaction", options="job_action: terminate")
    with pytest.raises(ScenarioError, match="performexitoptionsjobaction"):
        load_scenario("exits.yaml", text=text)


def test_a_dependency_action_without_task_dependencies_is_refused() -> None:
    text = SCENARIO.format(deps="false", on_failure="noaction", options="dependency_action: satisfy")
    with pytest.raises(ScenarioError, match="uses_task_dependencies"):
        load_scenario("exits.yaml", text=text)


def test_the_scenario_keys_reach_the_engine() -> None:
    text = SCENARIO.format(deps="true", on_failure=PERFORM, options="dependency_action: satisfy, job_action: none")
    result = simulate(load_scenario("exits.yaml", text=text), seed=1)
    tasks = result.tasks.set_index("task_id")
    assert tasks.loc["1", "state"] == "failed"
    assert tasks.loc["2", "attempts"] == 1  # satisfied by 1's failure, it ran (and failed too: p = 1)
    assert tasks.loc["2", "start_s"] == pytest.approx(tasks.loc["1", "end_s"])
