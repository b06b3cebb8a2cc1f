"""The optimizer: the cheapest template parameters that meet a wait or deadline target.

Search with optuna (TPE for a constrained single objective, NSGA-II for the cost / p95-wait Pareto
front, or random), through one executor created for the whole search. Trials are asked in batches
(`study.ask()` × batch, then run together, then told in trial order), so every worker is busy and
the search is the same whatever order runs finish in. Every candidate runs on the same seeds and
members (common random numbers), so differences between candidates are not noise between
workloads. With `fidelity`, candidates first run on one seed (and optionally a shorter horizon)
and only those in the best 1/η of their rung go on to more seeds (successive halving, optuna's
`SuccessiveHalvingPruner`). Several templates make the family a categorical choice of the same
study (`families`). The winner, the best of each other family and the baselines are then measured
again on fresh seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from batchsim.measure.cells import Measured
from batchsim.measure.clairvoyant import clairvoyant_cost_usd
from batchsim.measure.executors import Executor
from batchsim.optimize.candidates import Candidate, evaluate_formula, measure_formulas
from batchsim.optimize.ensemble import Member, plain_ensemble
from batchsim.optimize.families import FAMILY, Families
from batchsim.optimize.kinds import SamplerKind
from batchsim.optimize.objective import Objective, ObjectiveKind, Score, score
from batchsim.optimize.templates import Template
from batchsim.optimize.verdict import verdict
from batchsim.scenario import Scenario

__all__ = [
    "FIXED_POOL",
    "FRESH_SEED_START",
    "OWN_FORMULA",
    "Candidate",
    "Fidelity",
    "OptimizeResult",
    "SamplerKind",
    "SearchInterrupted",
    "evaluate_formula",
    "optimize",
]

FRESH_SEED_START = 1001  # final checks run on seeds 1001.. that no search ever uses
FRONT_LIMIT = 8  # Pareto points re-measured on fresh seeds
OWN_FORMULA = "scenario's formula"  # the baseline a winner must beat
FIXED_POOL = "scenario's fixed pool"  # that baseline for a scenario without autoscale: its initial sizes
RANDOM_BATCH_FACTOR = 4  # a random search's default batch: this many times the others' (16 trials on 2 workers)


class SearchInterrupted(Exception):
    """Ctrl-C during the search: the trials told so far, the executor stopped."""

    def __init__(self, trials: pd.DataFrame) -> None:
        super().__init__(f"interrupted after {len(trials)} trials")
        self.trials = trials


@dataclass(frozen=True)
class Fidelity:
    """Successive halving over seeds: rung r runs the first `rungs(K)[r][0]` seeds (the first rung at
    `min_horizon` × the horizon); only trials in the best 1/`reduction` of a rung go on to the next.

    Seeds double from 1 while that stays within K (1, 2, 4, ...), then K: with 5 seeds, a trial
    pruned at once costs 1 run instead of 5. Comparisons within a rung are on the same seeds
    (common random numbers). Reduction 16 by default: on the 50-node day (150 TPE trials × 5 seeds,
    four sampler seeds, benchmarks/bench_fidelity.py) it took 0.25–0.27 of the full budget's runs
    and its winner was within the full-budget winner's interval in every search; reduction 4 took
    0.43–0.49 (TPE's later trials are better than most earlier ones, so more than 1/4 go on).
    """

    reduction: int = 16
    min_horizon: float = 1.0

    def rungs(self, seeds: int) -> list[tuple[int, float]]:
        counts = [1]
        while counts[-1] * 4 <= seeds:
            counts.append(counts[-1] * 2)
        if counts[-1] != seeds:
            counts.append(seeds)
        return [(n, self.min_horizon if i == 0 and len(counts) > 1 else 1.0) for i, n in enumerate(counts)]


@dataclass
class OptimizeResult:
    """The search's outcome.

    best: the winner measured on the fresh seeds (None when no candidate met the target);
    improvement: whether it beats the scenario's own formula there (None: nothing to compare);
    verdict: one line saying so; trials: every trial; pareto: the non-dominated complete trials;
    final: the winner, the best of each other family and the baselines on the fresh seeds; front:
    the Pareto points on them; families: the templates searched; family_best: each family's
    cheapest feasible trial on the fresh seeds (None: it had none); lower_bound_usd: what a pool
    that knows the workload in advance would pay (`measure.clairvoyant`), on the fresh seeds.
    """

    best: Candidate | None
    improvement: bool | None
    verdict: str
    trials: pd.DataFrame
    pareto: pd.DataFrame
    final: list[Candidate]
    front: list[Candidate]
    objective: Objective
    members: list[Member]
    search_seeds: list[int]
    fresh_seeds: list[int]
    search_runs: int
    notes: list[str] = field(default_factory=list)
    sampler: str = ""  # optuna's sampler class, seeded with sampler_seed
    sampler_seed: int = 0
    families: list[str] = field(default_factory=list)
    family_best: dict[str, Candidate | None] = field(default_factory=dict)
    lower_bound_usd: float | None = None  # the clairvoyant bound, averaged over the fresh seeds


def _sampler(kind: SamplerKind | None, multi: bool, seed: int) -> Any:
    import optuna

    chosen = kind or (SamplerKind.nsga2 if multi else SamplerKind.tpe)
    if chosen is SamplerKind.nsga2:
        return optuna.samplers.NSGAIISampler(seed=seed)
    if chosen is SamplerKind.random:
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def optimize(
    scenario: Scenario,
    template: Template | Sequence[Template],
    objective: Objective,
    executor: Executor,
    *,
    budget: int = 30,
    seeds: int = 3,
    sampler: SamplerKind | str | None = None,
    members: Sequence[Member] | None = None,
    baselines: Mapping[str, str] | None = None,
    final_seeds: int = 5,
    fidelity: Fidelity | None = None,
    batch: int | None = None,
    on_trial: Callable[[int, int], None] | None = None,
    sampler_seed: int = 0,
) -> OptimizeResult:
    """Search `template`'s parameters (several templates: the family too); check the winner, the best
    of each other family and `baselines` on fresh seeds.

    `baselines` maps names to formula texts; the one named OWN_FORMULA (FIXED_POOL: a fixed pool's
    `fixed_pool_formula`) decides whether the winner is an improvement.
    `sampler_seed` seeds the sampler: the same seed, the same search.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    members = list(members or plain_ensemble(scenario))
    multi = objective.kind is ObjectiveKind.pareto
    if multi and fidelity is not None:
        raise ValueError("multi-fidelity needs a single objective (optuna cannot prune a multi-objective study)")
    pruner = (
        optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=fidelity.reduction)
        if fidelity is not None
        else optuna.pruners.NopPruner()
    )
    kind = SamplerKind(sampler) if sampler else None
    study = optuna.create_study(
        directions=["minimize", "minimize"] if multi else ["minimize"],
        sampler=_sampler(kind, multi, sampler_seed),
        pruner=pruner,
    )
    families = Families(template)
    for start in families.starts():  # each family's documented starting point comes first
        study.enqueue_trial(start)
    if batch is None:
        batch = max(2, 2 * executor.workers) * (2 if fidelity is not None else 1)
        if kind is SamplerKind.random and fidelity is None:
            # A random trial depends on no trial told before it (nor, without a pruner, on the other
            # trials of its batch): the same search at any batch size. A longer batch leaves a worker
            # idle at its end (waiting for the other's last run) a smaller share of the time.
            batch *= RANDOM_BATCH_FACTOR
    search = _Search(study, families, objective, executor, members, seeds, fidelity)
    try:
        while len(search.rows) < budget:
            search.batch(min(batch, budget - len(search.rows)))
            if on_trial is not None:
                on_trial(len(search.rows), budget)
    except KeyboardInterrupt:
        executor.stop()
        raise SearchInterrupted(pd.DataFrame(search.rows)) from None
    trials_table = pd.DataFrame(search.rows).sort_values("trial").reset_index(drop=True)
    complete = trials_table[trials_table["state"] == "complete"]
    front = _pareto(complete[complete["feasible_tail"]])
    fresh = list(range(FRESH_SEED_START, FRESH_SEED_START + final_seeds))
    result = _final_check(
        families,
        objective,
        executor,
        members,
        baselines or {},
        trials_table,
        front,
        fresh,
        seeds,
        search.runs,
    )
    result.sampler = type(study.sampler).__name__
    result.sampler_seed = sampler_seed
    result.lower_bound_usd = float(np.mean([clairvoyant_cost_usd(scenario, s) for s in fresh]))
    return result


