"""Resizes: bringing node counts to the targets by allocating and removing nodes (batch-behavior §1.4–1.5, §6.4).

Counted toward a target: every node of the kind that is not gone and not leaving, preempted
ones included (the service keeps seeking the Spot target). Growing is capped by the core quota
(`AccountCoreQuotaReached` / `AccountLowPriorityCoreQuotaReached`), and dedicated nodes by their
VM family's quota when enforced (`AccountVMSeriesCoreQuotaReached`); an allocation that finds no
capacity waits up to `pool.resize_timeout`, then ends `AllocationTimedout`; with
`allocation_failure_probability` some nodes fail at once (`AllocationFailed`, asked again at the
next evaluation). The nodes of one resize share one wait (`provisioning_delay.resize_wait`, §2.4)
before each starts its own delay. Shrinking removes nodes in the order preempted, start task
failed or unusable, not ready, idle, least busy.
"""

from __future__ import annotations

import heapq

from batchsim.sim.capacity import Capacity
from batchsim.sim.entities import Node, by_index
from batchsim.sim.nodes import Nodes
from batchsim.sim.records import ResizeError
from batchsim.sim.scheduler import Scheduler
from batchsim.sim.state import PoolState
from batchsim.sim.streams import Streams

__all__ = ["Resize"]

# Shrink order (§1.5): preempted, failed or unusable, not ready, idle, then the busy by fewest used slots.
_REMOVAL_RANK = {
    "preempted": 0,
    "starttaskfailed": 1,
    "unusable": 1,
    "pending": 2,
    "creating": 3,
    "waitingforstarttask": 3,
    "rebooting": 3,
    "idle": 4,
}
_NOT_COUNTED = frozenset({"leavingpool", "retaining"})  # leaving nodes count toward no target


# An inter-node communication pool's most nodes (batch-behavior §4.4: 100, 80 in user-subscription mode).
_INTER_NODE_MAX_NODES = 100


