"""The run's live objects: nodes, jobs and tasks, mutated in place by the rooms of the engine.

Slotted classes, not processes (STYLE: lean processes): a node's or a task's future is a few
callbacks on the calendar. What a run leaves behind is in `records.py`.
"""

from __future__ import annotations

from mypy_extensions import mypyc_attr

from batchsim.workload.spec import JobSpec, TaskSpec

__all__ = ["Job", "Node", "Task", "by_index"]


class Node:
    """A compute node.

    Scheduled events carry a token of their purpose and are void once it moved on, so that one
    change voids only what it concerns: `ready_token` the way to readiness (allocation, boot, start
    task, reboot, recovery), void once the VM is lost or the node leaves the pool; `eviction_token`
    the current VM's eviction, void once that VM is gone (a draining node can still be evicted);
    `restore_token` a preempted node's restore; `fault_token` a usable node's faults. The rooms
    change the node's VM through the methods below, each of which says what it voids.
    """

    __slots__ = (
        "barred_jobs",
        "draining",
        "eviction_token",
        "fault_token",
        "images",
        "index",
        "kind",
        "node_id",
        "prep_ready_s",
        "ready_token",
        "removal_option",
        "restore_deadline_s",
        "restore_token",
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
        self.ready_token = 0
        self.eviction_token = 0
        self.restore_token = 0
        self.fault_token = 0
        self.draining = False
        self.removal_option = "requeue"
        self.images: set[str] = set()
        self.prep_ready_s: dict[str, float] = {}  # job id → when its preparation task is done here
        self.barred_jobs: set[str] = set()
        self.waiting_capacity = False
        self.restore_deadline_s = 0.0
        self.retain_until_s = 0.0  # retaineddata: when the retention of every task it ran is over

    def lose_vm(self) -> None:
        """The VM is deleted (a Spot eviction): its local data (images, job preparations and the
        bars of failed ones, retained task data) goes with it, and so does everything armed for it."""
        self.images.clear()
        self.prep_ready_s.clear()
        self.barred_jobs.clear()
        self.retain_until_s = 0.0
        self.draining = False
        self.ready_token += 1
        self.eviction_token += 1
        self.fault_token += 1

    def forget_preparations(self) -> None:
        """A reboot: job preparation tasks rerun (`rerunOnNodeRebootAfterSuccess`, §4.4); the bars
        of failed ones last until a reimage."""
        self.prep_ready_s.clear()

    def start_leaving(self, option: str) -> None:
        """A shrink takes the node out with `option`: it will not become ready again; its VM
        stays, and with it the eviction armed for a Spot node (§3.4: `leavingpool` is live)."""
        self.removal_option = option
        self.ready_token += 1

    def end_life(self) -> None:
        """The node is gone: nothing armed for it happens."""
        self.ready_token += 1
        self.eviction_token += 1
        self.restore_token += 1
        self.fault_token += 1


# Picklable when compiled too (the compiled build, README): a sweep or a stress sends whole results back
# from its worker processes, with the run's tasks and their jobs (a run leaves no task on a node).
# mypyc's native classes pickle only with both attributes set.
@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Job:
    """A job: its spec, its tasks, how many of them finished, and when it ended."""

    __slots__ = (
        "created_s",
        "disabled",
        "done",
        "ended_s",
        "finished",
        "last_tag",
        "manager",
        "order",
        "scheduled",
        "spec",
        "tasks",
    )

    def __init__(self, spec: JobSpec, order: int, created_s: float) -> None:
        self.spec = spec
        self.order = order
        self.created_s = created_s
        self.finished = 0
        self.last_tag = 0  # the queue tag of the job's latest eligible task (jobDefaultOrder none)
        self.scheduled = 0  # tasks a job-schedule occurrence will add; 0 for ordinary jobs
        self.done = False
        self.disabled = False  # disabled by a task's exit options: its tasks stay active, none is scheduled
        self.ended_s: float | None = None
        self.tasks: list[Task] = []
        self.manager: Task | None = None  # its job manager task, if it has one


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Task:
    """A task. `token` invalidates the scheduled end of an attempt that was killed. `run_start_s`:
    when the current attempt runs, after the job preparation, image pull and staging it waits for;
    the task's first start (`first_start_s`) is recorded only once an attempt got there."""

    __slots__ = (
        "attempts",
        "dependents",
        "eligible_s",
        "end_s",
        "exit_code",
        "first_start_s",
        "gang",
        "index",
        "instances",
        "job",
        "node",
        "placed_s",
        "plain",
        "queue_order",
        "queue_tag",
        "remaining_deps",
        "requeue_count",
        "retry_count",
        "run_start_s",
        "seed_key",
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
        # Its place among equal-priority tasks (`Scheduler._queue_key`), kept when requeued; -1 until
        # first queued. Two ints, not a tuple: 48 bytes less a task.
        self.queue_tag = -1
        self.queue_order = -1
        self.node: Node | None = None
        self.placed_s = 0.0
        self.run_start_s = 0.0
        self.seed_key: int | None = None  # the task's identity as a seed (`Scheduler.task_rng`), made on first use
        self.plain = False
        self.remaining_deps = 0
        self.dependents: list[Task] | None = None  # made on the first dependent: most tasks have none
        self.token = 0
        self.instances = spec.number_of_instances  # how it counts in the task metrics (§4.4)
        self.gang: list[Node] | None = None  # a multi-instance task's subtask nodes while it runs
        self.exit_code: int | None = 0  # the current attempt's exit code; None when killed by its wall clock


def by_index(item: Node | Task) -> int:
    """Sort key: creation order. Sets iterate in memory order, so anything drawn or scheduled
    per node or per task goes through this to stay reproducible."""
    return item.index
