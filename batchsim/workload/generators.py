"""Workload generators: the `workload:` entries of a scenario → `Workload` records.

Each entry draws from its own stream, spawned from the run seed and the entry's position, so that
changing one entry never reshuffles another's tasks (STYLE: common random numbers).
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from batchsim.dist import Constant, Distribution, DurationS
from batchsim.workload.rate_windows import RateFactor, apply_rate_factors, apply_to_schedule
from batchsim.workload.spec import (
    ExitConditionsSpec,
    ExitOptionsSpec,
    JobManagerSpec,
    JobSpec,
    PrepTaskSpec,
    ScheduleSpec,
    TaskResources,
    TaskSpec,
    Workload,
)

__all__ = [
    "MAX_COLLECTION_SIZE",
    "Bursts",
    "Collections",
    "DependsOn",
    "Diurnal",
    "ExitConditions",
    "IdRange",
    "JobManager",
    "JobSchedule",
    "ListedTask",
    "Poisson",
    "TaskList",
    "Trace",
    "WorkloadEntry",
    "build_workload",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExitOptions(_Strict):
    """The REST API's `ExitOptions`; unset fields take the service's defaults (none and satisfy for
    exit code 0, terminate and block for every other condition)."""

    job_action: Literal["none", "disable", "terminate"] | None = None
    dependency_action: Literal["satisfy", "block"] | None = None

    def spec(self) -> ExitOptionsSpec:
        return ExitOptionsSpec(self.job_action, self.dependency_action)


class ExitCodeMapping(_Strict):
    code: int
    exit_options: ExitOptions


class ExitCodeRangeMapping(_Strict):
    start: int
    end: int
    exit_options: ExitOptions

    @model_validator(mode="after")
    def _ordered(self) -> ExitCodeRangeMapping:
        if self.end < self.start:
            raise ValueError(f"an exit code range needs start <= end, got {self.start}..{self.end}")
        return self


# Evidence: REST task add `exitConditions` (learn.microsoft.com/rest/api/batchservice/task/add), §4.2.
class ExitConditions(_Strict):
    """How the service responds when a task completes, as the REST API's `exitConditions`."""

    exit_codes: list[ExitCodeMapping] = Field(default_factory=list)
    exit_code_ranges: list[ExitCodeRangeMapping] = Field(default_factory=list)
    pre_processing_error: ExitOptions | None = None
    file_upload_error: ExitOptions | None = None
    default: ExitOptions | None = None

    def every_options(self) -> list[ExitOptions]:
        listed = [m.exit_options for m in self.exit_codes] + [m.exit_options for m in self.exit_code_ranges]
        return listed + [o for o in (self.pre_processing_error, self.file_upload_error, self.default) if o]

    def spec(self) -> ExitConditionsSpec:
        def options(o: ExitOptions | None) -> ExitOptionsSpec | None:
            return None if o is None else o.spec()

        return ExitConditionsSpec(
            exit_codes=tuple((m.code, m.exit_options.spec()) for m in self.exit_codes),
            exit_code_ranges=tuple((m.start, m.end, m.exit_options.spec()) for m in self.exit_code_ranges),
            pre_processing_error=options(self.pre_processing_error),
            file_upload_error=options(self.file_upload_error),
            default=options(self.default),
        )


class FailureExitCode(_Strict):
    """A nonzero exit code a failed attempt exits with, drawn by `weight` among the entry's codes."""

    code: int
    weight: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _nonzero(self) -> FailureExitCode:
        if self.code == 0:
            raise ValueError("a failed attempt exits with a nonzero code; list exit code 0 under exit_conditions")
        return self


