"""Dask LocalCluster with 2 workers against 1 worker on the same sweep (issue 7 §4).

Run: python benchmarks/bench_dask.py   (32 runs: the 50-node scenario at 48 h, 4 eviction rates x 8 seeds)
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from distributed import LocalCluster

from batchsim.optimize.sweep import sweep

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "azure-llm-trace.yaml"
SEEDS = list(range(1, 9))
GRID = {"pool.spot.eviction_rate_per_hour": ["0.025", "0.075", "0.125", "0.3"], "duration": ["48h"]}


def timed(workers: int) -> float:
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with tempfile.TemporaryDirectory() as out:
            address = cluster.scheduler_address
            sweep(SCENARIO, {"duration": ["10m"]}, [98, 99], out, executor="dask", scheduler=address, records=False)
            started = time.perf_counter()  # after the warm-up: imports on every worker
            sweep(SCENARIO, GRID, SEEDS, out, executor="dask", scheduler=address, records=False)
            return time.perf_counter() - started


def main() -> None:
    one = timed(1)
    two = timed(2)
    print(f"{4 * len(SEEDS)} runs: 1 worker {one:.1f} s, 2 workers {two:.1f} s, speed-up {one / two:.2f}")


if __name__ == "__main__":
    main()
