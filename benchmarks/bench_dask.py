"""Dask LocalCluster with 2 workers against 1 worker on the same sweep (issue 7 §4).

Run: python benchmarks/bench_dask.py   (8 runs of the 50-node, 24-hour scenario variant)
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from distributed import LocalCluster

from batchsim.optimize.sweep import sweep

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "spot-first.yaml"
GRID = {"pool.spot.eviction_rate_per_hour": ["0.025", "0.075", "0.125", "0.3"], "duration": ["48h"]}


def timed(workers: int) -> float:
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with tempfile.TemporaryDirectory() as out:
            sweep(
                SCENARIO, {"duration": ["10m"]}, [99], out, executor="dask", scheduler=cluster.scheduler_address
            )  # warm-up
            started = time.perf_counter()
            sweep(SCENARIO, GRID, [1, 2], out, executor="dask", scheduler=cluster.scheduler_address)
            return time.perf_counter() - started


def main() -> None:
    one = timed(1)
    two = timed(2)
    print(f"8 runs: 1 worker {one:.1f} s, 2 workers {two:.1f} s, speed-up {one / two:.2f}")


if __name__ == "__main__":
    main()
