"""Runtime records of the engine: nodes, tasks, jobs (STYLE: records at the engine, DataFrames later).

Slotted classes mutated in place by the engine; `Result` turns them into DataFrames once, at the end.
"""

from __future__ import annotations

from batchsim.workload.spec import JobSpec, TaskSpec

__all__ = ["BILLED_STATES", "LIVE_STATES", "Job", "Node", "Task"]

# batch-behavior §2.1 and §6.1: billed from `creating` until the node leaves, except while preempted.
BILLED_STATES = frozenset(
    {"creating", "waitingforstarttask", "starttaskfailed", "idle", "running", "leavingpool", "retaining"}
)
# States in which a Spot node can be evicted (batch-behavior §3.4: `creating` … `leavingpool`).
LIVE_STATES = BILLED_STATES


class Node:
    """A compute node. `generation` invalidates scheduled events (eviction, readiness) on a change."""

    __slots__ = (
        "barred_jobs",
        "busy_key",
        "draining",
        "generation",
        "idle_key",
        "images",
        "index",
        "kind",
        "node_id",
        "prep_ready_s",
        "removal_option",
        "restore_deadline_s",
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
        self.idle_key = (kind, "idle")  # the engine's state counters' keys, built once
        self.busy_key = (kind, "running")
        self.since_s = now_s
        self.slots = slots
        self.used_slots = 0
        self.running: set[Task] = set()
        self.generation = 0
        self.draining = False
        self.removal_option = "requeue"
        self.images: set[str] = set()
        self.prep_ready_s: dict[str, float] = {}  # job id → when its preparation task is done here
        self.barred_jobs: set[str] = set()
        self.waiting_capacity = False
        self.restore_deadline_s = 0.0

    @property
    def free_slots(self) -> int:
        return self.slots - self.used_slots

    @property
    def schedulable(self) -> bool:
        return self.state in ("idle", "running") and not self.draining

    def __lt__(self, other: Node) -> bool:  # heap ties
        return self.index < other.index


class Job:
    """A job: its spec, its tasks' progress, and its nodes with a finished preparation task."""

    __slots__ = ("created_s", "done", "ended_s", "finished", "order", "outstanding", "scheduled", "spec", "tasks")

    def __init__(self, spec: JobSpec, order: int, created_s: float) -> None:
        self.spec = spec
        self.order = order
        self.created_s = created_s
        self.outstanding = 0
        self.finished = 0
        self.scheduled = 0  # tasks a job-schedule occurrence will add; 0 for ordinary jobs
        self.done = False
        self.ended_s: float | None = None
        self.tasks: list[Task] = []


class Task:
    """A task. `token` invalidates the scheduled end of an attempt that was killed."""

    __slots__ = (
        "attempt_start_s",
        "attempts",
        "dependents",
        "eligible_s",
        "end_s",
        "exit_code",
        "first_start_s",
        "index",
        "job",
        "node",
        "placed_s",
        "plain",
        "remaining_deps",
        "requeues",
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
        self.attempt_start_s = 0.0
        self.end_s: float | None = None
        self.attempts = 0
        self.requeues = 0
        self.node: Node | None = None
        self.placed_s = 0.0
        self.plain = False
        self.remaining_deps = 0
        self.dependents: list[Task] = []
        self.token = 0
        self.exit_code: int | None = None

    def __lt__(self, other: Task) -> bool:  # heap ties
        return self.index < other.index
