"""The run's live objects: nodes, jobs and tasks, mutated in place by the rooms of the engine.

Slotted classes, not processes (STYLE: lean processes): a node's or a task's future is a few
callbacks on the calendar. What a run leaves behind is in `records.py`.
"""

from __future__ import annotations

from batchsim.workload.spec import JobSpec, TaskSpec

__all__ = ["Job", "Node", "Task", "by_index"]


class Node:
    """A compute node. `generation` invalidates scheduled events (eviction, readiness) on a change."""

    __slots__ = (
        "barred_jobs",
        "draining",
        "fault_token",
        "generation",
        "images",
        "index",
        "kind",
        "node_id",
        "prep_ready_s",
        "removal_option",
        "restore_deadline_s",
        "retain_until_s",
        "running",
        "since_s",
        "slots",
        "state",
        "used_slots",
        "waiting_capacity",
    )

    def __init__(self, index: int, kind: str, slots: int, now_s: float) -> None:
        self.index = index
        self.node_id = f"tvm-{kind[0]}-{index:05d}"
        self.kind = kind  # "dedicated" | "spot"
        self.state = "pending"
        self.since_s = now_s
        self.slots = slots
        self.used_slots = 0
        self.running: set[Task] = set()
        self.generation = 0
        self.fault_token = 0  # invalidates a scheduled fault, apart from `generation`
        self.draining = False
        self.removal_option = "requeue"
        self.images: set[str] = set()
        self.prep_ready_s: dict[str, float] = {}  # job id → when its preparation task is done here
        self.barred_jobs: set[str] = set()
        self.waiting_capacity = False
        self.restore_deadline_s = 0.0
        self.retain_until_s = 0.0  # retaineddata: when the retention of every task it ran is over


class Job:
    """A job: its spec, its tasks, how many of them finished, and when it ended."""

    __slots__ = ("created_s", "done", "ended_s", "finished", "last_tag", "order", "scheduled", "spec", "tasks")

    def __init__(self, spec: JobSpec, order: int, created_s: float) -> None:
        self.spec = spec
        self.order = order
        self.created_s = created_s
        self.finished = 0
        self.last_tag = 0  # the queue tag of the job's latest eligible task (jobDefaultOrder none)
        self.scheduled = 0  # tasks a job-schedule occurrence will add; 0 for ordinary jobs
        self.done = False
        self.ended_s: float | None = None
        self.tasks: list[Task] = []


class Task:
    """A task. `token` invalidates the scheduled end of an attempt that was killed."""

    __slots__ = (
        "attempts",
        "dependents",
        "eligible_s",
        "end_s",
        "first_start_s",
        "index",
        "job",
        "node",
        "placed_s",
        "plain",
        "queue_key",
        "remaining_deps",
        "requeue_count",
        "retry_count",
        "spec",
        "state",
        "token",
    )

    def __init__(self, spec: TaskSpec, index: int, job: Job) -> None:
        self.spec = spec
        self.index = index
        self.job = job
        self.state = "waiting"  # waiting (not submitted or blocked) | active | running | completed | failed
        self.eligible_s: float | None = None
        self.first_start_s: float | None = None
        self.end_s: float | None = None
        self.attempts = 0  # attempts started (retries, requeues and recoveries included)
        self.retry_count = 0  # failed attempts retried (maxTaskRetryCount's budget, §4.2)
        self.requeue_count = 0  # attempts killed and requeued by a shrink or an eviction
        self.queue_key: tuple[int, int] | None = None  # its place among equal-priority tasks, kept when requeued
        self.node: Node | None = None
        self.placed_s = 0.0
        self.plain = False
        self.remaining_deps = 0
        self.dependents: list[Task] | None = None  # made on the first dependent: most tasks have none
        self.token = 0


def by_index(item: Node | Task) -> int:
    """Sort key: creation order. Sets iterate in memory order, so anything drawn or scheduled
    per node or per task goes through this to stay reproducible."""
    return item.index