# Evidence: REST job add `jobManagerTask` (learn.microsoft.com/rest/api/batchservice/job/add), §4.4.
class JobManager(_Strict):
    """The job's job manager task: started when the job is created, before its other tasks;
    `kill_job_on_completion` (default true) ends the job when it ends; `run_exclusive` (default
    true) keeps every other task off its node while it runs."""

    duration: DurationS = Field(gt=0)
    id: str = "jobmanager"
    kill_job_on_completion: bool = True
    run_exclusive: bool = True
    required_slots: int = Field(default=1, ge=1)
    max_retry_count: int = Field(default=0, ge=-1)
    failure_probability: float = Field(default=0.0, ge=0, le=1)

    def spec(self) -> JobManagerSpec:
        return JobManagerSpec(
            duration_s=self.duration,
            task_id=self.id,
            kill_job_on_completion=self.kill_job_on_completion,
            run_exclusive=self.run_exclusive,
            required_slots=self.required_slots,
            max_retry_count=self.max_retry_count,
            failure_probability=self.failure_probability,
        )


class _Entry(_Strict):
    task_duration: Distribution = Field(default_factory=lambda: Constant(dist="constant", value=60.0))
    required_slots: int = Field(default=1, ge=1)
    resources: TaskResources | None = None  # what a task needs on a node (read by `plan`, not the engine)
    job: str | None = None
    priority: int = Field(default=0, ge=-1000, le=1000)
    max_retry_count: int = Field(default=0, ge=-1)
    max_wall_clock: DurationS | None = None
    failure_probability: float = Field(default=0.0, ge=0, le=1)
    container_image: str | None = None
    input_bytes: float = Field(default=0.0, ge=0)
    output_bytes: float = Field(default=0.0, ge=0)
    deadline: DurationS | None = None  # relative to submission, for deadline objectives
    start: DurationS = 0.0
    end: DurationS | None = None  # default: the scenario's duration
    rate_factors: list[RateFactor] = Field(default_factory=list)  # arrivals × factor in windows
    # Exit conditions (REST task add `exitConditions`) and what a failure looks like to them.
    failure_exit_codes: list[FailureExitCode] = Field(default_factory=list)  # default: exit code 1
    pre_processing_error_probability: float = Field(default=0.0, ge=0, le=1)
    file_upload_error_probability: float = Field(default=0.0, ge=0, le=1)
    exit_conditions: ExitConditions | None = None
    # The job's `onTaskFailure` and `onAllTasksComplete` (REST job add).
    on_task_failure: Literal["noaction", "performexitoptionsjobaction"] = "noaction"
    on_all_tasks_complete: Literal["noaction", "terminatejob"] = "noaction"
    job_manager: JobManager | None = None
    # Multi-instance tasks (REST task add `multiInstanceSettings.numberOfInstances`): nodes held at once.
    number_of_instances: int = Field(default=1, ge=1, le=100)

    @model_validator(mode="after")
    def _exit_options_allowed(self) -> _Entry:
        if self.exit_conditions is None:
            return self
        every = self.exit_conditions.every_options()
        if self.on_task_failure == "noaction" and any(o.job_action is not None for o in every):
            raise ValueError(
                "exit_conditions: a job_action needs on_task_failure: performexitoptionsjobaction"
                " (the service refuses it otherwise: 400, invalid property value)"
            )
        if not getattr(self, "uses_task_dependencies", False) and any(o.dependency_action is not None for o in every):
            raise ValueError(
                "exit_conditions: a dependency_action needs a task_list with uses_task_dependencies: true"
                " (the service refuses it otherwise: 400, invalid property value)"
            )
        return self

    @model_validator(mode="after")
    def _multi_instance_slots(self) -> _Entry:
        if self.number_of_instances > 1 and self.required_slots != 1:
            raise ValueError("a multi-instance task needs required_slots: 1 (the service refuses it otherwise)")
        return self

    def job_id(self, index: int) -> str:
        return self.job or f"job-{index}"

    def exit_fields(self) -> dict[str, object]:
        """The exit-condition fields of this entry's `TaskSpec`s, made once per entry."""
        fields: dict[str, object] = {}
        if self.failure_exit_codes:
            fields["failure_exit_codes"] = tuple((c.code, c.weight) for c in self.failure_exit_codes)
        if self.pre_processing_error_probability:
            fields["pre_processing_error_probability"] = self.pre_processing_error_probability
        if self.file_upload_error_probability:
            fields["file_upload_error_probability"] = self.file_upload_error_probability
        if self.exit_conditions is not None:
            fields["exit_conditions"] = self.exit_conditions.spec()
        if self.number_of_instances > 1:
            fields["number_of_instances"] = self.number_of_instances
        return fields

    def tasks_at(self, times: np.ndarray, rng: np.random.Generator, index: int) -> list[TaskSpec]:
        durations = np.atleast_1d(self.task_duration.sample(rng, len(times))) if len(times) else np.empty(0)
        job = self.job_id(index)
        exit_fields = self.exit_fields()
        return [
            TaskSpec(
                task_id=f"w{index}-{k}",
                job_id=job,
                submit_s=float(t),
                duration_s=float(d),
                required_slots=self.required_slots,
                max_retry_count=self.max_retry_count,
                max_wall_clock_s=self.max_wall_clock,
                failure_probability=self.failure_probability,
                container_image=self.container_image,
                input_bytes=self.input_bytes,
                output_bytes=self.output_bytes,
                deadline_s=None if self.deadline is None else float(t) + self.deadline,
                **exit_fields,  # type: ignore[arg-type]
            )
            for k, (t, d) in enumerate(zip(times, durations, strict=True))
        ]


