"""Jobs and their tasks' arrival: submission, dependencies, job schedules, wall clocks, preparation
and release tasks (batch-behavior §4.3–4.5)."""

from __future__ import annotations

import numpy as np

from batchsim.sim.entities import Job, Node, Task, by_index
from batchsim.sim.records import LIVE_STATES, Attempt
from batchsim.sim.scheduler import Scheduler
from batchsim.sim.state import PoolState
from batchsim.sim.streams import Streams, identity_key
from batchsim.workload.spec import JobManagerSpec, JobSpec, ScheduleSpec, TaskSpec, Workload

__all__ = ["Jobs"]


class Jobs:
    """Every job of the run, the arrivals still to come, and the schedules' current jobs."""

    __slots__ = (
        "_arrivals",
        "_current_of_schedule",
        "_schedule_of_job",
        "_waiting_occurrence",
        "at",
        "by_job_id",
        "calendar",
        "duration_s",
        "jobs",
        "outcome_entropy",
        "records",
        "scheduler",
        "state",
    )

    def __init__(self, state: PoolState, streams: Streams, scheduler: Scheduler, duration_s: float) -> None:
        self.state = state
        self.calendar = state.calendar
        self.at = state.calendar.at
        self.records = state.records
        self.scheduler = scheduler
        self.duration_s = duration_s
        self.outcome_entropy = streams.outcome_entropy
        self.jobs: dict[str, Job] = {}
        self.by_job_id: dict[tuple[str, str], Task] = {}  # (job id, task id) for jobs with dependencies
        self._arrivals: list[TaskSpec] = []
        self._current_of_schedule: dict[str, Job] = {}  # schedule id → its latest job
        self._schedule_of_job: dict[str, str] = {}  # job id → its schedule's id
        # schedule id → the occurrence (schedule, k, due) waiting for the schedule's job to end
        self._waiting_occurrence: dict[str, tuple[ScheduleSpec, int, float]] = {}

    def load(self, workload: Workload) -> None:
        """Create the static jobs, line up the tasks' arrivals, and start the schedules."""
        for spec in workload.jobs:
            self._add_job(spec, spec.submit_s)
        self._arrivals = sorted(workload.tasks, key=lambda t: t.submit_s)
        for job in self.jobs.values():
            if job.spec.on_all_tasks_complete == "terminatejob" and job.manager is not None:
                job.scheduled += 1  # its job manager is one of its tasks
        for task_spec in workload.tasks:
            owner = self.jobs.get(task_spec.job_id)
            if owner is not None and owner.spec.on_all_tasks_complete == "terminatejob":
                owner.scheduled += 1  # the job ends once the tasks the workload adds to it have completed
        for schedule in workload.schedules:
            self.at(schedule.do_not_run_until_s, self._schedule_due, schedule, 0, schedule.do_not_run_until_s)

    def _add_job(self, spec: JobSpec, created_s: float) -> Job:
        job = Job(spec, len(self.jobs), created_s)
        self.jobs[spec.job_id] = job
        if spec.max_wall_clock_s is not None:
            self.at(created_s + spec.max_wall_clock_s - self.calendar.now, self._job_timeout, job)
        if spec.job_manager is not None:
            manager = self._manager_spec(spec.job_manager, spec.job_id, created_s)
            if created_s <= self.calendar.now:
                job.manager = self._submit(manager)  # before any task of the job: scheduled first
            else:
                self.at(created_s - self.calendar.now, self._submit_manager, job, manager)
        return job

    def _manager_spec(self, manager: JobManagerSpec, job_id: str, created_s: float) -> TaskSpec:
        """The job manager as a task (REST job add `jobManagerTask`): run exclusive holds every slot
        of its node, so that it starts only on an empty node and nothing joins it there."""
        slots = self.state.config.task_slots_per_node if manager.run_exclusive else manager.required_slots
        return TaskSpec(
            task_id=manager.task_id,
            job_id=job_id,
            submit_s=created_s,
            duration_s=manager.duration_s,
            required_slots=max(slots, manager.required_slots),
            max_retry_count=manager.max_retry_count,
            failure_probability=manager.failure_probability,
        )

    def _submit_manager(self, job: Job, spec: TaskSpec) -> None:
        job.manager = self._submit(spec)
        self.scheduler.dispatch()

    # -- arrivals -------------------------------------------------------------------------------
    def arrive(self, i: int) -> None:
        """Submit every task due now from arrival `i` on, schedule the next arrival, then dispatch."""
        arrivals = self._arrivals
        now = self.calendar.now
        while i < len(arrivals) and arrivals[i].submit_s <= now:
            self._submit(arrivals[i])
            i += 1
        if i < len(arrivals):
            self.at(arrivals[i].submit_s - now, self.arrive, i)
        if self.scheduler.queue:
            self.scheduler.dispatch()

    def _submit(self, spec: TaskSpec) -> Task:
        now = self.calendar.now
        job = self.jobs.get(spec.job_id) or self._add_job(JobSpec(job_id=spec.job_id, submit_s=now), now)
        task = Task(spec, len(self.records.tasks), job)
        task.plain = spec.plain
        self.records.tasks.append(task)
        job.tasks.append(task)
        if job.spec.uses_task_dependencies:
            self.by_job_id[(job.spec.job_id, spec.task_id)] = task
        if job.done:  # a terminated job takes no new work
            self.scheduler.finish(task, "failed")
            return task
        if job.spec.uses_task_dependencies:
            for dep in self._dependencies(task):
                if dep.state != "completed":
                    task.remaining_deps += 1
                    if dep.dependents is None:
                        dep.dependents = []
                    dep.dependents.append(task)
        if task.remaining_deps == 0:
            self.scheduler.make_eligible(task)
        return task

    def _dependencies(self, task: Task) -> list[Task]:
        """The tasks `task` depends on, for a job that uses task dependencies (§4.3)."""
        spec = task.spec
        ids = list(spec.depends_on)
        for first, last in spec.depends_on_ranges:
            ids += [str(i) for i in range(first, last + 1)]
        job_id = task.job.spec.job_id
        return [d for d in (self.by_job_id.get((job_id, i)) for i in ids) if d is not None]

    def _submit_and_dispatch(self, spec: TaskSpec) -> None:
        self._submit(spec)
        self.scheduler.dispatch()

    # -- job schedules (§4.5) -----------------------------------------------------------------------
    def _schedule_due(self, schedule: ScheduleSpec, k: int, due_s: float) -> None:
        """Occurrence k is due: its job is created now, unless the schedule's previous job is still
        active (or terminating, its release tasks running): then it waits for that job's end, or is
        skipped once its start window has passed (§4.5)."""
        if schedule.do_not_run_after_s is not None and due_s > schedule.do_not_run_after_s:
            return
        now = self.calendar.now
        window = schedule.start_window_s
        if window is not None and now - due_s >= window:
            self._schedule_next(schedule, k, due_s)  # this occurrence is skipped
            return
        previous = self._current_of_schedule.get(schedule.schedule_id)
        if previous is not None and (not previous.done or (previous.ended_s or 0.0) > now):
            self._waiting_occurrence[schedule.schedule_id] = (schedule, k, due_s)
            if previous.done:  # terminating: it completes when its release tasks end
                self.at((previous.ended_s or now) - now, self._previous_ended, schedule.schedule_id)
            if window is not None:
                self.at(due_s + window - now, self._window_closed, schedule.schedule_id, k)
            return
        spec = JobSpec(
            job_id=f"{schedule.schedule_id}-{k}",
            submit_s=now,
            priority=schedule.job.priority,
            max_wall_clock_s=schedule.job.max_wall_clock_s,
            uses_task_dependencies=schedule.job.uses_task_dependencies,
            preparation=schedule.job.preparation,
            release=schedule.job.release,
            on_task_failure=schedule.job.on_task_failure,
            job_manager=schedule.job.job_manager,
        )
        job = self._add_job(spec, now)
        self._current_of_schedule[schedule.schedule_id] = job
        self._schedule_of_job[spec.job_id] = schedule.schedule_id
        occurrence = schedule.occurrences[k % len(schedule.occurrences)] if schedule.occurrences else []
        # The job ends when these tasks, and its manager, are done (onAllTasksComplete).
        job.scheduled = len(occurrence) + (job.manager is not None)
        for template in occurrence:
            delay = template.submit_s
            task_spec = TaskSpec(
                task_id=template.task_id,
                job_id=spec.job_id,
                submit_s=now + delay,
                duration_s=template.duration_s,
                required_slots=template.required_slots,
                depends_on=template.depends_on,
                depends_on_ranges=template.depends_on_ranges,
                max_retry_count=template.max_retry_count,
                max_wall_clock_s=template.max_wall_clock_s,
                failure_probability=template.failure_probability,
                container_image=template.container_image,
                input_bytes=template.input_bytes,
                output_bytes=template.output_bytes,
                deadline_s=None if template.deadline_s is None else now + template.deadline_s,
                failure_exit_codes=template.failure_exit_codes,
                pre_processing_error_probability=template.pre_processing_error_probability,
                file_upload_error_probability=template.file_upload_error_probability,
                exit_conditions=template.exit_conditions,
                number_of_instances=template.number_of_instances,
            )
            self.at(delay, self._submit_and_dispatch, task_spec)
        if not occurrence and job.manager is None:
            job.done = True
        self._schedule_next(schedule, k, due_s)

    def _previous_ended(self, schedule_id: str) -> None:
        """The schedule's job has completed: the occurrence that waited for it is created now."""
        waiting = self._waiting_occurrence.pop(schedule_id, None)
        if waiting is not None:
            self._schedule_due(*waiting)

    def _window_closed(self, schedule_id: str, k: int) -> None:
        waiting = self._waiting_occurrence.get(schedule_id)
        if waiting is not None and waiting[1] == k:
            del self._waiting_occurrence[schedule_id]
            self._schedule_next(waiting[0], k, waiting[2])  # the occurrence is skipped

    def _schedule_next(self, schedule: ScheduleSpec, k: int, due_s: float) -> None:
        if schedule.recurrence_interval_s is None:
            return
        next_due = due_s + schedule.recurrence_interval_s
        self.at(next_due - self.calendar.now, self._schedule_due, schedule, k + 1, next_due)

    # -- job ends ----------------------------------------------------------------------------------
    def _job_timeout(self, job: Job) -> None:
        """Job `maxWallClockTime` expired: running tasks are killed, the rest fail (§4.2)."""
        if job.done:
            return
        self.scheduler.terminate_job(job)
        self.scheduler.dispatch()

    def end_job(self, job: Job) -> None:
        """A job ends (§4.4–4.5): release tasks, then the schedule's occurrence that waited for it."""
        now = self.calendar.now
        job.done = True
        job.ended_s = now
        self._release(job, now)
        schedule_id = self._schedule_of_job.get(job.spec.job_id)
        if schedule_id is not None and schedule_id in self._waiting_occurrence:
            self.at(job.ended_s - now, self._previous_ended, schedule_id)  # no poll: the job's end wakes it

    def _release(self, job: Job, now: float) -> None:
        """The job's release task runs on every live node that ran its preparation; the job
        completes when the last one ends (`job.ended_s`)."""
        release = job.spec.release
        if release is None:
            return
        job_id = job.spec.job_id
        ended_s = now
        for kind in ("dedicated", "spot"):
            for node in sorted(self.state.live[kind], key=by_index):
                if job_id in node.prep_ready_s and node.state in LIVE_STATES:
                    duration = min(release.duration_s, release.max_wall_clock_s or 900.0)
                    self.records.attempts.append(
                        Attempt(
                            f"{job_id}-jobrelease",
                            job_id,
                            node.node_id,
                            node.kind,
                            now,
                            now + duration,
                            0,
                            "jobrelease",
                        )
                    )
                    ended_s = max(ended_s, now + duration)
        job.ended_s = ended_s

    def preparation(self, node: Node, job: Job) -> float:
        """When the job's preparation task is done on `node`, starting it now if it never ran (§4.4)."""
        job_id = job.spec.job_id
        if job_id not in node.prep_ready_s:
            prep = job.spec.preparation
            assert prep is not None
            # Keyed by the node and the job's identity (not its creation order): common random numbers.
            rng = np.random.default_rng([self.outcome_entropy, node.index, identity_key(job_id), 7])
            node.prep_ready_s[job_id] = self.calendar.now + prep.duration_s
            if prep.wait_for_success and rng.random() < prep.failure_probability:
                node.barred_jobs.add(job_id)
        return node.prep_ready_s[job_id]
