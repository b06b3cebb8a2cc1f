"""Candidates × seeds on the 50-node, 24-hour scenario (issue 7 §4: 1000 × 5 in 10 minutes on 2 cores).

Each candidate is a random parameter set of the spot-share template (optuna's random sampler would
draw the same kind of points); every candidate runs on the same seeds, as the optimizer runs them.
Run: python benchmarks/bench_candidates.py [--candidates 1000] [--seeds 5] [--workers 2]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from batchsim.optimize.executors import RunSpec, execute
from batchsim.optimize.templates import find_template

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "azure-llm-trace.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    template = find_template("spot-share")
    rng = np.random.default_rng(0)
    formulas = []
    for _ in range(args.candidates):
        values = {
            p.name: int(rng.integers(p.low, p.high + 1)) if p.kind == "int" else float(rng.uniform(p.low, p.high))
            for p in template.parameters
        }
        formulas.append(template.render(values))
    specs = [RunSpec(str(SCENARIO), (), seed, formula=f) for f in formulas for seed in range(1, args.seeds + 1)]
    started = time.perf_counter()
    events = 0
    for _, summary in execute(specs, workers=args.workers):
        events += summary["events"]
    wall_s = time.perf_counter() - started
    runs = len(specs)
    print(
        f"{args.candidates} candidates x {args.seeds} seeds = {runs} runs of {SCENARIO.name} on {args.workers} "
        f"workers: {wall_s:.1f} s ({wall_s / runs * 1000:.1f} ms a run, {events / wall_s:,.0f} events/s); "
        f"1000 x 5 at this rate: {wall_s / runs * 5000 / 60:.1f} min"
    )


if __name__ == "__main__":
    main()
