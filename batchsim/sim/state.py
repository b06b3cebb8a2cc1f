"""The pool's shared state: every node, the counts the service reports, the targets, the records.

One object that every room of the engine reads and writes: the scheduler moves the task counts,
the node rooms move nodes between states through `set_state`, autoscale reads both. Node state
changes live here, not in a room, because each one must keep three things true at once: the
node's record interval, the per-state counters, and the free-slot totals of ready nodes.
"""

from __future__ import annotations

from collections import Counter

from batchsim.sim.calendar import Calendar
from batchsim.sim.config import PoolConfig, vcpus_of
from batchsim.sim.entities import Node
from batchsim.sim.records import Records

__all__ = ["READY_STATES", "PoolState"]

READY_STATES = frozenset({"idle", "running"})
_COUNTED_AS = {"idle": "ready", "running": "ready"}  # state_count's key for a state, when not itself


class PoolState:
    """Nodes and their counts, task counts, targets, and the run's records.

    live: every node of a kind that has not gone (pending and preempted ones included).
    state_count: nodes per (kind, state), idle and running counted together as "ready" (so that a
    task starting or ending moves no counter). ready_slots / ready_used: slots of ready nodes, and
    how many of them are busy. target: the current targets by kind.
    active_count / running_count / succeeded_count / failed_count: tasks as the task metrics
    count them (batch-behavior §5).
    """

    __slots__ = (
        "_interval_columns",
        "active_count",
        "calendar",
        "config",
        "failed_count",
        "live",
        "nodes",
        "ready_slots",
        "ready_used",
        "records",
        "running_count",
        "state_count",
        "succeeded_count",
        "target",
        "vcpus",
    )

    def __init__(self, config: PoolConfig, calendar: Calendar, records: Records) -> None:
        self.config = config
        self.calendar = calendar
        self.records = records
        columns = records.node_intervals
        self._interval_columns = (  # the appends of each column, bound once: a row per event or so
            columns.node_id.append,
            columns.kind.append,
            columns.state.append,
            columns.start_s.append,
            columns.end_s.append,
        )
        self.vcpus = vcpus_of(config)
        self.nodes: list[Node] = []
        self.live: dict[str, set[Node]] = {"dedicated": set(), "spot": set()}
        self.state_count: Counter[tuple[str, str]] = Counter()
        self.ready_slots = 0
        self.ready_used = 0
        self.target = {"dedicated": config.initial_dedicated, "spot": config.initial_spot}
        self.active_count = 0
        self.running_count = 0
        self.succeeded_count = 0
        self.failed_count = 0

    def new_node(self, kind: str) -> Node:
        """A new `pending` node of `kind` (requested, no VM yet)."""
        node = Node(len(self.nodes), kind, self.config.task_slots_per_node, self.calendar.now)
        self.nodes.append(node)
        self.live[kind].add(node)
        self.state_count[(kind, "pending")] += 1
        return node

    def set_state(self, node: Node, state: str) -> None:
        """Change a node's state, closing its record interval and keeping the counters true."""
        old = node.state
        if old == state:
            return
        now = self.calendar.now
        self.close_interval(node, now)
        counts = self.state_count
        counts[(node.kind, _COUNTED_AS.get(old, old))] -= 1
        counts[(node.kind, _COUNTED_AS.get(state, state))] += 1
        if old in READY_STATES:
            self.ready_slots -= node.slots
            self.ready_used -= node.used_slots
        if state in READY_STATES:
            self.ready_slots += node.slots
            self.ready_used += node.used_slots
        if state == "gone":
            self.live[node.kind].discard(node)
        node.state = state
        node.since_s = now

    def flip_busy(self, node: Node, state: str) -> None:
        """`set_state` for idle ↔ running, the change every task makes: both states are ready and
        billed and counted together, so only the record moves (a third of a short run's events)."""
        now = self.calendar.now
        if now > node.since_s:
            add_node, add_kind, add_state, add_start, add_end = self._interval_columns
            add_node(node.node_id)
            add_kind(node.kind)
            add_state(node.state)
            add_start(node.since_s)
            add_end(now)
        node.state = state
        node.since_s = now

    def close_interval(self, node: Node, end_s: float) -> None:
        """Record the node's current state up to `end_s` (nothing for a gone node or an empty interval)."""
        if end_s > node.since_s and node.state != "gone":
            add_node, add_kind, add_state, add_start, add_end = self._interval_columns
            add_node(node.node_id)
            add_kind(node.kind)
            add_state(node.state)
            add_start(node.since_s)
            add_end(end_s)
            node.since_s = end_s

    def current(self, kind: str) -> int:
        """Nodes the service lists for a kind: every node with a VM (pending and gone excluded)."""
        return len(self.live[kind]) - self.state_count[(kind, "pending")]

    def usable(self) -> int:
        """Nodes with a VM that can run tasks or will once ready: neither preempted nor faulted
        (`unusable`, `rebooting`, `starttaskfailed`): `$UsableNodeCount`."""
        counts = self.state_count
        return sum(
            self.current(kind)
            - counts[(kind, "preempted")]
            - counts[(kind, "unusable")]
            - counts[(kind, "rebooting")]
            - counts[(kind, "starttaskfailed")]
            for kind in ("dedicated", "spot")
        )

    def preempted(self) -> int:
        """Preempted nodes of both kinds (`$PreemptedNodeCount`)."""
        return self.state_count[("spot", "preempted")] + self.state_count[("dedicated", "preempted")]

    def cores_in_use(self, kind: str) -> int:
        """Cores a kind holds against its quota: every live node but the preempted (batch-behavior §6.4)."""
        return (len(self.live[kind]) - self.state_count[(kind, "preempted")]) * self.vcpus
