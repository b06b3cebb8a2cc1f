"""The event calendar: the run's clock and a time-ordered heap of callbacks.

Every future happening of a run is one `at(delay, callback, *args)`; `run(until)` fires them in
time order, ties in the order they were scheduled. Events that a later change makes obsolete (the
eviction of a node that already left, the end of a killed attempt) are not removed: they carry a
token of their purpose and their handler ignores them.

Why not simpy: the engine uses no simpy process, resource or interrupt (STYLE: lean processes;
tasks are records, not processes), so simpy would only be this heap behind its public
`Environment.schedule`, which needs an `Event` per call: on 400,000 callbacks simpy's public
`Timeout` path takes 1.75x this heap's time (`benchmarks/bench_calendar.py`), the margin by which
the engine beats the minimal simpy model of `benchmarks/bench_engine.py`.
The heap is the standard library's `heapq`; what is written here is the loop around it.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

__all__ = ["Calendar"]


class Calendar:
    """The clock (`now`, seconds from the start of the run) and the callbacks still due.

    `events` counts every callback ever scheduled (the summary's `events`); it is also the
    tie-breaker that keeps equal times in scheduling order.
    """

    __slots__ = ("_heap", "events", "now")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self.now = 0.0
        self.events = 0

    def at(self, delay_s: float, callback: Callable[..., None], *args: Any) -> None:
        """Call `callback(*args)` `delay_s` seconds from now (at once when `delay_s` ≤ 0)."""
        self.events += 1
        heapq.heappush(self._heap, (self.now + (delay_s if delay_s > 0 else 0.0), self.events, callback, args))

    def clear(self) -> None:
        """Drop every callback still due (the run is over; they hold the rooms they would call)."""
        self._heap.clear()

    def run(self, until_s: float) -> None:
        """Fire every callback due before `until_s`; one due exactly at `until_s` stays for a later run."""
        heap = self._heap
        pop = heapq.heappop
        while heap and heap[0][0] < until_s:
            self.now, _, callback, args = pop(heap)
            callback(*args)
