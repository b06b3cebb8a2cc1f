"""Evidence for robust optimization (README "Evidence", second table): what robustness costs.

For each scenario, as `evidence_optimize.py` does: the baselines, the target (the cheapest
baseline's p95 wait on the search seeds) and the plain winner (cheapest over its templates). Then
the robust winner: `optimize --robust` over ROBUST_TEMPLATES with the same target on the baseline,
p95 wait ≤ k × target under every named stress (k = 3 by default), expected cost over the
ensemble (the scenario, its parameter uncertainty, the named stresses; batchsim.optimize.ensemble),
searched with successive halving. Finally the plain winner, the robust winner and the cheapest
baseline run under every stress on the fresh seeds (`batchsim stress`'s table): cost and p95 wait,
mean ± 95 % t-interval, so a reader sees what the robust winner pays on an ordinary day and what
it saves on a bad one.

Prints the markdown table, end to end.
Run: python benchmarks/evidence_robust.py [--cache DIR] [--budget N] [--seeds K] [--tail-k K] [--quick] [--only NAME] [--stress NAME]
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from evidence_optimize import EVIDENCE_FIDELITY, FRESH, SCENARIOS, params_text, plain_search

from batchsim.measure.executors import Executor
from batchsim.optimize.ensemble import robust_ensemble
from batchsim.optimize.objective import Objective
from batchsim.optimize.search import optimize
from batchsim.optimize.templates import find_template
from batchsim.stress import NAMED, find
from batchsim.stress.table import stress_table

ROOT = Path(__file__).resolve().parents[1]
ROBUST_TEMPLATES = ["spot-share", "spot-fallback"]


def cell(row: dict[str, float]) -> str:
    return f"{row['cost_usd']:.2f} ± {row['cost_usd_ci']:.2f} / {row['wait_s_p95']:.0f} ± {row['wait_s_p95_ci']:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=60, help="robust trials per template")
    parser.add_argument("--plain-budget", type=int, default=150, help="plain trials per template")
    parser.add_argument("--seeds", type=int, default=5, help="search seeds per trial")
    parser.add_argument("--tail-k", type=float, default=3.0, help="p95 under a stress ≤ k × target")
    parser.add_argument("--workers", type=int, default=None, help="local worker processes (default: CPU count)")
    parser.add_argument("--quick", action="store_true", help="budget 12, 2 search seeds")
    parser.add_argument("--only", action="append", help="scenario file name (repeatable)")
    parser.add_argument("--stress", action="append", help="only these named stresses (repeatable; default: all)")
    parser.add_argument("--cache", type=Path, help="reuse the plain searches evidence_optimize.py --cache kept there")
    args = parser.parse_args()
    budget, plain_budget, seeds = (12, 12, 2) if args.quick else (args.budget, args.plain_budget, args.seeds)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    print(
        f"Run {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC at {commit or 'unknown commit'}: budget {plain_budget} "
        f"plain / {budget} robust per template (successive halving), {seeds} search seeds, k = {args.tail_k:g}, "
        f"fresh seeds {FRESH[0]}-{FRESH[-1]}",
        flush=True,
    )
    started = time.perf_counter()
    table = [
        "| scenario | stress | plain winner: cost (USD) / p95 (s) | robust winner: cost (USD) / p95 (s) | "
        "cheapest baseline: cost (USD) / p95 (s) |",
        "|---|---|---|---|---|",
    ]
    notes = []
    with Executor(workers=args.workers) as executor:
        for name in args.only or SCENARIOS:
            plain = plain_search(
                ROOT / "scenarios" / name, executor, plain_budget, seeds, EVIDENCE_FIDELITY, args.cache
            )
            scenario = plain.scenario
            stresses = find(scenario, args.stress) if args.stress else list(NAMED)
            members, source = robust_ensemble(scenario, stresses=stresses)
            objective = Objective("p95-wait", p95_wait_target_s=plain.target_s, tail_k=args.tail_k)
            robust = []
            for template in ROBUST_TEMPLATES:
                result = optimize(
                    scenario,
                    find_template(template),
                    objective,
                    executor,
                    budget=budget,
                    seeds=seeds,
                    members=members,
                    fidelity=EVIDENCE_FIDELITY,
                )
                if result.best is not None:
                    robust.append((result.best.cost_usd, template, result.best))
            formulas: dict[str, str | None] = {}
            first_note = len(notes)
            if plain.winner is not None:
                formulas["plain"] = plain.winner.formula
                notes.append(f"- {name}: plain winner {plain.template} ({params_text(plain.winner)})")
            if robust:
                _, template, winner = min(robust, key=lambda r: r[0])
                formulas["robust"] = winner.formula
                notes.append(f"- {name}: robust winner {template} ({params_text(winner)})")
            else:
                notes.append(f"- {name}: no robust candidate met p95 ≤ {plain.target_s:.0f} s and the tail constraint")
            formulas["baseline"] = plain.texts[plain.cheapest]
            rows = stress_table(scenario, formulas, stresses, FRESH, executor).rows
            by = {(r["formula"], r["stress"]): r for r in rows}
            for stress in stresses:
                cells = [
                    cell(by[(f, stress.name)]) if (f, stress.name) in by else "—"
                    for f in ("plain", "robust", "baseline")
                ]
                table.append(f"| {name} | {stress.name} | " + " | ".join(cells) + " |")
            notes.append(
                f"  (target p95 ≤ {plain.target_s:.0f} s; cheapest baseline {plain.cheapest}; uncertainty: {source})"
            )
            print("\n".join(table[-len(stresses) :]), flush=True)
            print("\n".join(notes[first_note:]), file=sys.stderr, flush=True)  # kept if a later scenario fails
    print(f"\n{time.perf_counter() - started:.0f} s in all\n")
    print("\n".join(table) + "\n\n" + "\n".join(notes))


if __name__ == "__main__":
    main()
