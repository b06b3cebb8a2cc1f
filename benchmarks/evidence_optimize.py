"""Evidence for the optimizer (issue 7 §3): optimized formulas against baselines and a clairvoyant bound.

For each scenario, on the same search seeds (common random numbers) and then on fresh seeds:
- baselines, with their caps scaled to the scenario (1.25 × the peak of the known workload's
  zero-wait node demand, rounded up): the docs' pending-tasks formula (formulas/), Batch Shipyard's
  generated pending_tasks formula (../shared/corpus/formulas/001.formula: both caps at that figure,
  maxTasksPerNode = the pool's slots) and, on office hours, its workday formula (004.formula, half
  the cap each), and the scenario's own library formula;
- the optimizer searches each template in TEMPLATES with the cheapest baseline's p95 wait (on the
  search seeds) as its target; the cheapest feasible winner is re-measured on fresh seeds;
- the clairvoyant lower bound (batchsim.optimize.clairvoyant), Spot allowed and dedicated only;
- with Spot allowed, on the scenarios with deadlines: the spot-share template against a 99 %
  deadline target, compared with the all-dedicated baseline (docs pending-tasks).
Savings are 1 − optimized/baseline of the means over the fresh seeds; ± is the 95 % t-interval of the
per-seed ratio (the seeds are paired).

Run: python benchmarks/evidence_optimize.py [--budget N] [--seeds K] [--quick] [--only NAME]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import re
from pathlib import Path

import numpy as np
from scipy import stats

from batchsim.optimize.clairvoyant import clairvoyant_cost_usd, demand_nodes
from batchsim.optimize.search import Candidate, Objective, evaluate_formula, optimize
from batchsim.optimize.templates import find_template
from batchsim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "formulas"
SCENARIOS = ["default.yaml", "spot-first.yaml", "hourly-schedule.yaml", "office-hours.yaml", "azure-llm-trace.yaml"]
TEMPLATES = ["spot-share", "spot-hysteresis"]
FRESH = [1001, 1002, 1003, 1004, 1005]


def _set(text: str, name: str, value: int) -> str:
    return re.sub(rf"^{name} = [\d.]+;", f"{name} = {value};", text, flags=re.M)


def baselines(scenario_path: Path, cap: int, slots: int) -> dict[str, str]:
    scenario = load_scenario(scenario_path)
    docs = _set((ROOT / "formulas" / "pending-tasks.formula").read_text(), "maxNumberofVMs", cap)
    found = {f"docs pending-tasks (cap {cap})": docs}
    if (CORPUS / "001.formula").is_file():
        shipyard = (CORPUS / "001.formula").read_text()
        for name, value in (("maxTargetDedicated", cap), ("maxTargetLowPriority", cap), ("maxTasksPerNode", slots)):
            shipyard = _set(shipyard, name, value)
        found[f"Batch Shipyard pending_tasks (caps {cap}/{cap})"] = shipyard
    if scenario.name == "office-hours" and (CORPUS / "004.formula").is_file():
        half = math.ceil(cap / 2)
        workday = (CORPUS / "004.formula").read_text()
        for name in ("maxTargetDedicated", "maxTargetLowPriority"):
            workday = _set(workday, name, half)
        found[f"Batch Shipyard workday ({half}/{half})"] = _set(workday, "maxTasksPerNode", slots)
    own = scenario.formula_text()
    if own and own.strip() not in {t.strip() for t in found.values()}:
        label = scenario.pool.autoscale.formula_file if scenario.pool.autoscale else None
        found[f"scenario's formula ({Path(label).name if label else 'inline'})"] = own
    return found


def saving(optimized: Candidate, baseline: Candidate) -> tuple[float, float]:
    """1 − optimized/baseline of the means, and the t half-width of the paired per-seed ratios."""
    ours = {r["seed"]: r["cost_usd"] for r in optimized.runs}
    theirs = {r["seed"]: r["cost_usd"] for r in baseline.runs}
    ratios = np.array([1 - ours[s] / theirs[s] for s in ours if theirs.get(s)])
    half = float(stats.t.ppf(0.975, len(ratios) - 1) * ratios.std(ddof=1) / math.sqrt(len(ratios)))
    return 1 - optimized.cost_usd / baseline.cost_usd, half


def row(scenario: str, c: Candidate) -> str:
    met = "" if math.isnan(c.deadline_met) else f"{c.deadline_met:.3f}"
    return f"| {scenario} | {c.name} | {c.cost_usd:.2f} ± {c.cost_ci_usd:.2f} | {c.p95_wait_s:.0f} ± {c.p95_ci_s:.0f} | {met} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=60, help="trials per template")
    parser.add_argument("--seeds", type=int, default=3, help="search seeds per trial")
    parser.add_argument("--quick", action="store_true", help="budget 12, 2 search seeds")
    parser.add_argument("--only", action="append", help="scenario file name (repeatable)")
    args = parser.parse_args()
    budget, seeds = (12, 2) if args.quick else (args.budget, args.seeds)
    search_seeds = list(range(1, seeds + 1))
    print(
        f"Run {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC: budget {budget} per template, {seeds} search seeds, "
        f"fresh seeds {FRESH[0]}-{FRESH[-1]}",
        flush=True,
    )
    table = ["| scenario | formula | cost (USD) | p95 wait (s) | deadlines met |", "|---|---|---|---|---|"]
    verdicts = [
        "| scenario | best baseline | saving (fresh seeds) | p95: optimized vs baseline (s) | 25 % at equal p95 |",
        "|---|---|---|---|---|",
    ]
    spot_lines = [
        "| scenario | all-dedicated cost (USD) | optimized with Spot (USD) | saving | deadlines met | 40 % and 99 % |",
        "|---|---|---|---|---|---|",
    ]
    for name in args.only or SCENARIOS:
        path = ROOT / "scenarios" / name
        scenario = load_scenario(path)
        cap = max(2, math.ceil(1.25 * max(demand_nodes(scenario, s).max() for s in FRESH)))
        texts = baselines(path, cap, scenario.pool.task_slots_per_node)
        searched = {n: evaluate_formula(n, t, str(path), search_seeds) for n, t in texts.items()}
        cheapest = min(searched, key=lambda n: searched[n].cost_usd)
        objective = Objective("p95-wait", p95_wait_target_s=searched[cheapest].p95_wait_s)
        winners = []
        for template in TEMPLATES:
            result = optimize(str(path), find_template(template), objective, budget=budget, seeds=seeds)
            feasible = result.trials[result.trials["feasible"]]
            if len(feasible):
                winners.append((float(feasible["cost_usd"].min()), template, result))
        fresh = {n: evaluate_formula(n, t, str(path), FRESH) for n, t in texts.items()}
        lines = [row(name, c) for c in fresh.values()]
        best = fresh[cheapest]
        if winners:
            _, template, result = min(winners, key=lambda w: w[0])
            assert result.best is not None
            optimized = result.best
            optimized.name = (
                f"**optimized ({template}: {', '.join(f'{k}={v:g}' for k, v in optimized.params.items())})**"
            )
            lines.append(row(name, optimized))
            cut, half = saving(optimized, best)
            dp95 = optimized.p95_wait_s - best.p95_wait_s
            met = "yes" if cut >= 0.25 and optimized.p95_wait_s <= best.p95_wait_s else "no"
            verdicts.append(f"| {name} | {cheapest} | {cut:+.1%} ± {half:.1%} | {dp95:+.0f} | {met} |")
        else:
            verdicts.append(
                f"| {name} | {cheapest} | no template met p95 ≤ {objective.p95_wait_target_s:.0f} s | | no |"
            )
        bounds = [clairvoyant_cost_usd(scenario, s) for s in FRESH]
        dedicated_bounds = [clairvoyant_cost_usd(scenario, s, spot_allowed=False) for s in FRESH]
        lines.append(
            f"| {name} | clairvoyant lower bound, Spot allowed / dedicated only | {np.mean(bounds):.2f} / {np.mean(dedicated_bounds):.2f} | 0 | 1.000 |"
        )
        costs = [c.cost_usd for c in fresh.values()] + ([optimized.cost_usd] if winners else [])
        assert np.mean(bounds) <= min(costs), "the clairvoyant bound must be below every formula"
        table += lines
        print("\n".join(lines), flush=True)
        if any(getattr(entry, "deadline", None) for entry in scenario.workload):
            dedicated = fresh[f"docs pending-tasks (cap {cap})"]
            spot = optimize(
                str(path),
                find_template("spot-share"),
                Objective("deadline", deadline_miss_target=0.01),
                budget=budget,
                seeds=seeds,
            )
            if spot.best is None:
                spot_lines.append(f"| {name} | {dedicated.cost_usd:.2f} | none met 99 % | | | no |")
            else:
                cut, half = saving(spot.best, dedicated)
                ok = "yes" if cut >= 0.40 and spot.best.deadline_met >= 0.99 else "no"
                params = ", ".join(f"{k}={v:g}" for k, v in spot.best.params.items())
                spot_lines.append(
                    f"| {name} | {dedicated.cost_usd:.2f} ± {dedicated.cost_ci_usd:.2f} (met {dedicated.deadline_met:.3f}) | "
                    f"{spot.best.cost_usd:.2f} ± {spot.best.cost_ci_usd:.2f} (spot-share: {params}) | {cut:+.1%} ± {half:.1%} | "
                    f"{spot.best.deadline_met:.3f} | {ok} |"
                )
            print(spot_lines[-1], flush=True)
    print("\n" + "\n".join(table) + "\n\n" + "\n".join(verdicts) + "\n\n" + "\n".join(spot_lines))


if __name__ == "__main__":
    main()
