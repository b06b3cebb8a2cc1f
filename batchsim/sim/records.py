"""What a run leaves behind: one record type per table row, and the `Records` of a whole run.

STYLE: records at the engine, DataFrames at the boundary. The rooms append these rows to the lists
of one `Records` object while the run goes; `Result` turns each list into a DataFrame once, the
first time the table is read. A row type's fields are its table's columns, in order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from mypy_extensions import mypyc_attr

if TYPE_CHECKING:
    from batchsim.formula.context import SampleSeries
    from batchsim.sim.entities import Task

__all__ = [
    "BILLED_STATES",
    "LIVE_STATES",
    "Attempt",
    "Evaluation",
    "JobAction",
    "NodeInterval",
    "Records",
    "ResizeError",
    "TaskRow",
]

# batch-behavior §2.1 and §6.1: billed from `creating` until the node leaves, except while preempted.
BILLED_STATES = frozenset(
    {
        "creating",
        "waitingforstarttask",
        "starttaskfailed",
        "idle",
        "running",
        "leavingpool",
        "retaining",
        "unusable",
        "rebooting",
    }
)
# States in which a Spot node can be evicted (batch-behavior §3.4: `creating` … `leavingpool`).
LIVE_STATES = BILLED_STATES


class NodeInterval(NamedTuple):
    """A node in one state from `start_s` to `end_s` (the `nodes` table); `billed` per §6.1."""

    node_id: str
    kind: str
    state: str
    start_s: float
    end_s: float
    billed: bool


class Attempt(NamedTuple):
    """One attempt of a task on a node, or a job release run (outcome `jobrelease`, no slot)."""

    task_id: str
    job_id: str
    node_id: str
    kind: str
    start_s: float
    end_s: float
    slots: int
    # completed | failed | preprocessing_error | upload_error | requeued | node_fault | killed | preparation_failed
    # | jobrelease
    outcome: str


class Evaluation(NamedTuple):
    """One autoscale evaluation: the results string, the targets applied, the error if any."""

    time_s: float
    results: str
    target_dedicated: int
    target_spot: int
    node_deallocation_option: str
    error_code: str | None
    error_message: str | None


class ResizeError(NamedTuple):
    """A resize that fell short: quota reached, or no capacity within the resize timeout (§1.1)."""

    time_s: float
    kind: str
    code: str


class JobAction(NamedTuple):
    """A job disabled or terminated by what its tasks did (the `job_actions` table): a task's exit
    options (`reason` TaskFailed), the job's `onAllTasksComplete` (AllTasksComplete), or its job
    manager task's end with `killJobOnCompletion` (JMComplete)."""

    time_s: float
    job_id: str
    task_id: str
    action: str  # disable | terminate
    reason: str  # TaskFailed | AllTasksComplete | JMComplete


class TaskRow(NamedTuple):
    """A task at the end of the run (the `tasks` table); times are None when it never got there."""

    task_id: str
    job_id: str
    submit_s: float
    eligible_s: float | None
    start_s: float | None
    end_s: float | None
    state: str
    attempts: int  # attempts started: the first, retries, requeues and recoveries
    retry_count: int  # failed attempts retried (executionInfo.retryCount)
    requeue_count: int  # attempts killed and requeued by a shrink or an eviction (executionInfo.requeueCount)
    required_slots: int
    duration_s: float
    deadline_s: float | None


# Picklable when compiled too (the compiled build, README): a sweep or a stress sends whole results back
# from its worker processes. mypyc's native classes pickle only with both attributes set.
@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Records:
    """Everything one run recorded, handed to `Result` whole.

    tasks: the live task objects, turned into `TaskRow`s at the end. samples: every sampled
    metric's series (shared with the formula's context), taken at `sample_times`.
    """

    __slots__ = (
        "attempts",
        "duration_s",
        "evaluations",
        "events",
        "job_actions",
        "node_intervals",
        "preemptions",
        "requeues",
        "resize_errors",
        "sample_times",
        "samples",
        "seed",
        "tasks",
    )

    def __init__(self, duration_s: float, seed: int) -> None:
        self.duration_s = duration_s
        self.seed = seed
        self.node_intervals: list[NodeInterval] = []
        self.attempts: list[Attempt] = []
        self.evaluations: list[Evaluation] = []
        self.resize_errors: list[ResizeError] = []
        self.job_actions: list[JobAction] = []
        self.tasks: list[Task] = []
        self.sample_times: list[float] = []
        self.samples: dict[str, SampleSeries] = {}
        self.events = 0
        self.preemptions = 0
        self.requeues = 0

    def task_rows(self) -> list[TaskRow]:
        return [
            TaskRow(
                t.spec.task_id,
                t.job.spec.job_id,
                t.spec.submit_s,
                t.eligible_s,
                t.first_start_s,
                t.end_s,
                t.state,
                t.attempts,
                t.retry_count,
                t.requeue_count,
                t.spec.required_slots,
                t.spec.duration_s,
                t.spec.deadline_s,
            )
            for t in self.tasks
        ]
