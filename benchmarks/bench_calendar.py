"""The engine's event calendar against simpy's public scheduling (issue 13: why the engine has no simpy).

Run: python benchmarks/bench_calendar.py

The engine schedules every future happening as one callback (STYLE: lean processes, no simpy
process per task). Through simpy's public API a callback needs an event: `Timeout(env, delay,
value)` scheduled by `Environment.schedule`, with the callback in its `callbacks` list, run by
`Environment.run`. `batchsim.sim.calendar.Calendar` keeps the same (time, order) ties on a
`heapq`. Both fire the same 400,000 callbacks, each scheduling the next of its chain; prints the
CPU time of each (best of five) and their ratio.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import simpy
from simpy.events import Timeout

from batchsim.sim.calendar import Calendar

CALLBACKS = 400_000
CHAINS = 1_000


class SimpyCalendar:
    """The same interface as `Calendar`, on simpy's public API."""

    def __init__(self) -> None:
        self.env = simpy.Environment()
        self.events = 0

    @property
    def now(self) -> float:
        return float(self.env.now)

    def at(self, delay_s: float, callback: Callable[..., None], *args: Any) -> None:
        self.events += 1
        Timeout(self.env, delay_s if delay_s > 0 else 0.0, (callback, args)).callbacks.append(self._fire)

    def _fire(self, event: Timeout) -> None:
        callback, args = event.value
        callback(*args)

    def run(self, until_s: float) -> None:
        self.env.run(until=until_s)


def one_run(calendar: Calendar | SimpyCalendar, delays: np.ndarray) -> tuple[float, int]:
    pending = iter(delays.tolist())

    def handler() -> None:
        delay = next(pending, None)
        if delay is not None:
            calendar.at(delay, handler)

    for _ in range(CHAINS):
        handler()
    started = time.process_time()
    calendar.run(1e18)
    return time.process_time() - started, calendar.events


def main() -> None:
    delays = np.random.default_rng(1).exponential(60.0, CALLBACKS)
    own, public = [], []
    for _ in range(5):  # alternate, keep each one's best: other load on the machine tilts single runs
        own.append(one_run(Calendar(), delays))
        public.append(one_run(SimpyCalendar(), delays))
    (own_s, own_n), (public_s, public_n) = min(own), min(public)
    assert own_n == public_n == CALLBACKS
    print(
        f"{CALLBACKS:,} callbacks: batchsim Calendar {own_s:.3f} s, simpy Environment.schedule/Timeout "
        f"{public_s:.3f} s: simpy takes {public_s / own_s:.2f}x (CPU time, best of 5 each)"
    )


if __name__ == "__main__":
    main()
