"""The task scheduler: the queue, placement on nodes, attempts, retries, and the end of a task.

batch-behavior §4.1–4.2: higher job priority first; among jobs of equal priority the pool's
`jobDefaultOrder`: `none` (the default) shares the pool evenly between them, `creationtime`
serves older jobs first; within a job, the order tasks became eligible. Spread picks the node with
the most free slots, pack the fullest that still fits, ties to the lowest index; a task that fits
nowhere does not block smaller ones. An attempt ends completed, failed (retried while
`max_retry_count` lasts: a retry budget that requeues do not use), or killed (requeued by a
shrink or an eviction, recovered after a node fault, or failed by a shrink with `terminate` or a
job's wall clock). A task's end goes through its exit conditions (REST task add `exitConditions`,
batch-behavior §4.2): they decide whether its dependents may run and, when the job's `onTaskFailure`
is `performexitoptionsjobaction`, whether the job is disabled or terminated.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from heapq import heappop, heappush

import numpy as np

from batchsim.sim.entities import Job, Node, Task
from batchsim.sim.records import Attempt, JobAction
from batchsim.sim.state import READY_STATES, PoolState
from batchsim.sim.streams import Streams, identity_key
from batchsim.workload.spec import ExitOptionsSpec

__all__ = ["Scheduler"]


class Scheduler:
    """Queue and placement. `queue` holds (-priority, key, task index, task) entries, where key
    orders equal-priority tasks (`_queue_key`); `open_heap` holds (key, node index, node) for nodes
    with free slots, key ordered by fill type. Both keep stale entries, dropped when they surface."""

    __slots__ = (
        "_append_attempt",
        "_attempt_columns",
        "_end_job",
        "_leave",
        "_preparation",
        "_round",
        "at",
        "by_creation",
        "calendar",
        "config",
        "latency_s",
        "only_barred",
        "open_heap",
        "outcome_entropy",
        "queue",
        "records",
        "retention_s",
        "spread",
        "state",
    )
    _preparation: Callable[[Node, Job], float]
    _end_job: Callable[[Job], None]
    _leave: Callable[[Node], None]

    def __init__(self, state: PoolState, streams: Streams) -> None:
        self.state = state
        self.calendar = state.calendar
        self.at = state.calendar.at
        self.config = state.config
        self.records = state.records
        self._append_attempt = state.records.attempts.append
        columns = state.records.attempts
        self._attempt_columns = (  # the appends of each column, bound once: a row per attempt
            columns.task_id.append,
            columns.job_id.append,
            columns.node_id.append,
            columns.kind.append,
            columns.start_s.append,
            columns.end_s.append,
            columns.slots.append,
            columns.outcome.append,
        )
        self.spread = state.config.node_fill_type == "spread"
        self.by_creation = state.config.job_default_order == "creationtime"
        self.latency_s = float(state.config.scheduler_latency)
        self.retention_s = float(state.config.retention)
        self.outcome_entropy = streams.outcome_entropy
        self._round: dict[int, int] = {}  # priority → the highest queue tag started (jobDefaultOrder none)
        self.queue: list[tuple[int, int, int, Task]] = []
        self.open_heap: list[tuple[int, int, Node]] = []
        self.only_barred = False  # the last `_pick_node` found room only on nodes barred for the task's job

    def connect(
        self,
        *,
        preparation: Callable[[Node, Job], float],
        end_job: Callable[[Job], None],
        leave: Callable[[Node], None],
    ) -> None:
        """What this room calls back in the jobs and nodes rooms (which call it): when a job's
        preparation is done on a node, a job's end, a drained node's leaving."""
        self._preparation = preparation
        self._end_job = end_job
        self._leave = leave

    # -- the queue ------------------------------------------------------------------------------
    def make_eligible(self, task: Task) -> None:
        """Queue a task: submitted with its dependencies met, retried, or requeued (in its old place)."""
        if task.eligible_s is None:
            task.eligible_s = self.calendar.now
        task.state = "active"
        self.state.active_count += task.instances
        job = task.job
        if job.disabled:  # it stays active, and is counted so, but is not scheduled
            return
        if task.queue_tag < 0:
            task.queue_tag, task.queue_order = self._queue_key(task)
        heappush(self.queue, (-job.spec.priority, task.queue_tag, task.queue_order, task))

    def _queue_key(self, task: Task) -> tuple[int, int]:
        """Where a newly eligible task goes among the tasks of equal priority.

        creationtime: its job's creation order, then its own. none: round robin between the jobs,
        as start-time fair queueing with one unit per task: a job's next task is tagged one more
        than its previous task's tag, or than the tag last started at this priority when the job
        was idle, so that a job joining late shares the pool from then on instead of overtaking
        (or waiting behind) the others' backlog; equal tags go to the older job.
        """
        job = task.job
        if self.by_creation:
            return job.order, task.index
        tag = max(job.last_tag, self._round.get(job.spec.priority, 0)) + 1
        job.last_tag = tag
        return tag, job.order

    def push_open(self, node: Node) -> None:
        """Offer a node's free slots to the queue (a ready node with room that is not draining)."""
        free = node.slots - node.used_slots
        if free > 0 and not node.draining and node.state in READY_STATES:
            heappush(self.open_heap, (-free if self.spread else free, node.index, node))

    def _pick_node(self, slots: int, task: Task) -> Node | None:
        """The node for a task: spread → most free slots, pack → fullest that fits; lowest index on
        ties. None when no node fits; then `only_barred` says whether some node has the slots but
        is barred for the task's job (its preparation failed there, §4.4), so that other jobs'
        tasks may still fit."""
        heap = self.open_heap
        spread = self.spread
        skipped: list[tuple[int, int, Node]] | None = None  # made on the first node passed over
        chosen = None
        barred = False
        while heap:
            key, _, node = heap[0]
            free = node.slots - node.used_slots
            if free <= 0 or key != (-free if spread else free) or node.draining or node.state not in READY_STATES:
                heappop(heap)  # stale entry
                continue
            if free >= slots:
                if not node.barred_jobs or task.job.spec.job_id not in node.barred_jobs:
                    chosen = node
                    break
                barred = True
            if skipped is None:
                skipped = []
            skipped.append(heappop(heap))
        if skipped is not None:
            for entry in skipped:
                heappush(heap, entry)
        self.only_barred = barred and chosen is None
        return chosen

    def _pick_gang(self, task: Task) -> list[Node] | None:
        """The nodes for a multi-instance task: `numberOfInstances` ready nodes with a free slot
        (the pool runs one task per node, §4.4), not barred for its job, by the fill order; None
        when fewer are free (it waits for all of them: gang scheduling)."""
        heap = self.open_heap
        spread = self.spread
        wanted = task.instances
        job_id = task.job.spec.job_id
        taken: list[tuple[int, int, Node]] = []
        skipped: list[tuple[int, int, Node]] = []
        while heap and len(taken) < wanted:
            entry = heapq.heappop(heap)
            key, _, node = entry
            free = node.slots - node.used_slots
            if free <= 0 or key != (-free if spread else free) or node.draining or node.state not in READY_STATES:
                continue  # stale entry
            if any(n is node for _, _, n in taken):
                continue  # a duplicate entry of a node already taken
            (skipped if node.barred_jobs and job_id in node.barred_jobs else taken).append(entry)
        if len(taken) < wanted:
            skipped += taken
            taken = []
        for entry in skipped:
            heapq.heappush(heap, entry)
        return [node for _, _, node in taken] or None

    def _hold_gang(self, task: Task, subtask_nodes: list[Node]) -> None:
        """A multi-instance task's subtasks take a slot on each of their nodes for the attempt."""
        task.gang = subtask_nodes
        state = self.state
        for node in subtask_nodes:
            node.used_slots += 1
            state.ready_used += 1
            node.running.add(task)
            if node.state == "idle":
                state.flip_busy(node, "running")
            self.push_open(node)

    def _release_gang(self, task: Task, outcome: str, subtask_nodes: list[Node]) -> None:
        """The attempt ended on every subtask node too: one attempt record each, the slot freed, and
        a draining node whose last task this was leaves (after the current event, so that a node
        being removed now is not removed twice)."""
        task.gang = None
        now = self.calendar.now
        for node in subtask_nodes:
            self._append_attempt(
                Attempt(
                    task.spec.task_id, task.job.spec.job_id, node.node_id, node.kind, task.placed_s, now, 1, outcome
                )
            )
            node.running.discard(task)
            node.retain_until_s = now + self.retention_s
            node.used_slots -= 1
            if node.state in READY_STATES:
                self.state.ready_used -= 1
                if not node.running and node.state == "running" and not node.draining:
                    self.state.flip_busy(node, "idle")
            self.push_open(node)
            if node.draining:
                self.at(0.0, self._leave_if_drained, node)

    def _leave_if_drained(self, node: Node) -> None:
        if node.draining and not node.running and node.state == "leavingpool":
            self._leave(node)

    def dispatch(self) -> None:
        """Start queued tasks while some node has room (§4.1): a task that fits nowhere does not
        block others, nor does one whose job is barred from every node with room (§4.4); the queue
        stops only at a one-slot task that no node has a free slot for."""
        queue = self.queue
        open_heap = self.open_heap
        if not queue or not open_heap or self.state.ready_slots == self.state.ready_used:
            return  # nothing queued, or every ready node full: no task can start (a third of the calls)
        blocked: list[tuple[int, int, int, Task]] = []
        barred: dict[str, int] | None = None  # job id → fewest slots its tasks found only barred nodes for
        by_creation = self.by_creation
        rounds = self._round
        while queue and open_heap:
            entry = heappop(queue)
            task = entry[3]
            if task.state != "active":
                continue
            slots = task.spec.required_slots
            if barred is not None and barred.get(task.job.spec.job_id, slots + 1) <= slots:
                blocked.append(entry)  # its job found only barred nodes for as many slots or fewer
                continue
            gang = None
            if task.instances == 1:
                node = self._pick_node(slots, task)
            else:
                gang = self._pick_gang(task)
                node = gang[0] if gang else None
            if node is None:
                blocked.append(entry)
                if self.only_barred:
                    if barred is None:
                        barred = {}
                    job_id = task.job.spec.job_id
                    barred[job_id] = min(slots, barred.get(job_id, slots))
                elif slots == 1 and task.instances == 1:
                    break
                continue
            if not by_creation and entry[1] > rounds.get(-entry[0], 0):
                rounds[-entry[0]] = entry[1]  # the round robin has reached this tag
            if gang is not None:
                self._hold_gang(task, gang[1:])
            self._start_attempt(task, node)
        for entry in blocked:
            heappush(queue, entry)

    # -- attempts ---------------------------------------------------------------------------------
    def _start_attempt(self, task: Task, node: Node) -> None:
        spec = task.spec
        state = self.state
        now = self.calendar.now
        instances = task.instances
        state.active_count -= instances
        state.running_count += instances
        task.state = "running"
        task.node = node
        task.attempts += 1
        token = task.token = task.token + 1
        task.placed_s = now
        slots = spec.required_slots
        used = node.used_slots = node.used_slots + slots
        state.ready_used += slots  # the node is idle or running: ready
        node.running.add(task)
        if node.state == "idle":
            state.flip_busy(node, "running")
        free = node.slots - used
        if free > 0 and not node.draining:  # push_open: the node is ready (running) here
            heappush(self.open_heap, (-free if self.spread else free, node.index, node))
        start_s = now + self.latency_s
        job = task.job
        if task.plain and job.spec.preparation is None:  # no preparation, image, staging, failure or limit
            task.run_start_s = start_s
            self.at(start_s + spec.duration_s - now, self._attempt_ended, task, token, "completed")
            return
        if job.spec.preparation is not None:
            start_s = max(start_s, self._preparation(node, job))
            if job.spec.job_id in node.barred_jobs:  # preparation failed: back to the queue
                task.run_start_s = math.inf  # this attempt never runs
                self.at(start_s - now, self._prep_failed, task, task.token)
                return
        if spec.container_image is not None and spec.container_image not in node.images:
            node.images.add(spec.container_image)
            start_s += float(self.config.container.image_pull.sample(self.task_rng(task, 1)))
        bandwidth = self.config.storage_bandwidth_bytes_per_s
        start_s += spec.input_bytes / bandwidth
        task.run_start_s = start_s
        p_pre = spec.pre_processing_error_probability
        if p_pre and self.task_rng(task, 2).random() < p_pre:
            task.run_start_s = math.inf  # the task failed to start: it never ran
            self.at(start_s - now, self._attempt_ended, task, task.token, "preprocessing_error")
            return
        run_s = spec.duration_s
        task.exit_code = 0
        if spec.failure_probability > 0:
            draw = self.task_rng(task, 0).random()
            if draw < spec.failure_probability:
                task.exit_code = _exit_code(spec.failure_exit_codes, draw / spec.failure_probability)
        timeout = spec.max_wall_clock_s is not None and run_s > spec.max_wall_clock_s
        if timeout:
            run_s = spec.max_wall_clock_s  # type: ignore[assignment]
            task.exit_code = None  # terminated by the service: no exit code of its own
        end_s = start_s + run_s + (0.0 if timeout else spec.output_bytes / bandwidth)
        outcome = "completed" if task.exit_code == 0 else "failed"
        if (
            not timeout
            and spec.file_upload_error_probability
            and self.task_rng(task, 3).random() < spec.file_upload_error_probability
        ):
            outcome = "upload_error"
        self.at(end_s - now, self._attempt_ended, task, task.token, outcome)

    def task_rng(self, task: Task, purpose: int) -> np.random.Generator:
        """A stream for one task attempt's own draws, keyed by the task's identity (its job's ID,
        which for a schedule's job names the schedule and the occurrence, and its own ID) and the
        attempt: common random numbers whatever the pool, the submission order or the history."""
        key = task.seed_key
        if key is None:
            key = task.seed_key = identity_key(task.job.spec.job_id, task.spec.task_id)
        return np.random.default_rng([self.outcome_entropy, key, task.attempts, purpose])

    def record_starts(self, until_s: float) -> None:
        """The run ends at `until_s`: a task still running then has started if its attempt got past
        its preparation, image pull and staging before that."""
        for node in self.state.nodes:
            for task in node.running:
                if task.first_start_s is None and task.run_start_s < until_s:
                    task.first_start_s = task.run_start_s

    def _prep_failed(self, task: Task, token: int) -> None:
        if task.token == token and task.state == "running":
            self._release_slot(task, "preparation_failed")
            self.state.running_count -= task.instances
            task.attempts -= 1  # the task itself never started
            self.make_eligible(task)
            self.dispatch()

    def _attempt_ended(self, task: Task, token: int, outcome: str) -> None:
        if task.token != token or task.state != "running":
            return
        node = self._release_slot(task, outcome)
        self.state.running_count -= task.instances
        if outcome == "completed":
            self.finish(task, "completed", "exit")
        elif outcome == "preprocessing_error":
            self.finish(task, "failed", "preprocessing")  # not retried (§4.2)
        elif task.exit_code != 0 and (task.spec.max_retry_count == -1 or task.retry_count < task.spec.max_retry_count):
            task.retry_count += 1  # a nonzero exit is retried, whatever its upload did (§4.2)
            self.make_eligible(task)
        else:
            self.finish(task, "failed", "upload" if outcome == "upload_error" else "exit")
        if node is not None and node.draining and not node.running and node.state == "leavingpool":
            self._leave(node)
        self.dispatch()

    def _release_slot(self, task: Task, outcome: str) -> Node | None:
        node = task.node
        task.node = None
        if node is None:
            return None
        if task.gang is not None:
            self._release_gang(task, outcome, task.gang)
        now = self.calendar.now
        if task.first_start_s is None and task.run_start_s <= now:
            task.first_start_s = task.run_start_s  # the attempt ran: the task's start (§4.2)
        add_task, add_job, add_node, add_kind, add_start, add_end, add_slots, add_outcome = self._attempt_columns
        spec = task.spec
        slots = spec.required_slots
        add_task(spec.task_id)
        add_job(task.job.spec.job_id)
        add_node(node.node_id)
        add_kind(node.kind)
        add_start(task.placed_s)
        add_end(now)
        add_slots(slots)
        add_outcome(outcome)
        running = node.running
        running.discard(task)
        node.retain_until_s = now + self.retention_s  # retaineddata keeps every task's data
        used = node.used_slots = node.used_slots - slots
        node_state = node.state
        if node_state in READY_STATES:
            self.state.ready_used -= slots
            if not running and node_state == "running" and not node.draining:
                self.state.flip_busy(node, "idle")
            free = node.slots - used
            if free > 0 and not node.draining:  # push_open, for the ready node
                heappush(self.open_heap, (-free if self.spread else free, node.index, node))
        return node

    def kill(self, task: Task, outcome: str) -> None:
        """End a running attempt now. `requeued` (a shrink with requeue, an eviction: `requeue_count`
        + 1), `node_fault` (requeued too, but a recovery that counts nowhere, §4.2), `killed` (failed)."""
        task.token += 1
        self._release_slot(task, outcome)
        self.state.running_count -= task.instances
        if outcome == "killed":
            self.finish(task, "failed")
            return
        if outcome == "requeued":
            task.requeue_count += 1
            self.records.requeues += 1
        self.make_eligible(task)

    def cancel(self, task: Task) -> None:
        """A task that is queued or waits for its dependencies fails without running (its job ended)."""
        if task.state == "active":
            self.state.active_count -= task.instances
        self.finish(task, "failed")

    def finish(self, task: Task, state: str, condition: str | None = None) -> None:
        """A task is done (`completed` or `failed`): its dependents and its job learn of it.

        condition: how it ended, for its exit conditions: `exit` (its exit code, `task.exit_code`),
        `preprocessing` or `upload` (the two errors); None when the service ended it (a job's end, a
        shrink with terminate), where no exit condition applies: its dependents stay blocked.
        """
        task.state = state
        task.end_s = self.calendar.now
        job = task.job
        if state == "completed":
            self.state.succeeded_count += 1
        else:
            self.state.failed_count += 1
        job_action = "none"
        satisfy = state == "completed"  # the defaults: satisfy on exit code 0, block otherwise (§4.2)
        if condition is not None and (task.spec.exit_conditions is not None or job.spec.on_task_failure != "noaction"):
            job_action, satisfy = _exit_actions(task, condition)
        if satisfy:
            for dependent in task.dependents or ():
                dependent.remaining_deps -= 1
                if dependent.remaining_deps == 0 and dependent.state == "waiting":
                    self.make_eligible(dependent)
        job.finished += 1
        if job_action != "none" and job.spec.on_task_failure == "performexitoptionsjobaction" and not job.done:
            self.records.job_actions.append(
                JobAction(self.calendar.now, job.spec.job_id, task.spec.task_id, job_action, "TaskFailed")
            )
            if job_action == "terminate":
                self.terminate_job(job)
            elif not job.disabled:
                self.disable_job(job)
        if job.manager is task and not job.done and job.spec.job_manager.kill_job_on_completion:  # type: ignore[union-attr]
            self.records.job_actions.append(
                JobAction(self.calendar.now, job.spec.job_id, task.spec.task_id, "terminate", "JMComplete")
            )
            self.terminate_job(job)
        if job.scheduled and job.finished >= job.scheduled and not job.done:
            if job.spec.on_all_tasks_complete == "terminatejob":
                self.records.job_actions.append(
                    JobAction(self.calendar.now, job.spec.job_id, task.spec.task_id, "terminate", "AllTasksComplete")
                )
            self._end_job(job)

    def terminate_job(self, job: Job) -> None:
        """The job ends now (a terminate job action, its wall clock): running tasks are killed, the
        rest fail without running (§4.2, §4.5)."""
        self._end_job(job)
        for task in list(job.tasks):
            if task.state == "running":
                self.kill(task, "killed")
            elif task.state in ("active", "waiting"):
                self.cancel(task)

    def disable_job(self, job: Job) -> None:
        """A disable job action: as the Disable Job API with `disableTasks` requeue, running tasks are
        killed and requeued and the job's tasks stay active, none scheduled, for the rest of the run
        (nothing re-enables it). They still count as active tasks: their state is `active` [assume]."""
        job.disabled = True
        for task in sorted((t for t in job.tasks if t.state == "running"), key=lambda t: t.index):
            self.kill(task, "requeued")
        queue = self.queue
        queue[:] = [entry for entry in queue if entry[3].job is not job]
        heapq.heapify(queue)