class _Search:
    """One study's batches: ask, run every rung on the same seeds, prune or tell, in trial order."""

    def __init__(
        self,
        study: Any,
        families: Families,
        objective: Objective,
        executor: Executor,
        members: list[Member],
        seeds: int,
        fidelity: Fidelity | None,
    ) -> None:
        self.study, self.families, self.objective, self.executor = study, families, objective, executor
        self.members, self.seeds, self.fidelity = members, seeds, fidelity
        self.rungs = fidelity.rungs(seeds) if fidelity is not None else [(seeds, 1.0)]
        self.multi = objective.kind is ObjectiveKind.pareto
        self.rows: list[dict[str, Any]] = []
        self.runs = 0
        self.scale: float | None = None  # the first candidate's cost: the penalty per unit of violation

    def _score(self, measured: Mapping[str, Measured]) -> Score:
        result = score(self.objective, self.members, measured)
        self.scale = self.scale or max(result.cost_usd, 1e-6)
        return result

    def batch(self, size: int) -> None:
        import optuna

        trials = [self.study.ask() for _ in range(size)]
        chosen = {t.number: self.families.suggest(t) for t in trials}
        params = {n: self.families.row(template, values) for n, (template, values) in chosen.items()}
        active = {t.number: t for t in trials}
        measured: dict[int, dict[str, Measured]] = {t.number: {} for t in trials}
        done_seeds, done_horizon = 0, 1.0
        for rung, (count, horizon) in enumerate(self.rungs):
            start = done_seeds if horizon == done_horizon else 0  # a longer horizon starts the seeds again
            formulas = {str(n): chosen[n][0].render(chosen[n][1]) for n in active}
            new_seeds = list(range(start + 1, count + 1))
            found = measure_formulas(self.executor, formulas, self.members, new_seeds, horizon)
            self.runs += len(formulas) * len(self.members) * len(new_seeds)
            for n in active:
                for member in self.members:
                    earlier, now = measured[n].get(member.name) if start else None, found[str(n)][member.name]
                    measured[n][member.name] = (
                        Measured(earlier.seeds + now.seeds, earlier.runs + now.runs) if earlier else now
                    )
            done_seeds, done_horizon = count, horizon
            if rung == len(self.rungs) - 1:
                break
            assert self.fidelity is not None
            for n in sorted(active):
                result = self._score(measured[n])
                # Steps are the pruner's rungs: rung r is judged at min_resource × reduction^r.
                active[n].report(result.penalized(self.scale or 1.0), step=self.fidelity.reduction**rung)
                if active[n].should_prune():
                    _set_constraints(active[n], result)
                    self.study.tell(active[n], state=optuna.trial.TrialState.PRUNED)
                    self.rows.append(_row(n, params[n], result, "pruned", count, horizon, self.members, measured[n]))
                    del active[n]
        for n in sorted(active):
            result = self._score(measured[n])
            _set_constraints(active[n], result)
            self.study.tell(active[n], [result.cost_usd, result.p95_wait_s] if self.multi else result.cost_usd)
            self.rows.append(_row(n, params[n], result, "complete", self.seeds, 1.0, self.members, measured[n]))