def _poisson_times(rate_per_hour: float, start: float, end: float, rng: np.random.Generator) -> np.ndarray:
    """A homogeneous Poisson process on [start, end): Poisson count, uniform sorted times."""
    if end <= start or rate_per_hour <= 0:
        return np.empty(0)
    count = rng.poisson(rate_per_hour * (end - start) / 3600)
    return np.sort(rng.uniform(start, end, count))


# The service's Add Task Collection takes at most 100 tasks a call
# (learn.microsoft.com/rest/api/batchservice/task/add-collection): one collection's tasks share a
# creation instant, and no more than 100 do.
MAX_COLLECTION_SIZE = 100


class Collections(_Strict):
    """Tasks added in collections (Add Task Collection): the entry's rate stays tasks per hour.

    sizes: collection size (1..100) → weight; a collection's size is drawn by weight, so the
    collections come at the entry's rate ÷ the mean size. interval_cv2: the squared coefficient of
    variation of the intervals between collections (gamma-distributed, shape 1 / interval_cv2;
    1 is a Poisson process, above 1 over-dispersed: quiet spells and clumps). On a diurnal entry the
    intervals are in the entry's own clock (its cumulative rate), so the daily cycle holds.
    """

    sizes: dict[int, float] = Field(min_length=1)
    interval_cv2: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _sizes(self) -> Collections:
        for size, weight in self.sizes.items():
            if not 1 <= size <= MAX_COLLECTION_SIZE:
                raise ValueError(
                    f"sizes: a collection holds 1..{MAX_COLLECTION_SIZE} tasks (the service's Add Task"
                    f" Collection limit), got {size}"
                )
            if weight < 0:
                raise ValueError(f"sizes: weight of size {size} cannot be negative")
        if sum(self.sizes.values()) <= 0:
            raise ValueError("sizes: at least one weight must be positive")
        return self

    def mean_size(self) -> float:
        weights = np.asarray(list(self.sizes.values()), float)
        return float(np.asarray(list(self.sizes), float) @ weights / weights.sum())

    def times(self, clock_end: float, rng: np.random.Generator) -> np.ndarray:
        """Every task's submission in the entry's clock on [0, clock_end), where tasks come at rate 1."""
        mean_gap = self.mean_size()  # in the clock, tasks at rate 1: collections every mean size
        shape = 1.0 / self.interval_cv2
        scale = mean_gap / shape
        if clock_end <= 0:
            return np.empty(0)
        # The first instant from the stationary process (forward recurrence time: a length-biased
        # interval, Gamma(shape + 1), cut uniformly), so the window's start is no collection instant.
        first = rng.gamma(shape + 1, scale) * rng.uniform()
        expected = (clock_end - first) / mean_gap
        gaps = rng.gamma(shape, scale, max(int(expected + 6 * math.sqrt(expected * self.interval_cv2 + 1) + 10), 1))
        instants = first + np.concatenate([[0.0], np.cumsum(gaps)])
        while instants[-1] < clock_end:  # too few drawn (a tail event): draw on, from the same stream
            more = rng.gamma(shape, scale, len(gaps))
            instants = np.concatenate([instants, instants[-1] + np.cumsum(more)])
        instants = instants[instants < clock_end]
        sizes = np.asarray(list(self.sizes), int)
        weights = np.asarray(list(self.sizes.values()), float)
        drawn = rng.choice(sizes, size=len(instants), p=weights / weights.sum())
        return np.repeat(instants, drawn)