def _exit_code(codes: tuple[tuple[int, float], ...], fraction: float) -> int:
    """The exit code of a failed attempt: `fraction` (uniform in [0, 1)) through the codes' weights."""
    total = sum(weight for _, weight in codes)
    cumulative = 0.0
    for code, weight in codes:
        cumulative += weight
        if fraction * total < cumulative:
            return code
    return codes[-1][0]


_NO_OPTIONS = ExitOptionsSpec()


def _exit_actions(task: Task, condition: str) -> tuple[str, bool]:
    """The job action and whether dependents are satisfied, by the task's exit conditions (REST task
    add `exitConditions`): an exit code listed in `exitCodes` or `exitCodeRanges` first; else for a
    nonzero code `default`; a pre-processing or upload error its own entry, else `default` (an
    upload error after a listed exit code takes that code's options). Unset fields take the
    service's defaults: none and satisfy for exit code 0, terminate and block otherwise."""
    conditions = task.spec.exit_conditions
    code = task.exit_code
    success = condition == "exit" and code == 0
    options: ExitOptionsSpec | None = None
    if conditions is not None:
        listed = conditions.listed(code) if code is not None and condition != "preprocessing" else None
        if listed is not None:
            options = listed
        elif condition == "preprocessing":
            options = conditions.pre_processing_error or conditions.default
        elif condition == "upload":
            options = conditions.file_upload_error or conditions.default
        elif not success:
            options = conditions.default
    options = options or _NO_OPTIONS
    job_action = options.job_action or ("none" if success else "terminate")
    dependency_action = options.dependency_action or ("satisfy" if success else "block")
    return job_action, dependency_action == "satisfy"
