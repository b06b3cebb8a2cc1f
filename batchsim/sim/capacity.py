"""Whether the region has capacity for a kind of node now (batch-behavior §3.4 model 3).

Spot capacity alternates between available and short periods, both exponential
(`spot.available_mean`, `spot.shortage_mean`; default: always available). While short, Spot
allocations wait (and give up after the resize timeout, see `resize.py`) and preempted nodes are
not restored; when it ends, the waiting allocations proceed.
"""

from __future__ import annotations

from batchsim.sim.entities import by_index
from batchsim.sim.nodes import Nodes
from batchsim.sim.state import PoolState
from batchsim.sim.streams import Streams

__all__ = ["Capacity"]


class Capacity:
    """Capacity by kind, and the allocations waiting for it."""

    __slots__ = ("at", "config", "nodes", "rng_provision", "rng_shortage", "spot_short", "state")

    def __init__(self, state: PoolState, streams: Streams, nodes: Nodes) -> None:
        self.state = state
        self.at = state.calendar.at
        self.config = state.config
        self.nodes = nodes
        self.rng_shortage = streams.shortage
        self.rng_provision = streams.provision
        self.spot_short = False

    def start(self) -> None:
        """Arm the first Spot shortage, if shortages are on."""
        spot = self.config.spot
        if spot.available_mean is not None:
            self.at(float(self.rng_shortage.exponential(spot.available_mean)), self._shortage_begins)

    def available(self, kind: str) -> bool:
        """True when an allocation of `kind` can get a VM now."""
        return kind != "spot" or not self.spot_short

    def _shortage_begins(self) -> None:
        self.spot_short = True
        assert self.config.spot.shortage_mean is not None
        self.at(float(self.rng_shortage.exponential(self.config.spot.shortage_mean)), self._shortage_ends)

    def _shortage_ends(self) -> None:
        self.spot_short = False
        dist = self.config.provisioning_delay.spot
        for node in sorted(self.state.live["spot"], key=by_index):
            if node.waiting_capacity and node.state == "pending":
                self.nodes.provision(node, float(dist.sample(self.rng_provision)))
        assert self.config.spot.available_mean is not None
        self.at(float(self.rng_shortage.exponential(self.config.spot.available_mean)), self._shortage_begins)
