"""What a run leaves behind: one record type per table row, and the `Records` of a whole run.

STYLE: records at the engine, DataFrames at the boundary. The rooms append these rows to the lists
of one `Records` object while the run goes; `Result` turns each list into a DataFrame once, the
first time the table is read. A row type's fields are its table's columns, in order.

The two tables with a row per event or so (`nodes`: every idle ↔ running flip; `attempts`) are
kept column by column instead (`NodeIntervals`, `Attempts`): times in `array('d')`, strings as
references to the strings the run already holds. A tuple per row cost 100-170 bytes with its
floats; a row of columns costs 40-60 (issue 26: the 1M-task week's peak memory). Iterating
them gives the row types still.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from mypy_extensions import mypyc_attr

if TYPE_CHECKING:
    from batchsim.formula.context import SampleSeries
    from batchsim.sim.entities import Task

__all__ = [
    "BILLED_STATES",
    "LIVE_STATES",
    "Attempt",
    "Attempts",
    "Evaluation",
    "JobAction",
    "NodeInterval",
    "NodeIntervals",
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


class NodeIntervals:
    """The `nodes` table, column by column (see the module's doc); `billed` follows from the state."""

    __slots__ = ("end_s", "kind", "node_id", "start_s", "state")

    def __init__(self) -> None:
        self.node_id: list[str] = []
        self.kind: list[str] = []
        self.state: list[str] = []
        self.start_s = array("d")
        self.end_s = array("d")

    def __len__(self) -> int:
        return len(self.node_id)

    def __iter__(self) -> Iterator[NodeInterval]:
        for node_id, kind, state, start_s, end_s in zip(
            self.node_id, self.kind, self.state, self.start_s, self.end_s, strict=True
        ):
            yield NodeInterval(node_id, kind, state, start_s, end_s, state in BILLED_STATES)

    def columns(self) -> dict[str, Any]:
        """The table's columns by name, in `NodeInterval`'s order."""
        return {
            "node_id": self.node_id,
            "kind": self.kind,
            "state": self.state,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "billed": [state in BILLED_STATES for state in self.state],
        }


class Attempts:
    """The `attempts` table, column by column (see the module's doc)."""

    __slots__ = ("end_s", "job_id", "kind", "node_id", "outcome", "slots", "start_s", "task_id")

    def __init__(self) -> None:
        self.task_id: list[str] = []
        self.job_id: list[str] = []
        self.node_id: list[str] = []
        self.kind: list[str] = []
        self.start_s = array("d")
        self.end_s = array("d")
        self.slots = array("q")
        self.outcome: list[str] = []

    def __len__(self) -> int:
        return len(self.task_id)

    def __iter__(self) -> Iterator[Attempt]:
        for row in zip(
            self.task_id,
            self.job_id,
            self.node_id,
            self.kind,
            self.start_s,
            self.end_s,
            self.slots,
            self.outcome,
            strict=True,
        ):
            yield Attempt(*row)

    def append(self, row: Attempt) -> None:
        """Add one row (the rare ones: job release runs; the scheduler appends column by column)."""
        self.task_id.append(row.task_id)
        self.job_id.append(row.job_id)
        self.node_id.append(row.node_id)
        self.kind.append(row.kind)
        self.start_s.append(row.start_s)
        self.end_s.append(row.end_s)
        self.slots.append(row.slots)
        self.outcome.append(row.outcome)

    def columns(self) -> dict[str, Any]:
        """The table's columns by name, in `Attempt`'s order."""
        return {
            "task_id": self.task_id,
            "job_id": self.job_id,
            "node_id": self.node_id,
            "kind": self.kind,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "slots": self.slots,
            "outcome": self.outcome,
        }


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
        self.node_intervals = NodeIntervals()
        self.attempts = Attempts()
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
