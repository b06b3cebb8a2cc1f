"""Multi-fidelity against the full budget (issue 15 §4–§5): the same winner quality at ≤ 1/3 of the runs.

The same TPE search (same budget, seeds and target) twice on the 50-node, 24-hour scenario: every
trial on all seeds, then with successive halving (one seed first, then 2, then all, only the best
quarter going on; optuna's SuccessiveHalvingPruner, common random numbers within each rung). Both
winners are measured on the same fresh seeds; the halving winner's cost should lie within the
95 % interval of the full-budget winner's, and their paired difference's interval should hold 0.

Run: python benchmarks/bench_fidelity.py [--budget 150] [--seeds 5] [--workers 2] [--scenario azure-llm-trace.yaml]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from batchsim.optimize.executors import Executor
from batchsim.optimize.objective import Objective
from batchsim.optimize.search import Fidelity, OptimizeResult, optimize
from batchsim.optimize.stats import paired_difference
from batchsim.optimize.templates import find_template
from batchsim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=150)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scenario", default="azure-llm-trace.yaml")
    parser.add_argument("--template", default="spot-share")
    parser.add_argument("--target", type=float, default=600.0, help="p95 wait target (s)")
    args = parser.parse_args()
    scenario = load_scenario(ROOT / "scenarios" / args.scenario)
    template = find_template(args.template)
    objective = Objective(p95_wait_target_s=args.target)
    results: dict[str, tuple[OptimizeResult, float]] = {}
    with Executor(workers=args.workers) as executor:
        for name, fidelity in (("full budget", None), ("successive halving", Fidelity())):
            started = time.perf_counter()
            result = optimize(
                scenario, template, objective, executor, budget=args.budget, seeds=args.seeds, fidelity=fidelity
            )
            results[name] = (result, time.perf_counter() - started)
    full, _ = results["full budget"]
    print(
        f"{args.scenario}, {args.template}, TPE, budget {args.budget}, {args.seeds} seeds, p95 ≤ {args.target:.0f} s, "
        f"fresh seeds {full.fresh_seeds[0]}-{full.fresh_seeds[-1]}:"
    )
    print("| search | simulated runs | share of full | wall (s) | winner | cost on fresh seeds (USD) | p95 (s) |")
    print("|---|---|---|---|---|---|---|")
    for name, (result, wall_s) in results.items():
        best = result.best
        params = ", ".join(f"{k}={v:g}" for k, v in best.params.items()) if best else "none"
        cost = f"{best.cost_usd:.2f} ± {best.cost_ci_usd:.2f}" if best else ""
        p95 = f"{best.p95_wait_s:.0f} ± {best.p95_ci_s:.0f}" if best else ""
        share = result.search_runs / full.search_runs
        print(f"| {name} | {result.search_runs} | {share:.2f} | {wall_s:.0f} | {params} | {cost} | {p95} |")
    halving, _ = results["successive halving"]
    if full.best and halving.best:
        diff, half = paired_difference(halving.best.per_seed_cost(), full.best.per_seed_cost())
        inside = abs(halving.best.cost_usd - full.best.cost_usd) <= full.best.cost_ci_usd
        print(
            f"halving − full on the fresh seeds: {diff:+.2f} ± {half:.2f} USD (paired); halving winner within the "
            f"full winner's interval: {'yes' if inside else 'no'}; runs: {halving.search_runs / full.search_runs:.2f} of full"
        )


if __name__ == "__main__":
    main()
