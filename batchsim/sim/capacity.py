"""Whether the region has capacity for a kind of node now (batch-behavior §1.1, §3.4 model 3).

Per kind (`pool.dedicated`, `pool.spot`), two causes of shortage, both off by default: random
alternating available/short periods (exponential, `available_mean`/`shortage_mean`), and scheduled
`outages` windows (the stress hooks: a Spot drought, a regional dedicated shortage). While a kind
is short its allocations wait (and give up after the resize timeout, see `resize.py`) and, for
Spot, preempted nodes are not restored; when capacity returns, the waiting allocations proceed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from batchsim.sim.config import CapacityConfig
from batchsim.sim.state import PoolState
from batchsim.sim.streams import Streams

__all__ = ["Capacity"]

KINDS = ("dedicated", "spot")


class Capacity:
    """Capacity by kind. `on_available(kind)` is called when a kind's shortage ends."""

    __slots__ = ("_config", "_in_outage", "_random_short", "_rng", "at", "on_available")
    on_available: Callable[[str], None]

    def __init__(self, state: PoolState, streams: Streams) -> None:
        self.at = state.calendar.at
        self._config: dict[str, CapacityConfig] = {"dedicated": state.config.dedicated, "spot": state.config.spot}
        self._rng: dict[str, np.random.Generator] = {
            "dedicated": streams.dedicated_shortage,
            "spot": streams.spot_shortage,
        }
        self._random_short = {kind: False for kind in KINDS}
        self._in_outage = {kind: 0 for kind in KINDS}  # windows open now (they may overlap)

    def connect(self, on_available: Callable[[str], None]) -> None:
        """What to call when a kind's shortage ends (the resize room provisions what waited)."""
        self.on_available = on_available

    def start(self) -> None:
        """Arm the first random shortage of each kind, and every outage window."""
        for kind in ("spot", "dedicated"):  # Spot first: its stream's draws kept their order
            config = self._config[kind]
            if config.available_mean is not None:
                self.at(float(self._rng[kind].exponential(config.available_mean)), self._shortage_begins, kind)
        for kind in KINDS:
            for outage in self._config[kind].outages:
                self.at(outage.start, self._outage_begins, kind)
                self.at(outage.start + outage.duration, self._outage_ends, kind)

    def available(self, kind: str) -> bool:
        """True when an allocation of `kind` can get a VM now."""
        return not self._random_short[kind] and not self._in_outage[kind]

    def _shortage_begins(self, kind: str) -> None:
        self._random_short[kind] = True
        shortage_mean = self._config[kind].shortage_mean
        assert shortage_mean is not None
        self.at(float(self._rng[kind].exponential(shortage_mean)), self._shortage_ends, kind)

    def _shortage_ends(self, kind: str) -> None:
        self._random_short[kind] = False
        if self.available(kind):
            self.on_available(kind)
        available_mean = self._config[kind].available_mean
        assert available_mean is not None
        self.at(float(self._rng[kind].exponential(available_mean)), self._shortage_begins, kind)

    def _outage_begins(self, kind: str) -> None:
        self._in_outage[kind] += 1

    def _outage_ends(self, kind: str) -> None:
        self._in_outage[kind] -= 1
        if self.available(kind):
            self.on_available(kind)