class Poisson(_Entry):
    """Tasks arriving at a constant rate; with `collections`, in collections at that task rate."""

    kind: Literal["poisson"]
    rate_per_hour: float = Field(ge=0)
    collections: Collections | None = None

    def generate(self, end: float, rng: np.random.Generator, index: int) -> list[TaskSpec]:
        if self.collections is None:
            return self.tasks_at(_poisson_times(self.rate_per_hour, self.start, end, rng), rng, index)
        return self.tasks_at(self.collection_times(self.start, end, rng), rng, index)

    def collection_times(self, low: float, high: float, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
        """Task submissions in collections on [low, high) at `scale` × the entry's rate."""
        assert self.collections is not None
        per_s = scale * self.rate_per_hour / 3600
        if high <= low or per_s <= 0:
            return np.empty(0)
        clock: np.ndarray = self.collections.times((high - low) * per_s, rng)
        return low + clock / per_s


class Diurnal(_Entry):
    """A daily cycle: 24 hourly rates (UTC hours from the scenario start), or a sinusoid.

    sinusoid: rate(t) = mean_per_hour × (1 + amplitude × cos(2π (hour − peak_hour) / 24)).
    weekday_factors: 7 multipliers of the rate, one per day from the scenario start (day 0 is the
    start's day), as `batchsim calibrate` fits them from a recorded week.
    """

    kind: Literal["diurnal"]
    hourly_rates_per_hour: list[float] | None = Field(default=None, min_length=24, max_length=24)
    mean_per_hour: float | None = Field(default=None, ge=0)
    amplitude: float = Field(default=0.8, ge=0, le=1)
    peak_hour: float = Field(default=14.0, ge=0, lt=24)
    weekday_factors: list[float] | None = Field(default=None, min_length=7, max_length=7)
    collections: Collections | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> Diurnal:
        if (self.hourly_rates_per_hour is None) == (self.mean_per_hour is None):
            raise ValueError("give exactly one of hourly_rates_per_hour and mean_per_hour")
        if self.hourly_rates_per_hour is not None and min(self.hourly_rates_per_hour) < 0:
            raise ValueError("hourly rates cannot be negative")
        if self.weekday_factors is not None and min(self.weekday_factors) < 0:
            raise ValueError("weekday factors cannot be negative")
        return self

    def rate_at(self, t: np.ndarray) -> np.ndarray:
        hour = (t / 3600) % 24
        if self.hourly_rates_per_hour is not None:
            rates: np.ndarray = np.asarray(self.hourly_rates_per_hour)[hour.astype(int)]
        else:
            assert self.mean_per_hour is not None
            rates = self.mean_per_hour * (1 + self.amplitude * np.cos(2 * math.pi * (hour - self.peak_hour) / 24))
        if self.weekday_factors is not None:
            rates = rates * np.asarray(self.weekday_factors)[((t / 86400) % 7).astype(int)]
        return rates

    def generate(self, end: float, rng: np.random.Generator, index: int) -> list[TaskSpec]:
        if self.collections is not None:
            return self.tasks_at(self.collection_times(self.start, end, rng), rng, index)
        # Thinning (Lewis–Shedler) against the peak rate.
        if self.hourly_rates_per_hour is not None:
            peak = max(self.hourly_rates_per_hour)
        else:
            assert self.mean_per_hour is not None
            peak = self.mean_per_hour * (1 + self.amplitude)
        if self.weekday_factors is not None:
            peak *= max(self.weekday_factors)
        candidates = _poisson_times(peak, self.start, end, rng)
        keep = rng.uniform(0, peak, len(candidates)) < self.rate_at(candidates) if peak > 0 else np.zeros(0, bool)
        return self.tasks_at(candidates[keep], rng, index)

    def collection_times(self, low: float, high: float, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
        """Task submissions in collections on [low, high) at `scale` × the entry's rate: the renewal
        process on the entry's clock Λ(t) = ∫ rate (tasks), mapped back to seconds (the renewal
        process time-changed by the daily cycle, Çinlar 1975, §4.7)."""
        assert self.collections is not None
        if high <= low:
            return np.empty(0)
        # The rate is constant within each hour (hourly rates) or nearly so within a minute (sinusoid):
        # a minute grid, the rate at each minute's middle, gives Λ piecewise linear.
        edges = np.append(np.arange(low, high, 60.0), high)
        middles = (edges[:-1] + edges[1:]) / 2
        clock_edges = np.concatenate([[0.0], np.cumsum(scale * self.rate_at(middles) * np.diff(edges) / 3600)])
        if clock_edges[-1] <= 0:
            return np.empty(0)
        clock = self.collections.times(float(clock_edges[-1]), rng)
        # Λ is non-decreasing; where it is flat (rate 0) np.interp takes the first of equal values,
        # and no collection falls in a flat stretch (its clock does not advance there).
        times: np.ndarray = np.interp(clock, clock_edges, edges)
        return times


class Burst(_Strict):
    at: DurationS
    count: int = Field(ge=0)


class Bursts(_Entry):
    """N tasks submitted at once, at given times."""

    kind: Literal["bursts"]
    bursts: list[Burst]

    def generate(self, end: float, rng: np.random.Generator, index: int) -> list[TaskSpec]:
        times = np.concatenate([np.full(b.count, b.at) for b in self.bursts if b.at < end] or [np.empty(0)])
        return self.tasks_at(np.sort(times), rng, index)


class PrepTask(BaseModel):
    model_config = ConfigDict(extra="forbid")

    duration: DurationS
    failure_probability: float = Field(default=0.0, ge=0, le=1)
    wait_for_success: bool = True


class JobSchedule(_Entry):
    """A job schedule: a job of `tasks_per_job` tasks every `recurrence_interval`."""

    kind: Literal["schedule"]
    recurrence_interval: DurationS | None = Field(default=None, ge=60)
    tasks_per_job: int = Field(ge=0)
    do_not_run_until: DurationS = 0.0
    do_not_run_after: DurationS | None = None
    start_window: DurationS | None = Field(default=None, ge=60)
    job_max_wall_clock: DurationS | None = None
    preparation: PrepTask | None = None
    release: PrepTask | None = None
    occurrences: int | None = Field(default=None, ge=1)

    def schedule(self, end: float, rng: np.random.Generator, index: int) -> ScheduleSpec:
        count = self.occurrences or (
            1
            if self.recurrence_interval is None
            else max(1, math.ceil((end - self.do_not_run_until) / self.recurrence_interval))
        )
        name = self.job or f"schedule-{index}"
        occurrences = [self.tasks_at(np.zeros(self.tasks_per_job), rng, index) for _ in range(count)]
        for k, tasks in enumerate(occurrences):
            for j, task in enumerate(tasks):
                task.task_id = f"{name}-{k}-{j}"

        def prep(p: PrepTask | None) -> PrepTaskSpec | None:
            return None if p is None else PrepTaskSpec(p.duration, p.failure_probability, p.wait_for_success)

        job = JobSpec(
            job_id=name,
            priority=self.priority,
            max_wall_clock_s=self.job_max_wall_clock,
            preparation=prep(self.preparation),
            release=prep(self.release),
            on_task_failure=self.on_task_failure,
            job_manager=None if self.job_manager is None else self.job_manager.spec(),
        )
        return ScheduleSpec(
            schedule_id=name,
            job=job,
            occurrences=occurrences,
            recurrence_interval_s=self.recurrence_interval,
            do_not_run_until_s=self.do_not_run_until,
            do_not_run_after_s=self.do_not_run_after,
            start_window_s=self.start_window,
        )


class Trace(BaseModel):
    """Tasks replayed from a trace file: CSV (`submit_s,duration_s[,slots][,job][,priority]`) or SWF v2.2.

    SWF fields used (1-based): 2 submit time, 4 run time, 5 allocated processors (8, requested, when
    5 is -1); jobs with a run time of -1 are skipped. Processors become required slots, capped at
    `max_required_slots`. `time_scale` stretches or compresses time (0.5: twice as fast).
    A CSV's `priority` column is its job's priority (the first row of a job gives it); every
    replayed attempt fails with `failure_probability` and is retried up to `max_retry_count` times.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["trace"]
    path: str
    format: Literal["csv", "swf"] = "csv"
    time_scale: float = Field(default=1.0, gt=0)
    max_required_slots: int = Field(default=1, ge=1)
    resources: TaskResources | None = None  # per task, as for the other entries
    job: str | None = None
    deadline: DurationS | None = None
    limit: int | None = Field(default=None, ge=1)
    failure_probability: float = Field(default=0.0, ge=0, le=1)
    max_retry_count: int = Field(default=0, ge=-1)
    origin: Literal["first", "zero"] = "first"  # zero: submit_s is already from the scenario start
    rate_factors: list[RateFactor] = Field(default_factory=list)

    def generate(self, end: float, rng: np.random.Generator, index: int) -> list[TaskSpec]:
        return self.generate_with_jobs(end, rng, index)[0]

    def generate_with_jobs(
        self, end: float, rng: np.random.Generator, index: int
    ) -> tuple[list[TaskSpec], dict[str, int]]:
        """The replayed tasks and the priority of each job they name."""
        from batchsim.workload.traces import read_csv_trace, read_swf_trace

        rows = [(*row, 0) for row in read_swf_trace(self.path)] if self.format == "swf" else read_csv_trace(self.path)
        origin = min(r[0] for r in rows) if rows and self.origin == "first" else 0.0
        tasks: list[TaskSpec] = []
        priorities: dict[str, int] = {}
        for k, (submit, duration, slots, job, priority) in enumerate(rows[: self.limit]):
            t = (submit - origin) * self.time_scale
            if t >= end:
                continue
            job_id = self.job or job or f"job-{index}"
            priorities.setdefault(job_id, priority)
            tasks.append(
                TaskSpec(
                    task_id=f"w{index}-{k}",
                    job_id=job_id,
                    submit_s=t,
                    duration_s=duration * self.time_scale,
                    required_slots=min(max(slots, 1), self.max_required_slots),
                    max_retry_count=self.max_retry_count,
                    failure_probability=self.failure_probability,
                    deadline_s=None if self.deadline is None else t + self.deadline,
                )
            )
        return tasks, priorities


class IdRange(BaseModel):
    """Integer task ids from `start` to `end`, both included (the REST API's `taskIdRanges` item)."""

    model_config = ConfigDict(extra="forbid")

    start: int
    end: int

    @model_validator(mode="after")
    def _ordered(self) -> IdRange:
        if self.end < self.start:
            raise ValueError(f"an id range needs start <= end, got {self.start}..{self.end}")
        return self

    def ids(self) -> list[str]:
        return [str(i) for i in range(self.start, self.end + 1)]


class DependsOn(BaseModel):
    """What a task waits for: ids and id ranges of tasks of the same job (the REST API's `dependsOn`)."""

    model_config = ConfigDict(extra="forbid")

    task_ids: list[str] = Field(default_factory=list)
    task_id_ranges: list[IdRange] = Field(default_factory=list)


class ListedTask(BaseModel):
    """One task of a `task_list` (`id`), or several with consecutive integer ids (`ids`)."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    ids: IdRange | None = None
    duration: Distribution | None = None  # default: the entry's task_duration
    submit: DurationS = Field(default=0.0, ge=0)  # after the entry's start
    required_slots: int | None = Field(default=None, ge=1)
    depends_on: DependsOn | None = None

    @model_validator(mode="after")
    def _one_id(self) -> ListedTask:
        if (self.id is None) == (self.ids is None):
            raise ValueError("give exactly one of id and ids")
        return self

    def task_ids(self) -> list[str]:
        return [self.id] if self.id is not None else self.ids.ids()  # type: ignore[union-attr]


# The service's limit on a task's dependency ids, in characters (batch-behavior §4.3).
_MAX_DEPENDENCY_ID_CHARS = 64_000


# Evidence: batch-behavior §4.3.
class TaskList(_Entry):
    """A job's tasks listed one by one, with task dependencies as the REST API has them.

    Each task's id (or `ids` range), duration, submission offset and `depends_on` (`task_ids`,
    `task_id_ranges`: integer ids, both ends included). A task starts once every task it depends
    on has succeeded; one that failed blocks it (dependencyAction block). Dependencies need
    `uses_task_dependencies: true`, as the service requires (else `TaskDependenciesNotSpecifiedOnJob`).
    """

    kind: Literal["task_list"]
    uses_task_dependencies: bool = False
    tasks: list[ListedTask] = Field(min_length=1)

    @model_validator(mode="after")
    def _dependencies_resolve(self) -> TaskList:
        ids = [task_id for task in self.tasks for task_id in task.task_ids()]
        known = set(ids)
        if len(known) != len(ids):
            repeated = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"task ids must be unique in a job; repeated: {', '.join(repeated[:5])}")
        edges: dict[str, list[str]] = {}
        for position, task in enumerate(self.tasks):
            if task.depends_on is None:
                continue
            where = f"tasks.{position}.depends_on"
            if not self.uses_task_dependencies:
                raise ValueError(
                    f"{where}: the job must set uses_task_dependencies: true"
                    " (the service refuses dependencies otherwise: TaskDependenciesNotSpecifiedOnJob)"
                )
            wanted = list(task.depends_on.task_ids)
            if sum(len(i) for i in wanted) > _MAX_DEPENDENCY_ID_CHARS:
                raise ValueError(f"{where}.task_ids: more than 64,000 characters (TaskDependencyListTooLong)")
            for id_range in task.depends_on.task_id_ranges:
                wanted += id_range.ids()
            unknown = sorted(set(wanted) - known)
            if unknown:
                raise ValueError(f"{where}: no task of this job has id {', '.join(repr(i) for i in unknown[:5])}")
            for task_id in task.task_ids():
                if task_id in wanted:
                    raise ValueError(f"{where}: task {task_id!r} depends on itself")
                edges[task_id] = wanted
        cycle = _cycle(edges)
        if cycle:
            raise ValueError(f"the dependencies form a cycle, which would never run: {' -> '.join(cycle)}")
        return self

    def generate(self, end: float, rng: np.random.Generator, index: int) -> list[TaskSpec]:
        job = self.job_id(index)
        exit_fields = self.exit_fields()
        specs: list[TaskSpec] = []
        for task in self.tasks:
            submit_s = self.start + task.submit
            ids = task.task_ids()
            dist = task.duration or self.task_duration
            durations = np.atleast_1d(dist.sample(rng, len(ids)))
            if submit_s >= end:
                continue
            depends = task.depends_on or DependsOn()
            for task_id, duration in zip(ids, durations, strict=True):
                specs.append(
                    TaskSpec(
                        task_id=task_id,
                        job_id=job,
                        submit_s=submit_s,
                        duration_s=float(duration),
                        required_slots=task.required_slots or self.required_slots,
                        depends_on=tuple(depends.task_ids),
                        depends_on_ranges=tuple((r.start, r.end) for r in depends.task_id_ranges),
                        max_retry_count=self.max_retry_count,
                        max_wall_clock_s=self.max_wall_clock,
                        failure_probability=self.failure_probability,
                        container_image=self.container_image,
                        input_bytes=self.input_bytes,
                        output_bytes=self.output_bytes,
                        deadline_s=None if self.deadline is None else submit_s + self.deadline,
                        **exit_fields,  # type: ignore[arg-type]
                    )
                )
        return sorted(specs, key=lambda t: t.submit_s)  # stable: listed order among equal times


def _cycle(edges: dict[str, list[str]]) -> list[str]:
    """A dependency cycle (task → what it depends on) as a list of ids, or [] (iterative DFS)."""
    done: set[str] = set()
    for root in edges:
        if root in done:
            continue
        path: list[str] = []
        on_path: set[str] = set()
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            node, i = stack.pop()
            if i == 0:
                if node in on_path:
                    return [*path[path.index(node) :], node]
                if node in done:
                    continue
                path.append(node)
                on_path.add(node)
            children = edges.get(node, [])
            if i < len(children):
                stack.append((node, i + 1))
                stack.append((children[i], 0))
            else:
                done.add(node)
                on_path.discard(node)
                path.pop()
    return []


WorkloadEntry = Annotated[Poisson | Diurnal | Bursts | JobSchedule | Trace | TaskList, Field(discriminator="kind")]


def build_workload(entries: list[WorkloadEntry], duration_s: float, seed: int) -> Workload:
    """Every entry's tasks and schedules; entry i draws from stream i of the run seed."""
    workload = Workload()
    streams = np.random.SeedSequence([seed, 0x776C]).spawn(len(entries))
    for index, (entry, stream) in enumerate(zip(entries, streams, strict=True)):
        rng = np.random.default_rng(stream)
        entry_end: float | None = getattr(entry, "end", None)
        end = duration_s if entry_end is None else min(duration_s, entry_end)
        # Rate windows draw from a stream of their own, so the entry's tasks stay the same (rate_windows).
        window_rng = np.random.default_rng([seed, 0x7266, index]) if entry.rate_factors else None
        if isinstance(entry, JobSchedule):
            schedule = entry.schedule(end, rng, index)
            if window_rng is not None:
                apply_to_schedule(entry, schedule, window_rng, index)
            workload.schedules.append(schedule)
            continue
        if isinstance(entry, Trace):
            tasks, priorities = entry.generate_with_jobs(end, rng, index)
            if window_rng is not None:
                tasks = apply_rate_factors(entry, tasks, end, window_rng, index)
            workload.tasks.extend(tasks)
            known = {job.job_id for job in workload.jobs}
            workload.jobs.extend(
                JobSpec(job_id=job_id, priority=priority)
                for job_id, priority in priorities.items()
                if job_id not in known and priority != 0
            )
            continue
        tasks = entry.generate(end, rng, index)
        if window_rng is not None:
            tasks = apply_rate_factors(entry, tasks, end, window_rng, index)
        workload.tasks.extend(tasks)
        if isinstance(entry, _Entry):
            job_id = entry.job_id(index)
            if all(job.job_id != job_id for job in workload.jobs):
                dependencies = isinstance(entry, TaskList) and entry.uses_task_dependencies
                workload.jobs.append(
                    JobSpec(
                        job_id=job_id,
                        priority=entry.priority,
                        uses_task_dependencies=dependencies,
                        on_task_failure=entry.on_task_failure,
                        on_all_tasks_complete=entry.on_all_tasks_complete,
                        job_manager=None if entry.job_manager is None else entry.job_manager.spec(),
                    )
                )
    return workload
