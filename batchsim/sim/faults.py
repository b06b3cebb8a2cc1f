"""Node faults: a usable node becomes `unusable` or reboots (batch-behavior §2.1 fault-only states).

Off by default (`pool.node_faults`, rates per hour of a usable node) [assume]. The node's running
tasks go back to the queue as recoveries, counted neither as retries nor as requeues (§4.2). An
unusable node stays so, billed, until a shrink removes it (it is removed early, with the failed
ones) or for `unusable_recovery`; a rebooting node runs its start task again after
`reboot_duration`, and its job preparation tasks rerun (`rerunOnNodeRebootAfterSuccess`, §4.4).
While faulted a node is not usable: `$UsableNodeCount` leaves it out.
"""

from __future__ import annotations

from batchsim.sim.entities import Node, by_index
from batchsim.sim.nodes import Nodes
from batchsim.sim.scheduler import Scheduler
from batchsim.sim.state import READY_STATES, PoolState
from batchsim.sim.streams import Streams

__all__ = ["Faults"]


class Faults:
    """Draws each usable node's next fault and plays it out."""

    __slots__ = ("at", "config", "nodes", "rng", "scheduler", "state")

    def __init__(self, state: PoolState, streams: Streams, scheduler: Scheduler, nodes: Nodes) -> None:
        self.state = state
        self.at = state.calendar.at
        self.config = state.config.node_faults
        self.scheduler = scheduler
        self.nodes = nodes
        self.rng = streams.faults

    def arm(self, node: Node) -> None:
        """The node became usable: draw when it would next become unusable, and reboot."""
        config = self.config
        if config.unusable_rate_per_hour == 0 and config.reboot_rate_per_hour == 0:
            return
        node.fault_token += 1
        token = node.fault_token
        for state, rate in (("unusable", config.unusable_rate_per_hour), ("rebooting", config.reboot_rate_per_hour)):
            if rate > 0:
                self.at(float(self.rng.exponential(3600.0 / rate)), self._fault, node, token, state)

    def _fault(self, node: Node, token: int, state: str) -> None:
        if node.fault_token != token or node.state not in READY_STATES or node.draining:
            return
        node.fault_token += 1  # the node's other armed fault is void
        for task in sorted(node.running, key=by_index):  # sets iterate in memory order
            self.scheduler.kill(task, "node_fault")
        self.state.set_state(node, state)
        if state == "rebooting":
            self.at(float(self.config.reboot_duration.sample(self.rng)), self._rebooted, node, node.ready_token)
        elif self.config.unusable_recovery is not None:
            self.at(float(self.config.unusable_recovery.sample(self.rng)), self._recovered, node, node.ready_token)
        self.scheduler.dispatch()

    def _rebooted(self, node: Node, token: int) -> None:
        if node.ready_token != token or node.state != "rebooting":
            return
        node.forget_preparations()
        self.nodes.start_task(node)

    def _recovered(self, node: Node, token: int) -> None:
        if node.ready_token != token or node.state != "unusable":
            return
        self.state.set_state(node, "idle")
        self.nodes.became_ready(node)