class Resize:
    """Targets → allocations and removals."""

    __slots__ = (
        "at",
        "calendar",
        "capacity",
        "config",
        "nodes",
        "records",
        "rng_failure",
        "rng_provision",
        "rng_resize_wait",
        "scheduler",
        "state",
    )

    def __init__(
        self, state: PoolState, streams: Streams, scheduler: Scheduler, nodes: Nodes, capacity: Capacity
    ) -> None:
        self.state = state
        self.calendar = state.calendar
        self.at = state.calendar.at
        self.config = state.config
        self.records = state.records
        self.scheduler = scheduler
        self.nodes = nodes
        self.capacity = capacity
        self.rng_provision = streams.provision
        self.rng_resize_wait = streams.resize_wait
        self.rng_failure = streams.allocation_failure

    def reconcile_later(self) -> None:
        """Resize toward the current targets once the current event is done (a node was lost)."""
        self.at(0.0, self.reconcile, self.config.node_deallocation_option)

    def reconcile(self, option: str) -> None:
        """Allocate or remove nodes of each kind until the counted nodes meet the target."""
        for kind in ("dedicated", "spot"):
            counted = self._counted(kind)
            target = self.state.target[kind]
            if len(counted) < target:
                self._allocate(kind, target - len(counted))
            elif len(counted) > target:
                # The removal order ends in the node's index, so it orders the nodes totally: the
                # set's memory order cannot show through, the nodes need no sort first, and the
                # node itself (last in each entry) is never compared.
                rank = _REMOVAL_RANK.get
                entries = [(rank(n.state, 5), n.used_slots, -n.index, n) for n in counted]
                for _rank, _used, _index, node in heapq.nsmallest(len(counted) - target, entries):
                    self.nodes.remove(node, option)
        self.scheduler.dispatch()

    def _counted(self, kind: str) -> list[Node]:
        """Nodes that count toward the target, in no particular order: not gone, not leaving
        (preempted ones included)."""
        return [n for n in self.state.live[kind] if not n.draining and n.state not in _NOT_COUNTED]

    def _allocate(self, kind: str, count: int) -> None:
        state = self.state
        count = self.within_quota(kind, count)
        if not self.capacity.available(kind):
            for _ in range(count):  # requested, waiting for capacity until the resize times out
                node = state.new_node(kind)
                node.waiting_capacity = True
                self.at(self.config.resize_timeout, self._capacity_timeout, node, node.ready_token)
            return
        failure = self.config.dedicated if kind == "dedicated" else self.config.spot
        if failure.allocation_failure_probability > 0 and count > 0:
            failed = int((self.rng_failure.random(count) < failure.allocation_failure_probability).sum())
            if failed:
                self.records.resize_errors.append(ResizeError(self.calendar.now, kind, "AllocationFailed"))
                count -= failed
        self._provision(kind, [state.new_node(kind) for _ in range(count)])

    def within_quota(self, kind: str, count: int) -> int:
        """How many of `count` new nodes of `kind` the core quota (and an inter-node communication
        pool's 100 nodes) allows; when fewer, the resize error the service reports
        (`Account…QuotaReached`, §6.4; `CommunicationEnabledPoolReachedMaxVMCount`). The pool's
        initial nodes too."""
        if self.config.inter_node_communication:
            live = self.state.live
            room = max(0, _INTER_NODE_MAX_NODES - len(live["dedicated"]) - len(live["spot"]))
            if count > room:
                self.records.resize_errors.append(
                    ResizeError(self.calendar.now, kind, "CommunicationEnabledPoolReachedMaxVMCount")
                )
                count = room
        allowed = self._quota_nodes(kind)
        if allowed is None or allowed >= count:
            return count
        code = "AccountCoreQuotaReached" if kind == "dedicated" else "AccountLowPriorityCoreQuotaReached"
        family = self._family_nodes() if kind == "dedicated" else None
        if family is not None and family == allowed:
            code = "AccountVMSeriesCoreQuotaReached"  # the family's quota binds first (§1.1, §6.4)
        self.records.resize_errors.append(ResizeError(self.calendar.now, kind, code))
        return allowed

    def quota_allows(self, kind: str, count: int) -> bool:
        """True when the core quota has room for `count` more nodes of `kind` (§6.4)."""
        allowed = self._quota_nodes(kind)
        return allowed is None or allowed >= count

    def _quota_nodes(self, kind: str) -> int | None:
        """How many more nodes of `kind` the core quota has room for: ⌊free cores ÷ vCPUs⌋, None when unlimited."""
        quota = self.config.quota.dedicated_cores if kind == "dedicated" else self.config.quota.spot_cores
        family = self._family_nodes() if kind == "dedicated" else None
        if quota is None:
            return family
        total = max(0, (quota - self.state.cores_in_use(kind)) // self.state.vcpus)
        return total if family is None else min(total, family)

    def _family_nodes(self) -> int | None:
        """How many more dedicated nodes the pool's VM family quota has room for, None when none binds."""
        quota = self.config.quota.family_cores(self.config.vm_family)
        if quota is None:
            return None
        return max(0, (quota - self.state.cores_in_use("dedicated")) // self.state.vcpus)

    def capacity_returned(self, kind: str) -> None:
        """A shortage of `kind` ended: the allocations that waited for it proceed, as one resize."""
        waiting = [
            n for n in sorted(self.state.live[kind], key=by_index) if n.waiting_capacity and n.state == "pending"
        ]
        self._provision(kind, waiting)

    def _provision(self, kind: str, nodes: list[Node]) -> None:
        """Start the nodes of one resize: the resize's shared wait (when modelled), then each node's own delay."""
        if not nodes:
            return
        delays = self.config.provisioning_delay
        per_node = delays.dedicated if kind == "dedicated" else delays.spot
        wait_s = 0.0
        if delays.resize_wait is not None:
            shared = delays.resize_wait.dedicated if kind == "dedicated" else delays.resize_wait.spot
            wait_s = float(shared.sample(self.rng_resize_wait))
        for node in nodes:
            self.nodes.provision(node, float(per_node.sample(self.rng_provision)), wait_s)

    def _capacity_timeout(self, node: Node, token: int) -> None:
        if node.ready_token == token and node.waiting_capacity and node.state == "pending":
            self.records.resize_errors.append(ResizeError(self.calendar.now, node.kind, "AllocationTimedout"))
            self.nodes.gone(node)
            self.reconcile_later()
