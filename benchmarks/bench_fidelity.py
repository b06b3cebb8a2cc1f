"""Multi-fidelity against the full budget (issue 15 §4–§5): the same winner quality at ≤ 1/3 of the runs.

The same TPE search (same budget, seeds and target) twice on the 50-node, 24-hour scenario: every
trial on all seeds, then with successive halving (one seed first, then 2, then all, only the best
quarter going on; optuna's SuccessiveHalvingPruner, common random numbers within each rung). Both
winners are measured on the same fresh seeds; the halving winner's cost should lie within (or below)
the 95 % interval of the full-budget winner's.

Run: python benchmarks/bench_fidelity.py [--budget 150] [--seeds 5] [--workers 2] [--reduction 4 ...] [--scenario azure-llm-trace.yaml]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from batchsim.measure.executors import Executor
from batchsim.measure.stats import paired_difference
from batchsim.optimize.objective import Objective
from batchsim.optimize.search import Fidelity, OptimizeResult, optimize
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
    parser.add_argument(
        "--reduction", type=int, action="append", help="halving's reduction factor (repeatable; default 4)"
    )
    parser.add_argument(
        "--repeats", type=int, default=1, help="searches per setting, with sampler seeds 0, 1, ... (default 1)"
    )
    args = parser.parse_args()
    scenario = load_scenario(ROOT / "scenarios" / args.scenario)
    template = find_template(args.template)
    objective = Objective(p95_wait_target_s=args.target)
    settings: list[tuple[str, Fidelity | None]] = [("full budget", None)]
    settings += [(f"successive halving, reduction {r}", Fidelity(r)) for r in args.reduction or [4]]
    print(
        f"{args.scenario}, {args.template}, TPE, budget {args.budget}, {args.seeds} seeds, p95 ≤ {args.target:.0f} s, "
        f"{args.repeats} search(es) per setting (sampler seeds 0-{args.repeats - 1}):"
    )
    print(
        "| sampler seed | search | simulated runs | share of full | wall (s) | winner | cost on fresh seeds (USD) | p95 (s) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    pairs: dict[str, list[tuple[float, bool, float, float]]] = {name: [] for name, _ in settings[1:]}
    with Executor(workers=args.workers) as executor:
        for sampler_seed in range(args.repeats):
            results: dict[str, tuple[OptimizeResult, float]] = {}
            for name, fidelity in settings:
                started = time.perf_counter()
                result = optimize(
                    scenario,
                    template,
                    objective,
                    executor,
                    budget=args.budget,
                    seeds=args.seeds,
                    fidelity=fidelity,
                    sampler_seed=sampler_seed,
                )
                results[name] = (result, time.perf_counter() - started)
            full, _ = results["full budget"]
            for name, (result, wall_s) in results.items():
                best = result.best
                params = ", ".join(f"{k}={v:g}" for k, v in best.params.items()) if best else "none"
                cost = f"{best.cost_usd:.2f} ± {best.cost_ci_usd:.2f}" if best else ""
                p95 = f"{best.p95_wait_s:.0f} ± {best.p95_ci_s:.0f}" if best else ""
                share = result.search_runs / full.search_runs
                print(
                    f"| {sampler_seed} | {name} | {result.search_runs} | {share:.2f} | {wall_s:.0f} | {params} | {cost} | {p95} |",
                    flush=True,
                )
                if result is not full and full.best and best:
                    diff, half = paired_difference(best.per_seed_cost(), full.best.per_seed_cost())
                    within = best.cost_usd <= full.best.cost_usd + full.best.cost_ci_usd
                    pairs[name].append((share, within, diff, half))
    for name, found in pairs.items():
        if not found:
            continue
        shares = [share for share, *_ in found]
        within = sum(1 for _, ok, *_ in found if ok)
        diffs = ", ".join(f"{diff:+.2f} ± {half:.2f}" for *_, diff, half in found)
        print(
            f"{name}: runs {min(shares):.2f}-{max(shares):.2f} of full (mean {sum(shares) / len(shares):.2f}); "
            f"winner within or below the full winner's interval in {within} of {len(found)} searches; "
            f"paired difference against the full winner on the fresh seeds (USD): {diffs}"
        )


if __name__ == "__main__":
    main()
