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
from batchsim.workload.spec import JobSpec, PrepTaskSpec, ScheduleSpec, TaskSpec, Workload

__all__ = [
    "Bursts",
    "Diurnal",
    "JobSchedule",
    "Poisson",
    "Trace",
    "WorkloadEntry",
    "build_workload",
]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_duration: Distribution = Field(default_factory=lambda: Constant(dist="constant", value=60.0))
    required_slots: int = Field(default=1, ge=1)
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

    def job_id(self, index: int) -> str:
        return self.job or f"job-{index}"

    def tasks_at(self, times: np.ndarray, rng: np.random.Generator, index: int) -> list[TaskSpec]:
        durations = np.atleast_1d(self.task_duration.sample(rng, len(times))) if len(times) else np.empty(0)
        job = self.job_id(index)
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
            )
            for k, (t, d) in enumerate(zip(times, durations, strict=True))
        ]


def _poisson_times(rate_per_hour: float, start: float, end: float, rng: np.random.Generator) -> np.ndarray:
    """A homogeneous Poisson process on [start, end): Poisson count, uniform sorted times."""
    if end <= start or rate_per_hour <= 0:
        return np.empty(0)
    count = rng.poisson(rate_per_hour * (end - start) / 3600)
    return np.sort(rng.uniform(start, end, count))


class Poisson(_Entry):
    """Tasks arriving at a constant rate."""

    kind: Literal["poisson"]
    rate_per_hour: float = Field(ge=0)

    def generate(self, end: float, rng: np.random.Generator, index: int) -> list[TaskSpec]:
        return self.tasks_at(_poisson_times(self.rate_per_hour, self.start, end, rng), rng, index)


class Diurnal(_Entry):
    """A daily cycle: 24 hourly rates (UTC hours from the scenario start), or a sinusoid.

    sinusoid: rate(t) = mean_per_hour × (1 + amplitude × cos(2π (hour − peak_hour) / 24)).
    """

    kind: Literal["diurnal"]
    hourly_rates_per_hour: list[float] | None = Field(default=None, min_length=24, max_length=24)
    mean_per_hour: float | None = Field(default=None, ge=0)
    amplitude: float = Field(default=0.8, ge=0, le=1)
    peak_hour: float = Field(default=14.0, ge=0, lt=24)

    @model_validator(mode="after")
    def _one_shape(self) -> Diurnal:
        if (self.hourly_rates_per_hour is None) == (self.mean_per_hour is None):
            raise ValueError("give exactly one of hourly_rates_per_hour and mean_per_hour")
        if self.hourly_rates_per_hour is not None and min(self.hourly_rates_per_hour) < 0:
            raise ValueError("hourly rates cannot be negative")
        return self

    def rate_at(self, t: np.ndarray) -> np.ndarray:
        hour = (t / 3600) % 24
        if self.hourly_rates_per_hour is not None:
            rates: np.ndarray = np.asarray(self.hourly_rates_per_hour)[hour.astype(int)]
            return rates
        assert self.mean_per_hour is not None
        return self.mean_per_hour * (1 + self.amplitude * np.cos(2 * math.pi * (hour - self.peak_hour) / 24))

    def generate(self, end: float, rng: np.random.Generator, index: int) -> list[TaskSpec]:
        # Thinning (Lewis–Shedler) against the peak rate.
        if self.hourly_rates_per_hour is not None:
            peak = max(self.hourly_rates_per_hour)
        else:
            assert self.mean_per_hour is not None
            peak = self.mean_per_hour * (1 + self.amplitude)
        candidates = _poisson_times(peak, self.start, end, rng)
        keep = rng.uniform(0, peak, len(candidates)) < self.rate_at(candidates) if peak > 0 else np.zeros(0, bool)
        return self.tasks_at(candidates[keep], rng, index)


class Burst(BaseModel):
    model_config = ConfigDict(extra="forbid")

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
    """Tasks replayed from a trace file: CSV (`submit_s,duration_s[,slots][,job]`) or SWF v2.2.

    SWF fields used (1-based): 2 submit time, 4 run time, 5 allocated processors (8, requested, when
    5 is -1); jobs with a run time of -1 are skipped. Processors become required slots, capped at
    `max_required_slots`. `time_scale` stretches or compresses time (0.5: twice as fast).
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["trace"]
    path: str
    format: Literal["csv", "swf"] = "csv"
    time_scale: float = Field(default=1.0, gt=0)
    max_required_slots: int = Field(default=1, ge=1)
    job: str | None = None
    deadline: DurationS | None = None
    limit: int | None = Field(default=None, ge=1)

    def generate(self, end: float, rng: np.random.Generator, index: int) -> list[TaskSpec]:
        from batchsim.workload.traces import read_csv_trace, read_swf_trace

        rows = read_swf_trace(self.path) if self.format == "swf" else read_csv_trace(self.path)
        if rows:
            origin = min(r[0] for r in rows)
        tasks: list[TaskSpec] = []
        for k, (submit, duration, slots, job) in enumerate(rows[: self.limit]):
            t = (submit - origin) * self.time_scale
            if t >= end:
                continue
            tasks.append(
                TaskSpec(
                    task_id=f"w{index}-{k}",
                    job_id=self.job or job or f"job-{index}",
                    submit_s=t,
                    duration_s=duration * self.time_scale,
                    required_slots=min(max(slots, 1), self.max_required_slots),
                    deadline_s=None if self.deadline is None else t + self.deadline,
                )
            )
        return tasks


WorkloadEntry = Annotated[Poisson | Diurnal | Bursts | JobSchedule | Trace, Field(discriminator="kind")]


def build_workload(entries: list[WorkloadEntry], duration_s: float, seed: int) -> Workload:
    """Every entry's tasks and schedules; entry i draws from stream i of the run seed."""
    workload = Workload()
    streams = np.random.SeedSequence([seed, 0x776C]).spawn(len(entries))
    for index, (entry, stream) in enumerate(zip(entries, streams, strict=True)):
        rng = np.random.default_rng(stream)
        entry_end: float | None = getattr(entry, "end", None)
        end = duration_s if entry_end is None else min(duration_s, entry_end)
        if isinstance(entry, JobSchedule):
            workload.schedules.append(entry.schedule(end, rng, index))
            continue
        tasks = entry.generate(end, rng, index)
        workload.tasks.extend(tasks)
        if isinstance(entry, _Entry):
            job_id = entry.job_id(index)
            if all(job.job_id != job_id for job in workload.jobs):
                workload.jobs.append(JobSpec(job_id=job_id, priority=entry.priority))
    return workload
