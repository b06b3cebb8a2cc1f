"""Spot nodes: eviction, correlated reclaims, and restore under the same ID (batch-behavior §3).

Each live Spot node is evicted at `spot.eviction_rate_per_hour` (independent exponential, §3.4
model 1); reclaim events (Poisson) evict each live Spot node with probability f ~ Beta (model 2).
An evicted node is `preempted`: its running tasks are requeued, its VM and local data are gone,
it stays counted, and after `spot.restore_wait` it comes back through `creating`, unless capacity
is short (then it waits again) or `spot.restore_give_up` has passed (then it is dropped and the
pool replaces it).
"""

from __future__ import annotations

import math

from batchsim.sim.capacity import Capacity
from batchsim.sim.entities import Node, by_index
from batchsim.sim.nodes import Nodes
from batchsim.sim.records import LIVE_STATES
from batchsim.sim.resize import Resize
from batchsim.sim.scheduler import Scheduler
from batchsim.sim.state import PoolState
from batchsim.sim.streams import Streams

__all__ = ["Spot"]


class Spot:
    """Eviction and restore of Spot nodes."""

    __slots__ = (
        "at",
        "calendar",
        "capacity",
        "config",
        "nodes",
        "records",
        "resize",
        "rng_evict",
        "rng_mass",
        "rng_reclaim",
        "rng_restore",
        "scheduler",
        "state",
    )

    def __init__(
        self,
        state: PoolState,
        streams: Streams,
        scheduler: Scheduler,
        nodes: Nodes,
        capacity: Capacity,
        resize: Resize,
    ) -> None:
        self.state = state
        self.calendar = state.calendar
        self.at = state.calendar.at
        self.config = state.config.spot
        self.records = state.records
        self.scheduler = scheduler
        self.nodes = nodes
        self.capacity = capacity
        self.resize = resize
        self.rng_evict = streams.evict
        self.rng_reclaim = streams.reclaim
        self.rng_mass = streams.mass_eviction
        self.rng_restore = streams.restore

    def start(self) -> None:
        """Arm the first reclaim event, if reclaims are on, and every mass eviction."""
        if self.config.reclaim_events_per_hour > 0:
            self.at(float(self.rng_reclaim.exponential(3600.0 / self.config.reclaim_events_per_hour)), self._reclaim)
        for eviction in self.config.mass_evictions:
            self.at(eviction.at, self._mass_evict, eviction.fraction)

    def schedule_eviction(self, node: Node) -> None:
        """Draw when a Spot node that just got its VM will be evicted."""
        rate = self.config.eviction_rate_per_hour
        if rate > 0:
            self.at(float(self.rng_evict.exponential(3600.0 / rate)), self._evict, node, node.eviction_token)

    def _evict(self, node: Node, token: int) -> None:
        if node.eviction_token != token or node.state not in LIVE_STATES:
            return
        self._preempt(node)
        self.scheduler.dispatch()

    def _preempt(self, node: Node) -> None:
        for task in sorted(node.running, key=by_index):  # sets iterate in memory order
            self.scheduler.kill(task, "requeued")
        self.records.preemptions += 1
        if node.draining:  # it was leaving the pool: its VM is gone, so is the node
            self.nodes.gone(node)
            return
        node.lose_vm()
        self.state.set_state(node, "preempted")
        node.restore_deadline_s = self.calendar.now + self.config.restore_give_up
        self._schedule_restore(node)

    def _schedule_restore(self, node: Node) -> None:
        wait = float(self.config.restore_wait.sample(self.rng_restore))
        self.at(wait, self._restore, node, node.restore_token)

    def _restore(self, node: Node, token: int) -> None:
        """A preempted node comes back under the same ID through creating/starting (§3.2), when
        capacity and the core quota allow (a restored node holds its cores again, §6.4); else it
        waits again."""
        if node.restore_token != token or node.state != "preempted":
            return
        if self.calendar.now >= node.restore_deadline_s:
            self.nodes.gone(node)
            self.resize.reconcile_later()
            return
        if not self.capacity.available(node.kind) or not self.resize.quota_allows(node.kind, 1):
            self._schedule_restore(node)
            return
        self.nodes.vm_obtained(node, node.ready_token, self.state.config.provisioning_delay.boot_billed_s)

    def _mass_evict(self, fraction: float) -> None:
        """`fraction` of the live Spot nodes (rounded half up), drawn at random, are evicted at once."""
        live = [node for node in sorted(self.state.live["spot"], key=by_index) if node.state in LIVE_STATES]
        count = math.floor(fraction * len(live) + 0.5)
        if count:
            for i in sorted(self.rng_mass.choice(len(live), size=count, replace=False)):
                self._preempt(live[i])
        self.scheduler.dispatch()

    def _reclaim(self) -> None:
        """A correlated capacity reclaim: each live Spot node is evicted with probability f (§3.4)."""
        spot = self.config
        fraction = float(self.rng_reclaim.beta(spot.reclaim_fraction_alpha, spot.reclaim_fraction_beta))
        for node in sorted(self.state.live["spot"], key=by_index):  # index order: draws stay reproducible
            if node.state in LIVE_STATES and self.rng_reclaim.random() < fraction:
                self._preempt(node)
        self.scheduler.dispatch()
        self.at(float(self.rng_reclaim.exponential(3600.0 / spot.reclaim_events_per_hour)), self._reclaim)
