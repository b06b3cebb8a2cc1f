"""The optimizer: the cheapest template parameters that meet a p95-wait or deadline target.

Search with optuna (TPE for a constrained single objective, NSGA-II for the cost / p95-wait Pareto
front, or random). Every candidate runs on the same seeds (common random numbers), so differences
between candidates are not noise between workloads; the winner and the baselines are then checked
again on fresh seeds with 95 % t-intervals.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from batchsim import jsonio
from batchsim.optimize.executors import RunSpec, execute
from batchsim.optimize.templates import Template

__all__ = ["Candidate", "Objective", "OptimizeResult", "evaluate_formula", "optimize"]


@dataclass(frozen=True)
class Objective:
    """What "meets the target" means. kind: p95-wait | deadline | pareto."""

    kind: str = "p95-wait"
    p95_wait_target_s: float = 600.0
    deadline_miss_target: float = 0.01

    def violation(self, p95_s: float, deadline_met: float) -> float:
        """How far a candidate is from feasible (≤ 0 is feasible), as a fraction of the target."""
        if self.kind == "deadline":
            missed = 1.0 - (deadline_met if not math.isnan(deadline_met) else 1.0)
            return missed - self.deadline_miss_target
        return p95_s / self.p95_wait_target_s - 1.0


@dataclass
class Candidate:
    """A formula measured on a set of seeds: mean and 95 % half-width of cost and p95 wait."""

    name: str
    formula: str
    params: dict[str, float]
    cost_usd: float
    cost_ci_usd: float
    p95_wait_s: float
    p95_ci_s: float
    deadline_met: float
    runs: list[dict[str, Any]] = field(default_factory=list, repr=False)


def _interval(values: list[float]) -> tuple[float, float]:
    mean = float(np.mean(values))
    if len(values) < 2:
        return mean, math.nan
    half = float(stats.t.ppf(0.975, len(values) - 1) * np.std(values, ddof=1) / math.sqrt(len(values)))
    return mean, half


def evaluate_formula(
    name: str,
    formula: str,
    scenario: str,
    seeds: list[int],
    params: dict[str, float] | None = None,
    overrides: tuple[str, ...] = (),
    **executor: Any,
) -> Candidate:
    """Simulate `formula` on every seed and aggregate."""
    specs = [RunSpec(scenario, overrides, seed, formula=formula) for seed in seeds]
    summaries = [summary for _, summary in execute(specs, **executor)]
    summaries.sort(key=lambda s: s["seed"])
    cost, cost_ci = _interval([s["cost_usd"] for s in summaries])
    p95, p95_ci = _interval([s["wait_s_p95"] for s in summaries])
    met = [s["deadline_met_fraction"] for s in summaries if not math.isnan(s["deadline_met_fraction"])]
    return Candidate(
        name, formula, params or {}, cost, cost_ci, p95, p95_ci, float(np.mean(met)) if met else math.nan, summaries
    )


@dataclass
class OptimizeResult:
    """The search's outcome: the winner (None when nothing met the target), all trials, the front."""

    best: Candidate | None
    trials: pd.DataFrame
    pareto: pd.DataFrame
    final: list[Candidate]


