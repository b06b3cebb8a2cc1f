"""Evidence for the optimizer (issue 7 §3): optimized formulas against baselines and a clairvoyant bound.

For each shipped scenario: the baselines (the docs' pending-tasks formula from formulas/, Batch
Shipyard's pending-tasks generator output from ../shared/corpus/formulas/001.formula when present,
with its caps scaled to the scenario, and the scenario's own formula) run on 5 fresh seeds; the
optimizer searches a dedicated-only template with the best baseline's p95 wait as its target; with
Spot allowed, the spot-share template is searched against a 99 % deadline target and compared with
all-dedicated. Run: python benchmarks/evidence_optimize.py [--budget N] [--quick]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from batchsim.optimize.clairvoyant import clairvoyant_cost_usd
from batchsim.optimize.search import Objective, evaluate_formula, optimize
from batchsim.optimize.templates import find_template
from batchsim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SHIPYARD = ROOT.parent / "shared" / "corpus" / "formulas" / "001.formula"
SCENARIOS = {
    "default.yaml": ["duration=24h"],
    "spot-first.yaml": ["duration=12h"],
    "hourly-schedule.yaml": ["duration=12h"],
    "office-hours.yaml": ["duration=24h"],
}
FRESH = [1001, 1002, 1003, 1004, 1005]


def shipyard_formula(max_dedicated: int, max_spot: int) -> str | None:
    if not SHIPYARD.is_file():
        return None
    text = SHIPYARD.read_text()
    text = re.sub(r"maxTargetDedicated = \d+;", f"maxTargetDedicated = {max_dedicated};", text)
    return re.sub(r"maxTargetLowPriority = \d+;", f"maxTargetLowPriority = {max_spot};", text)


def main() -> None:
    budget = int(sys.argv[sys.argv.index("--budget") + 1]) if "--budget" in sys.argv else 24
    lines = ["| scenario | formula | cost (USD) | p95 wait (s) | deadlines met |", "|---|---|---|---|---|"]
    for name, overrides in SCENARIOS.items():
        path = str(ROOT / "scenarios" / name)
        scenario = load_scenario(path, overrides)
        baselines = {"docs pending-tasks": (ROOT / "formulas" / "pending-tasks.formula").read_text()}
        shipyard = shipyard_formula(10, 20)
        if shipyard:
            baselines["Batch Shipyard pending_tasks"] = shipyard
        own = scenario.formula_text()
        if own:
            baselines["scenario's formula"] = own
        measured = [evaluate_formula(n, t, path, FRESH, None, tuple(overrides)) for n, t in baselines.items()]
        best = min(measured, key=lambda c: c.cost_usd)
        target = Objective("p95-wait", p95_wait_target_s=max(best.p95_wait_s, 60.0))
        result = optimize(
            path, find_template("pending-tasks"), target, budget=budget, seeds=2, overrides=tuple(overrides)
        )
        winner = result.best
        bound = clairvoyant_cost_usd(scenario, FRESH[0])
        for c in [*measured, *([winner] if winner else [])]:
            lines.append(
                f"| {name} | {c.name} | {c.cost_usd:.2f} ± {c.cost_ci_usd:.2f} | {c.p95_wait_s:.0f} ± {c.p95_ci_s:.0f} | {c.deadline_met:.3f} |"
            )
        lines.append(f"| {name} | clairvoyant lower bound | {bound:.2f} | 0 | 1.000 |")
        if winner:
            saving = 1 - winner.cost_usd / best.cost_usd
            lines.append(
                f"| {name} | **optimized vs best baseline ({best.name})** | {saving:+.0%} cost | {winner.p95_wait_s - best.p95_wait_s:+.0f} s p95 | |"
            )
        print("\n".join(lines[-(len(measured) + 3) :]), flush=True)
    # Spot allowed: spot-share against all-dedicated, deadline target.
    path = str(ROOT / "scenarios" / "spot-first.yaml")
    overrides = ("duration=12h",)
    dedicated = evaluate_formula(
        "all dedicated (docs pending-tasks, cap 60)",
        (ROOT / "formulas" / "pending-tasks.formula").read_text().replace("maxNumberofVMs = 25", "maxNumberofVMs = 60"),
        path,
        FRESH,
        None,
        overrides,
    )
    spot = optimize(
        path,
        find_template("spot-share"),
        Objective("deadline", deadline_miss_target=0.01),
        budget=budget,
        seeds=2,
        overrides=overrides,
    )
    lines += ["", "| spot-first.yaml, Spot allowed | cost (USD) | p95 wait (s) | deadlines met |", "|---|---|---|---|"]
    for c in [dedicated, *([spot.best] if spot.best else [])]:
        lines.append(
            f"| {c.name} | {c.cost_usd:.2f} ± {c.cost_ci_usd:.2f} | {c.p95_wait_s:.0f} | {c.deadline_met:.3f} |"
        )
    if spot.best:
        lines.append(f"| saving with Spot | {1 - spot.best.cost_usd / dedicated.cost_usd:+.0%} | | |")
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
