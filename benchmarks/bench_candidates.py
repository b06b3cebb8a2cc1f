"""Search throughput and CPU use on the 50-node, 24-hour scenario (issues 15 §5 and 26).

Runs `optimize` itself (random sampler, so that the sampler's own cost does not grow with the
trials) on `--candidates` candidates × `--seeds` seeds with `--workers` local workers, through one
executor for the whole search. Prints the wall time, the 1000 × 5 equivalent, the CPU time of the
worker processes (psutil, summed over every descendant process just before the executor closes)
against the wall time, and a digest of the trials table (same sampler seed, same trials).

`--baseline DIR` runs the same search back to back with the code in DIR (PYTHONPATH=DIR, this
file's own search in a child process each time), alternating rounds, and prints both figures, the
best of `--rounds`, their ratio and whether the trials are identical. The machine is shared, so the
ratio is taken on the workers' CPU time a run (wall time moves with whatever else runs); with
`--workers 1` the runs go through the benchmark's own process and its CPU time is the workers'.

Target (issue 26): 1000 × 5 ≤ 3 min on 2 workers, the workers' CPU ≥ 1.9 × wall.
Run: python benchmarks/bench_candidates.py [--candidates 1000] [--seeds 5] [--workers 2] [--baseline /work/wt/base] [--rounds 2]
     python benchmarks/bench_candidates.py --quick   (a few seconds: 6 candidates × 2 seeds)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "azure-llm-trace.yaml"
TARGET_MIN = 3.0
TARGET_BUSY = 1.9


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


def search(candidates: int, seeds: int, workers: int, sampler: str) -> dict[str, Any]:
    """One search with the batchsim on sys.path; its figures."""
    from batchsim.measure.executors import Executor
    from batchsim.optimize.objective import Objective
    from batchsim.optimize.search import optimize
    from batchsim.optimize.templates import find_template
    from batchsim.scenario import load_scenario

    scenario = load_scenario(SCENARIO)
    template = find_template("spot-share")
    started = time.perf_counter()
    main_cpu = time.process_time()
    executor = Executor(workers=workers)
    before = children_cpu_s()
    result = optimize(
        scenario,
        template,
        Objective(p95_wait_target_s=600),
        executor,
        budget=candidates,
        seeds=seeds,
        sampler=sampler,
        final_seeds=2,
    )
    cpu_s = children_cpu_s() - before
    wall_s = time.perf_counter() - started
    main_cpu_s = time.process_time() - main_cpu
    executor.close()
    if workers == 1:  # the runs went through this process (the executor has no pool)
        cpu_s = main_cpu_s
    runs = result.search_runs + 2 * (1 + len(result.final))
    trials = result.trials.to_csv(index=False).encode()
    return {
        "runs": runs,
        "wall_s": wall_s,
        "workers_cpu_s": cpu_s,
        "main_cpu_s": main_cpu_s,
        "trials_sha256": hashlib.sha256(trials).hexdigest()[:16],
        "best_cost_usd": None if result.best is None else result.best.cost_usd,
        "batchsim": __import__("batchsim").__file__,
    }


def child(code: Path, args: argparse.Namespace) -> dict[str, Any]:
    """`search` in a fresh process on the code in `code`."""
    command = [sys.executable, __file__, "--json"]
    command += ["--candidates", str(args.candidates), "--seeds", str(args.seeds)]
    command += ["--workers", str(args.workers), "--sampler", args.sampler]
    env = {**os.environ, "PYTHONPATH": str(code)}
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def describe(label: str, figures: dict[str, Any], workers: int) -> str:
    runs, wall_s, cpu_s = figures["runs"], figures["wall_s"], figures["workers_cpu_s"]
    return (
        f"{label}: {runs} runs in {wall_s:.1f} s wall ({wall_s / runs * 1000:.1f} ms a run; 1000 x 5 at this rate "
        f"{wall_s / runs * 5000 / 60:.2f} min); workers' CPU {cpu_s / runs * 1000:.1f} ms a run, "
        f"{cpu_s / wall_s:.2f} x wall on {workers} workers; main process CPU {figures['main_cpu_s'] / runs * 1000:.2f} "
        f"ms a run; trials {figures['trials_sha256']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sampler", default="random", choices=["random", "tpe"])
    parser.add_argument("--baseline", type=Path, help="the code before, run back to back (PYTHONPATH=DIR)")
    parser.add_argument("--rounds", type=int, default=1, help="with --baseline: alternating rounds, best of")
    parser.add_argument("--quick", action="store_true", help="6 candidates x 2 seeds: a few seconds")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # a child's one line
    args = parser.parse_args()
    if args.quick:
        args.candidates, args.seeds = 6, 2
    if args.json:
        print(json.dumps(search(args.candidates, args.seeds, args.workers, args.sampler)))
        return
    print(
        f"{args.candidates} candidates x {args.seeds} seeds of {SCENARIO.name} ({args.sampler} sampler, "
        f"{args.workers} workers); load average {os.getloadavg()[0]:.2f} before"
    )
    if args.baseline is None:
        print(describe("this code", search(args.candidates, args.seeds, args.workers, args.sampler), args.workers))
        return
    best: dict[str, dict[str, Any]] = {}
    for round_ in range(1, args.rounds + 1):
        for label, code in (("base", args.baseline.resolve()), ("this code", ROOT)):
            figures = child(code, args)
            print(f"round {round_} " + describe(label, figures, args.workers))
            kept = best.get(label)
            if kept is None or figures["workers_cpu_s"] < kept["workers_cpu_s"]:
                best[label] = figures
    base, now = best["base"], best["this code"]
    print("best of each: " + describe("base", base, args.workers))
    print("best of each: " + describe("this code", now, args.workers))
    cpu_ratio = (now["workers_cpu_s"] / now["runs"]) / (base["workers_cpu_s"] / base["runs"])
    wall_ratio = (now["wall_s"] / now["runs"]) / (base["wall_s"] / base["runs"])
    minutes = now["wall_s"] / now["runs"] * 5000 / 60
    busy = now["workers_cpu_s"] / now["wall_s"]
    print(
        f"ratio this code / base: workers' CPU a run {cpu_ratio:.3f} x, wall a run {wall_ratio:.3f} x; "
        f"trials identical: {'yes' if now['trials_sha256'] == base['trials_sha256'] else 'NO'}; "
        f"1000 x 5 at this rate {minutes:.2f} min (target <= {TARGET_MIN:g}: {'met' if minutes <= TARGET_MIN else 'not met'}), "
        f"cores busy {busy:.2f} (target >= {TARGET_BUSY}: {'met' if busy >= TARGET_BUSY else 'not met'}); "
        f"load average {os.getloadavg()[0]:.2f} after"
    )


if __name__ == "__main__":
    main()