def optimize(
    scenario: str,
    template: Template,
    objective: Objective,
    *,
    budget: int = 30,
    seeds: int = 3,
    sampler: str = "tpe",
    baselines: dict[str, str] | None = None,
    final_seeds: int = 5,
    overrides: tuple[str, ...] = (),
    on_trial: Callable[[int, int], None] | None = None,
    **executor: Any,
) -> OptimizeResult:
    """Search `template`'s parameters on `scenario`; check the winner and baselines on fresh seeds."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    search_seeds = list(range(1, seeds + 1))
    multi = objective.kind == "pareto"

    chosen: optuna.samplers.BaseSampler
    if multi or sampler == "nsga2":
        chosen = optuna.samplers.NSGAIISampler(seed=0)
    elif sampler == "random":
        chosen = optuna.samplers.RandomSampler(seed=0)
    else:
        chosen = optuna.samplers.TPESampler(seed=0)
    study = optuna.create_study(directions=["minimize", "minimize"] if multi else ["minimize"], sampler=chosen)
    study.enqueue_trial(template.defaults())  # the documented starting point is the first candidate
    rows = []
    for number in range(budget):
        trial = study.ask()
        params: dict[str, float] = {}
        for p in template.parameters:
            if p.kind == "int":
                params[p.name] = trial.suggest_int(p.name, int(p.low), int(p.high))
            else:
                params[p.name] = trial.suggest_float(p.name, p.low, p.high)
        formula = template.render(params)
        candidate = evaluate_formula(f"trial {number}", formula, scenario, search_seeds, params, overrides, **executor)
        violation = objective.violation(candidate.p95_wait_s, candidate.deadline_met)
        if not multi:
            trial.set_constraint("target", violation)  # ≤ 0 is feasible; the samplers prefer feasible regions
        study.tell(trial, [candidate.cost_usd, candidate.p95_wait_s] if multi else candidate.cost_usd)
        rows.append(
            {
                "trial": number,
                **params,
                "cost_usd": candidate.cost_usd,
                "wait_s_p95": candidate.p95_wait_s,
                "deadline_met": candidate.deadline_met,
                "feasible": violation <= 0,
            }
        )
        if on_trial is not None:
            on_trial(number + 1, budget)
    trials = pd.DataFrame(rows)
    pareto = _pareto(trials)
    feasible = trials[trials["feasible"]]
    fresh = list(range(1001, 1001 + final_seeds))
    final: list[Candidate] = []
    best: Candidate | None = None
    if len(feasible):
        row = feasible.sort_values("cost_usd").iloc[0]
        params = {p.name: (int(row[p.name]) if p.kind == "int" else float(row[p.name])) for p in template.parameters}
        best = evaluate_formula("optimized", template.render(params), scenario, fresh, params, overrides, **executor)
        final.append(best)
    for name, text in (baselines or {}).items():
        final.append(evaluate_formula(name, text, scenario, fresh, None, overrides, **executor))
    return OptimizeResult(best, trials, pareto, final)


def _pareto(trials: pd.DataFrame) -> pd.DataFrame:
    """Trials not dominated in (cost, p95 wait)."""
    points = trials[["cost_usd", "wait_s_p95"]].to_numpy()
    keep = [
        not any((q <= p).all() and (q < p).any() for j, q in enumerate(points) if j != i) for i, p in enumerate(points)
    ]
    return trials[keep].sort_values("cost_usd").reset_index(drop=True)


def write_outputs(result: OptimizeResult, out: Path, objective: Objective, lower_bound_usd: float | None) -> None:
    """best.formula, trials.csv, pareto.csv and report.md (winner against baselines, with intervals)."""
    out.mkdir(parents=True, exist_ok=True)
    result.trials.to_csv(out / "trials.csv", index=False)
    result.pareto.to_csv(out / "pareto.csv", index=False)
    if result.best is not None:
        header = "// Found by `batchsim optimize`: " + jsonio.dumps(
            {k: round(v, 4) for k, v in result.best.params.items()}, indent=None
        )
        (out / "best.formula").write_text(header + "\n" + result.best.formula, encoding="utf-8")
    target = (
        f"p95 wait ≤ {objective.p95_wait_target_s:.0f} s"
        if objective.kind != "deadline"
        else f"deadline misses ≤ {objective.deadline_miss_target:.1%}"
    )
    lines = [
        "# batchsim optimize",
        "",
        f"Target: {target}. Final check on fresh seeds; ± is the 95 % t-interval.",
        "",
        "| formula | cost (USD) | p95 wait (s) | deadlines met |",
        "|---|---|---|---|",
    ]
    for c in result.final:
        lines.append(
            f"| {c.name} | {c.cost_usd:.2f} ± {c.cost_ci_usd:.2f} | {c.p95_wait_s:.0f} ± {c.p95_ci_s:.0f} | "
            f"{c.deadline_met:.3f} |"
        )
    if lower_bound_usd is not None:
        lines.append(f"| clairvoyant lower bound | {lower_bound_usd:.2f} | 0 | 1.000 |")
    if result.best is None:
        lines += ["", "No candidate met the target within the budget: raise --budget or relax the target."]
    (out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
