"""Python's cycle collector, paused while a run builds (and, in a worker, drops) its objects."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cycle collector for a run (or longer: a worker also drops the run inside).

    A run keeps every task, node and record alive until it ends, so each full collection walks a
    growing heap for nothing: it took 45 % of a 200,000-task run (benchmarks/bench_engine.py).
    Reference counting frees the events, and the run itself once its result is dropped (the
    engine breaks its cycles at the end); nested, only the outermost resumes the collector.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