def _set_constraints(trial: Any, result: Score) -> None:
    for key, value in result.constraints.items():
        trial.set_constraint(key, min(value, 1e6))


def _row(
    number: int,
    params: dict[str, Any],
    result: Score,
    state: str,
    seeds: int,
    horizon: float,
    members: Sequence[Member],
    measured: Mapping[str, Measured],
) -> dict[str, Any]:
    baseline = measured[members[0].name]
    row: dict[str, Any] = {"trial": number, **params, "state": state, "seeds": seeds, "horizon": horizon}
    row.update(
        {
            "cost_usd": result.cost_usd,
            "wait_s_p95": result.p95_wait_s,
            "deadline_met": baseline.mean("deadline_met_fraction"),
            "tasks_never_started": baseline.mean("tasks_never_started"),
            "violation": result.violation,
            "feasible": state == "complete" and result.feasible,
            "feasible_tail": state == "complete"
            and all(v <= 0 for k, v in result.constraints.items() if k != "target"),
            "runs": sum(len(m.runs) for m in measured.values()),
        }
    )
    for member in members[1:]:
        row[f"wait_s_p95[{member.name}]"] = measured[member.name].mean("wait_s_p95")
    return row


def _pareto(trials: pd.DataFrame) -> pd.DataFrame:
    """Trials not dominated in (cost, p95 wait)."""
    if not len(trials):
        return trials
    points = trials[["cost_usd", "wait_s_p95"]].to_numpy()
    keep = [
        not any((q <= p).all() and (q < p).any() for j, q in enumerate(points) if j != i) for i, p in enumerate(points)
    ]
    return trials[keep].sort_values("cost_usd").reset_index(drop=True)


