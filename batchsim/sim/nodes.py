"""A node's life: provisioning, the start task, readiness, and leaving the pool (batch-behavior §2, §1.5).

pending (no VM, not billed) → creating (the billed boot, the last `boot_billed_s` of the
provisioning delay) → waitingforstarttask → idle; a start task that fails after its retries leaves
the node `starttaskfailed`. Removal follows the deallocation option: `requeue`/`terminate` kill
the running tasks at once, `taskcompletion`/`retaineddata` drain them in `leavingpool`; leaving
takes `removal_delay`, billed.
"""

from __future__ import annotations

from collections.abc import Callable

from batchsim.sim.entities import Node, by_index
from batchsim.sim.scheduler import Scheduler
from batchsim.sim.state import PoolState
from batchsim.sim.streams import Streams

__all__ = ["Nodes"]


class Nodes:
    """Provisioning and removal of nodes, on the shared pool state."""

    __slots__ = ("_arm_eviction", "_arm_faults", "at", "calendar", "config", "rng_start_task", "scheduler", "state")
    _arm_eviction: Callable[[Node], None]
    _arm_faults: Callable[[Node], None]

    def __init__(self, state: PoolState, streams: Streams, scheduler: Scheduler) -> None:
        self.state = state
        self.calendar = state.calendar
        self.at = state.calendar.at
        self.config = state.config
        self.scheduler = scheduler
        self.rng_start_task = streams.start_task

    def connect(self, *, arm_eviction: Callable[[Node], None], arm_faults: Callable[[Node], None]) -> None:
        """What this room calls in the Spot and faults rooms (which call it): arm a Spot node's
        eviction once it has a VM, and a usable node's faults."""
        self._arm_eviction = arm_eviction
        self._arm_faults = arm_faults

    # -- provisioning ---------------------------------------------------------------------------
    def provision(self, node: Node, delay_s: float, shared_wait_s: float = 0.0) -> None:
        """Pending (no VM, not billed) through the resize's shared wait and the node's own delay but
        its last `boot_billed_s`, which it spends in `creating` (billed), then ready (§2.4)."""
        node.waiting_capacity = False
        boot = min(delay_s, self.config.provisioning_delay.boot_billed_s)
        self.at(shared_wait_s + delay_s - boot, self.vm_obtained, node, node.ready_token, boot)

    def vm_obtained(self, node: Node, token: int, boot_s: float) -> None:
        """The node has a VM (new, or restored after preemption): it boots for `boot_s`."""
        if node.ready_token != token or node.state == "gone":
            return
        self.state.set_state(node, "creating")
        if node.kind == "spot":
            self._arm_eviction(node)
        self.at(boot_s, self._booted, node, node.ready_token)

    def _booted(self, node: Node, token: int) -> None:
        if node.ready_token != token or node.state != "creating":
            return
        self.start_task(node)

    def start_task(self, node: Node) -> None:
        """Run the pool's start task (after a boot or a reboot): ready once it succeeds (§2.2)."""
        start = self.config.start_task
        duration = float(start.duration.sample(self.rng_start_task))
        if duration <= 0 and start.failure_probability == 0:
            self.state.set_state(node, "idle")
            self.became_ready(node)
            return
        if not start.wait_for_success:
            self.state.set_state(node, "idle")
            self.became_ready(node)
            return
        self.state.set_state(node, "waitingforstarttask")
        self.at(duration, self._start_task_done, node, node.ready_token, 0)

    def _start_task_done(self, node: Node, token: int, attempt: int) -> None:
        if node.ready_token != token or node.state != "waitingforstarttask":
            return
        start = self.config.start_task
        if self.rng_start_task.random() >= start.failure_probability:
            self.state.set_state(node, "idle")
            self.became_ready(node)
        elif attempt < start.max_retry_count:
            duration = float(start.duration.sample(self.rng_start_task))
            self.at(duration, self._start_task_done, node, token, attempt + 1)
        else:
            self.state.set_state(node, "starttaskfailed")  # unusable, still billed (§2.2)

    def became_ready(self, node: Node, initial: bool = False) -> None:
        """The node takes tasks; at t = 0 (`initial`) the first dispatch comes with the first arrivals."""
        self._arm_faults(node)
        self.scheduler.push_open(node)
        if not initial:
            self.scheduler.dispatch()

    def gone(self, node: Node) -> None:
        """The node is no longer in the pool; every event scheduled for it is void."""
        self.state.set_state(node, "gone")
        node.end_life()

    # -- removal (§1.5) ---------------------------------------------------------------------------
    def remove(self, node: Node, option: str) -> None:
        """Take a node out of the pool with the deallocation option's effect on its tasks."""
        if node.state in ("pending", "preempted"):
            self.gone(node)  # an unstarted allocation is cancelled; a preempted node is released
            return
        node.start_leaving(option)
        if option in ("requeue", "terminate") or not node.running:
            for task in sorted(node.running, key=by_index):  # sets iterate in memory order
                self.scheduler.kill(task, "killed" if option == "terminate" else "requeued")
            self.leave(node)
        else:
            node.draining = True  # taskcompletion / retaineddata: running tasks finish, nothing new starts
            self.state.set_state(node, "leavingpool")

    def leave(self, node: Node) -> None:
        """A node with no running task leaves; with `retaineddata`, only once the retention of every
        task it ran is over (`retention` after each attempt's end), billed while it waits."""
        node.draining = True
        now = self.calendar.now
        if node.removal_option == "retaineddata" and node.retain_until_s > now:
            self.state.set_state(node, "retaining")
            self.at(node.retain_until_s - now, self._leave_now, node)
            return
        self._leave_now(node)

    def _leave_now(self, node: Node) -> None:
        if node.state == "gone":  # evicted while it retained its tasks' data: the VM is gone already
            return
        self.state.set_state(node, "leavingpool")
        self.at(self.config.removal_delay, self.gone, node)
