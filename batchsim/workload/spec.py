"""What a workload hands the engine: plain records of jobs, tasks and job schedules.

Generators (Poisson, diurnal, bursts, schedules, traces) produce these; the engine consumes them.
Every random draw a task needs that does not depend on the simulation (its duration, whether an
attempt fails) is made by the generator from its own stream, so that two formulas compared on the
same seed see the same tasks (STYLE: common random numbers). Times are seconds from the start of
the simulation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ExitConditionsSpec",
    "ExitOptionsSpec",
    "JobManagerSpec",
    "JobSpec",
    "PrepTaskSpec",
    "ScheduleSpec",
    "TaskResources",
    "TaskSpec",
    "Workload",
]


class TaskResources(BaseModel):
    """What one task of a workload entry needs on a node.

    The engine does not read it: `batchsim plan` bounds the task slots per node of each VM size by
    it (a node holds no more tasks than its vCPUs, memory and GPUs allow). Absent keys bound nothing.
    """

    model_config = ConfigDict(extra="forbid")

    vcpus: float | None = Field(default=None, gt=0, description="vCPUs one task keeps busy.")
    memory_gib: float | None = Field(default=None, gt=0, description="Memory one task needs, in GiB.")
    gpus: float | None = Field(default=None, ge=0, description="GPUs one task needs.")


@dataclass(slots=True, frozen=True)
class ExitOptionsSpec:
    """The REST API's `ExitOptions`: what the service does when a task completes with an exit condition.

    None leaves the service's default: `job_action` none for exit code 0 and terminate for every other
    condition; `dependency_action` satisfy for exit code 0 and block for every other condition.
    """

    job_action: str | None = None  # none | disable | terminate
    dependency_action: str | None = None  # satisfy | block


@dataclass(slots=True, frozen=True)
class ExitConditionsSpec:
    """The REST API's `exitConditions` of a task: exit codes, inclusive code ranges, the two errors
    that are not exit codes, and `default` for a failure none of them covers."""

    exit_codes: tuple[tuple[int, ExitOptionsSpec], ...] = ()
    exit_code_ranges: tuple[tuple[int, int, ExitOptionsSpec], ...] = ()
    pre_processing_error: ExitOptionsSpec | None = None
    file_upload_error: ExitOptionsSpec | None = None
    default: ExitOptionsSpec | None = None

    def listed(self, exit_code: int) -> ExitOptionsSpec | None:
        """The options `exitCodes` or `exitCodeRanges` give this exit code, else None."""
        for code, options in self.exit_codes:
            if code == exit_code:
                return options
        for start, end, options in self.exit_code_ranges:
            if start <= exit_code <= end:
                return options
        return None


@dataclass(slots=True)
class TaskSpec:
    """One task as added to a job.

    duration_s: run time of one attempt on a node, excluding image pull and staging.
    depends_on / depends_on_ranges: task ids, and inclusive integer id ranges, in the same job
        (the job must use task dependencies).
    failure_probability: chance that an attempt exits non-zero.
    deadline_s: absolute time by which the task should complete (for deadline objectives), or None.
    failure_exit_codes: the nonzero exit codes a failed attempt exits with, as (code, weight) pairs.
    pre_processing_error_probability: chance that an attempt fails to start (a resource file
        download error, the REST API's pre-processing error); not retried.
    file_upload_error_probability: chance that an attempt's output files fail to upload; not retried.
    exit_conditions: how the service responds to the task's completion, or None for its defaults.
    """

    task_id: str
    job_id: str
    submit_s: float
    duration_s: float
    required_slots: int = 1
    depends_on: tuple[str, ...] = ()
    depends_on_ranges: tuple[tuple[int, int], ...] = ()
    max_retry_count: int = 0
    max_wall_clock_s: float | None = None
    failure_probability: float = 0.0
    container_image: str | None = None
    input_bytes: float = 0.0
    output_bytes: float = 0.0
    deadline_s: float | None = None
    failure_exit_codes: tuple[tuple[int, float], ...] = ((1, 1.0),)
    pre_processing_error_probability: float = 0.0
    file_upload_error_probability: float = 0.0
    exit_conditions: ExitConditionsSpec | None = None
    # A multi-instance task's `numberOfInstances` (REST task add `multiInstanceSettings`): the nodes
    # it holds at once, its primary on one and a subtask on each other; 1 is an ordinary task.
    number_of_instances: int = 1

    @property
    def plain(self) -> bool:
        """True when an attempt is only its run time: no image, staging, failure draw or time limit."""
        return (
            self.container_image is None
            and not self.input_bytes
            and not self.output_bytes
            and not self.failure_probability
            and self.max_wall_clock_s is None
            and not self.pre_processing_error_probability
            and not self.file_upload_error_probability
        )


@dataclass(slots=True)
class PrepTaskSpec:
    """A job preparation or release task: runs once per node per job, takes no slot."""

    duration_s: float
    failure_probability: float = 0.0
    wait_for_success: bool = True
    max_wall_clock_s: float | None = None


@dataclass(slots=True)
class JobManagerSpec:
    """The REST API's `jobManagerTask` of a job: started when the job is created, scheduled before
    the job's other tasks.

    kill_job_on_completion: its end (success or failure) ends the job, terminating the job's
        running tasks (terminateReason JMComplete).
    run_exclusive: no other task runs on its node while it runs; modelled as holding every slot.
    """

    duration_s: float
    task_id: str = "jobmanager"
    kill_job_on_completion: bool = True
    run_exclusive: bool = True
    required_slots: int = 1
    max_retry_count: int = 0
    failure_probability: float = 0.0


@dataclass(slots=True)
class JobSpec:
    """One job. Tasks reference it by `job_id`; jobs of a schedule are created by the engine."""

    job_id: str
    submit_s: float = 0.0
    priority: int = 0
    max_wall_clock_s: float | None = None
    uses_task_dependencies: bool = False
    preparation: PrepTaskSpec | None = None
    release: PrepTaskSpec | None = None
    # The REST API's job `onTaskFailure` (noaction | performexitoptionsjobaction) and
    # `onAllTasksComplete` (noaction | terminatejob): terminatejob ends the job once every task the
    # workload adds to it has completed (the client sets it after adding them, as the service advises).
    on_task_failure: str = "noaction"
    on_all_tasks_complete: str = "noaction"
    job_manager: JobManagerSpec | None = None


@dataclass(slots=True)
class ScheduleSpec:
    """A job schedule: the engine creates job k at `do_not_run_until_s + k * recurrence_interval_s`,
    at most one active job at a time (Batch behaviour §4.5).

    occurrences[k] holds the tasks of the k-th job, their `submit_s` relative to the job's creation
    and their `job_id` ignored (the engine names the job `"{schedule_id}-{k}"`).
    """

    schedule_id: str
    job: JobSpec
    occurrences: list[list[TaskSpec]]
    recurrence_interval_s: float | None = None
    do_not_run_until_s: float = 0.0
    do_not_run_after_s: float | None = None
    start_window_s: float | None = None


@dataclass(slots=True)
class Workload:
    """Everything a scenario submits: static jobs with their tasks, and job schedules."""

    jobs: list[JobSpec] = field(default_factory=list)
    tasks: list[TaskSpec] = field(default_factory=list)
    schedules: list[ScheduleSpec] = field(default_factory=list)
