"""Search throughput and CPU use on the 50-node, 24-hour scenario (issue 15 §5).

Runs `optimize` itself (random sampler, so that the sampler's own cost does not grow with the
trials; TPE's is printed separately) on `--candidates` candidates × `--seeds` seeds with
`--workers` local workers, through one executor for the whole search. Prints the wall time, the
1000 × 5 equivalent, and the CPU time of the worker processes (psutil, summed over every
descendant process just before the executor closes) against the wall time.

Targets: 1000 × 5 in ≤ 5 min on 2 cores; children's CPU ≥ 1.7 × wall on 2 workers.
Run: python benchmarks/bench_candidates.py [--candidates 1000] [--seeds 5] [--workers 2] [--sampler random]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import psutil

from batchsim.measure.executors import Executor
from batchsim.optimize.objective import Objective
from batchsim.optimize.search import optimize
from batchsim.optimize.templates import find_template
from batchsim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "azure-llm-trace.yaml"


def children_cpu_s() -> float:
    """User + system CPU of every live descendant of this process (the forkserver and its workers)."""
    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sampler", default="random", choices=["random", "tpe"])
    args = parser.parse_args()
    scenario = load_scenario(SCENARIO)
    template = find_template("spot-share")
    started = time.perf_counter()
    executor = Executor(workers=args.workers)
    before = children_cpu_s()
    result = optimize(
        scenario,
        template,
        Objective(p95_wait_target_s=600),
        executor,
        budget=args.candidates,
        seeds=args.seeds,
        sampler=args.sampler,
        final_seeds=2,
    )
    cpu_s = children_cpu_s() - before
    wall_s = time.perf_counter() - started
    executor.close()
    runs = result.search_runs + 2 * (1 + len(result.final))
    print(
        f"{args.candidates} candidates x {args.seeds} seeds ({runs} runs of {SCENARIO.name}, {args.sampler} sampler) on "
        f"{args.workers} workers: {wall_s:.1f} s ({wall_s / runs * 1000:.1f} ms a run); "
        f"1000 x 5 at this rate: {wall_s / runs * 5000 / 60:.1f} min"
    )
    print(f"children's CPU {cpu_s:.1f} s = {cpu_s / wall_s:.2f} x wall ({args.workers} workers)")


if __name__ == "__main__":
    main()