def _final_check(
    families: Families,
    objective: Objective,
    executor: Executor,
    members: list[Member],
    baselines: Mapping[str, str],
    trials: pd.DataFrame,
    front: pd.DataFrame,
    fresh: list[int],
    seeds: int,
    runs: int,
) -> OptimizeResult:
    """Winner (or front), the best of each other family and the baselines on the fresh seeds, in one
    batch; the verdict."""
    chosen: dict[str, tuple[Template, dict[str, float]]] = {}
    multi = objective.kind is ObjectiveKind.pareto
    if multi:
        picks = front.iloc[_spread(len(front), FRONT_LIMIT)] if len(front) else front
        for k, (_, row) in enumerate(picks.iterrows()):
            chosen[f"front {k + 1}"] = families.of(row)
    else:
        # The winner is chosen on the search's seeds, never on the fresh ones that judge it.
        feasible = trials[trials["feasible"]].sort_values(["cost_usd", "trial"])
        if len(feasible):
            chosen["optimized"] = families.of(feasible.iloc[0])
        if families.several:
            for name in families.names:
                own = feasible[feasible[FAMILY] == name]
                if len(own) and name != chosen["optimized"][0].name:
                    chosen[f"best {name}"] = families.of(own.iloc[0])
    formulas = {name: template.render(p) for name, (template, p) in chosen.items()}
    formulas.update({name: text for name, text in baselines.items() if name not in formulas})
    found = measure_formulas(executor, formulas, members, fresh) if formulas else {}
    candidates = {
        name: Candidate(
            name,
            text,
            chosen[name][1] if name in chosen else {},
            members,
            found[name],
            chosen[name][0].name if name in chosen else "",
        )
        for name, text in formulas.items()
    }
    best = candidates.get("optimized")
    front_candidates = [candidates[n] for n in chosen if multi]
    family_best: dict[str, Candidate | None] = {}
    if not multi:
        for name in families.names:
            family_best[name] = best if best is not None and best.template == name else candidates.get(f"best {name}")
    others = [c for n, c in candidates.items() if n.startswith("best ")]
    final = ([best] if best else []) + others + [candidates[n] for n in baselines if n in candidates]
    own_name = OWN_FORMULA if OWN_FORMULA in candidates else FIXED_POOL
    own = candidates.get(own_name)
    improvement, line = verdict(best, own, own_name, objective, multi, front_candidates)
    search_seeds = list(range(1, seeds + 1))
    return OptimizeResult(
        best,
        improvement,
        line,
        trials,
        front,
        final,
        front_candidates,
        objective,
        members,
        search_seeds,
        fresh,
        runs,
        families=families.names,
        family_best=family_best,
    )


def _spread(n: int, limit: int) -> list[int]:
    """At most `limit` indices spread evenly over 0..n-1, both ends included."""
    if n <= limit:
        return list(range(n))
    return sorted({round(i * (n - 1) / (limit - 1)) for i in range(limit)})
