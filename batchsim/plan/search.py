"""The plan's search: VM size × task slots × fill type × formula family and parameters, one optuna study.

The size is a categorical parameter; the slots are conditional on it (`task_slots_per_node[SIZE]`,
each size its own choices), the fill type is categorical, and the family and its parameters are
`optimize.families`' (several templates: a categorical with conditional parameters). Each trial's
pool shape is a planned scenario (`planned`); its formula runs on it through the same executor and
cells as `optimize` (`measure.cells`, common random numbers: every trial on seeds 1..K, every size
on the same workload). Parameters that set node counts are clamped to what the size's core quota
holds (the planned scenario's quota holds the rest, e.g. a floor plus stand-ins).

The winner (the cheapest trial meeting the target on the search's seeds), the best trial of each
other size and the scenario's own pool with its own formula are then measured on fresh seeds, and
`optimize.verdict` says whether the winner is an improvement: cheaper beyond the paired interval
and meeting the target there, or meeting a target the scenario's own pool misses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from batchsim.measure.cells import Cell, Measured, measure
from batchsim.measure.executors import Executor
from batchsim.optimize.candidates import Candidate
from batchsim.optimize.ensemble import Member, plain_ensemble, robust_ensemble
from batchsim.optimize.families import Families
from batchsim.optimize.objective import Objective, Score, score
from batchsim.optimize.search import FIXED_POOL, FRESH_SEED_START, OWN_FORMULA
from batchsim.optimize.templates import Template
from batchsim.optimize.verdict import verdict
from batchsim.plan.planned import planned_scenario
from batchsim.plan.shapes import Excluded, Size
from batchsim.scenario import Scenario
from batchsim.stress import available

__all__ = ["DEDICATED_NODE_PARAMETERS", "SPOT_NODE_PARAMETERS", "PlanResult", "Shape", "plan"]

# Template parameters that are node counts (formulas/templates/*.tmpl), by the node kind they set.
DEDICATED_NODE_PARAMETERS = frozenset({"maxNodes", "dedicatedFloor", "maxStandIn", "dayNodes", "nightNodes"})
SPOT_NODE_PARAMETERS = frozenset({"maxSpot"})
SIZE, SLOTS, FILL = "vm_size", "task_slots_per_node", "node_fill_type"
OWN_SHAPE = "best on the own shape"


@dataclass(frozen=True)
class Shape:
    """A pool shape: size, slots per node, fill type."""

    size: Size
    slots: int
    fill: str

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.size.vm_size, self.slots, self.fill)


@dataclass
class Planned:
    """A shape with its formula, measured on the fresh seeds."""

    shape: Shape | None  # None: the scenario's own pool
    candidate: Candidate
    scenario: Scenario


@dataclass
class PlanResult:
    """The plan's outcome: the winner and each size's best on the fresh seeds, the own pool, the verdict."""

    best: Planned | None
    own: Planned
    own_shape: Planned | None  # the best trial on the scenario's own size, slots and fill (None: none met the target)
    improvement: bool
    verdict: str
    per_size: dict[str, Planned | None]
    trials: pd.DataFrame
    excluded: list[Excluded]
    sizes: list[Size]
    objective: Objective
    search_seeds: list[int]
    fresh_seeds: list[int]
    search_runs: int
    families: list[str]
    notes: list[str] = field(default_factory=list)


def clamp(params: dict[str, float], size: Size) -> dict[str, float]:
    """Node-count parameters held to what the size's core quotas allow (never below 0)."""
    held = dict(params)
    for name, value in params.items():
        bound = (
            size.max_dedicated_nodes
            if name in DEDICATED_NODE_PARAMETERS
            else size.max_spot_nodes
            if name in SPOT_NODE_PARAMETERS
            else None
        )
        if bound is not None and value > bound:
            held[name] = type(value)(bound)
    return held


class _Study:
    """The shapes' members (cached), the study's trials, their measurements and rows."""

    def __init__(
        self,
        scenario: Scenario,
        sizes: list[Size],
        fills: list[str],
        families: Families,
        objective: Objective,
        executor: Executor,
        seeds: int,
        robust: bool,
        sampler_seed: int,
    ) -> None:
        import optuna

        self.scenario, self.sizes, self.fills, self.families = scenario, {s.vm_size: s for s in sizes}, fills, families
        self.objective, self.executor, self.seeds, self.robust = objective, executor, seeds, robust
        self.members: dict[tuple[str, int, str], list[Member]] = {}
        self.rows: list[dict[str, Any]] = []
        self.runs = 0
        self.scale: float | None = None
        self.study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=sampler_seed))
        for size in sizes:  # each size's first trial: its most slots, the scenario's fill, each family's defaults
            for start in families.starts():
                fill = scenario.pool.node_fill_type if scenario.pool.node_fill_type in fills else fills[0]
                self.study.enqueue_trial(
                    {SIZE: size.vm_size, f"{SLOTS}[{size.vm_size}]": size.slot_choices[-1], FILL: fill, **start}
                )

    def members_of(self, shape: Shape) -> list[Member]:
        if shape.key not in self.members:
            planned = planned_scenario(self.scenario, shape.size, shape.slots, shape.fill)
            self.members[shape.key] = (
                robust_ensemble(planned, stresses=available(planned))[0] if self.robust else plain_ensemble(planned)
            )
        return self.members[shape.key]

    def suggest(self, trial: Any) -> tuple[Shape, Template, dict[str, float]]:
        names = list(self.sizes)
        size = self.sizes[trial.suggest_categorical(SIZE, names) if len(names) > 1 else names[0]]
        choices = list(size.slot_choices)
        slots = trial.suggest_categorical(f"{SLOTS}[{size.vm_size}]", choices) if len(choices) > 1 else choices[0]
        fill = trial.suggest_categorical(FILL, self.fills) if len(self.fills) > 1 else self.fills[0]
        template, params = self.families.suggest(trial)
        return Shape(size, int(slots), fill), template, clamp(params, size)

    def _score(self, members: list[Member], measured: dict[str, Measured]) -> Score:
        result = score(self.objective, members, measured)
        self.scale = self.scale or max(result.cost_usd, 1e-6)
        return result

    def batch(self, count: int) -> None:
        trials = [self.study.ask() for _ in range(count)]
        chosen = {t.number: self.suggest(t) for t in trials}
        cells: dict[tuple[int, str], Cell] = {}
        for number, (shape, template, params) in chosen.items():
            formula = template.render(params)
            for member in self.members_of(shape):
                cells[(number, member.name)] = Cell(member.text, formula)
        seeds = list(range(1, self.seeds + 1))
        found = measure(self.executor, cells, seeds)
        self.runs += len(cells) * len(seeds)
        for trial in trials:
            shape, template, params = chosen[trial.number]
            members = self.members_of(shape)
            measured = {m.name: found[(trial.number, m.name)] for m in members}
            result = self._score(members, measured)
            self.study.tell(trial, result.penalized(self.scale or 1.0))
            self.rows.append(
                _row(trial.number, shape, self.families.row(template, params), result, measured[members[0].name])
            )


def _row(number: int, shape: Shape, family: dict[str, Any], result: Score, baseline: Measured) -> dict[str, Any]:
    return {
        "trial": number,
        SIZE: shape.size.vm_size,
        SLOTS: shape.slots,
        FILL: shape.fill,
        **family,
        "cost_usd": result.cost_usd,
        "wait_s_p95": result.p95_wait_s,
        "deadline_met": baseline.mean("deadline_met_fraction"),
        "cost_per_task_usd": baseline.mean("cost_per_completed_task_usd"),
        "violation": result.violation,
        "feasible": result.feasible,
    }


def plan(
    scenario: Scenario,
    sizes: list[Size],
    excluded: list[Excluded],
    templates: Sequence[Template],
    objective: Objective,
    executor: Executor,
    *,
    fills: Sequence[str] = ("pack", "spread"),
    budget: int = 30,
    seeds: int = 3,
    final_seeds: int = 5,
    robust: bool = False,
    own_formula: str,
    fixed: bool = False,
    batch: int | None = None,
    on_trial: Callable[[int, int], None] | None = None,
    sampler_seed: int = 0,
) -> PlanResult:
    """Search shapes and formulas on `sizes` (from `shapes.plan_sizes`); judge the winner on fresh seeds
    against the scenario's own pool running `own_formula` (a fixed pool: `fixed`, its initial sizes)."""
    import optuna

    if not sizes:
        raise ValueError("no VM size left to plan: " + "; ".join(f"{e.vm_size}: {e.reason}" for e in excluded))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    families = Families(list(templates))
    study = _Study(scenario, sizes, list(fills), families, objective, executor, seeds, robust, sampler_seed)
    batch = batch or max(2, 2 * executor.workers)
    while len(study.rows) < budget:
        study.batch(min(batch, budget - len(study.rows)))
        if on_trial is not None:
            on_trial(len(study.rows), budget)
    trials = pd.DataFrame(study.rows).sort_values("trial").reset_index(drop=True)
    fresh = list(range(FRESH_SEED_START, FRESH_SEED_START + final_seeds))
    return _final(study, trials, excluded, own_formula, fixed, fresh)


def _final(
    study: _Study, trials: pd.DataFrame, excluded: list[Excluded], own_formula: str, fixed: bool, fresh: list[int]
) -> PlanResult:
    """The winner, each other size's best and the own pool on the fresh seeds, in one batch; the verdict."""
    feasible = trials[trials["feasible"]].sort_values(["cost_usd", "trial"])
    picks: dict[str, pd.Series] = {}
    if len(feasible):
        picks["planned"] = feasible.iloc[0]
    for vm_size in study.sizes:
        own = feasible[feasible[SIZE] == vm_size]
        if len(own) and ("planned" not in picks or picks["planned"][SIZE] != vm_size):
            picks[f"best {vm_size}"] = own.iloc[0]
    pool = study.scenario.pool
    on_own_shape = feasible[
        (feasible[SIZE] == pool.vm_size)
        & (feasible[SLOTS] == pool.task_slots_per_node)
        & (feasible[FILL] == pool.node_fill_type)
    ]
    if len(on_own_shape):  # what `optimize` can reach: the best formula on the scenario's own pool shape
        picks[OWN_SHAPE] = on_own_shape.iloc[0]
    chosen: dict[str, tuple[Shape, Template, dict[str, float]]] = {}
    for name, row in picks.items():
        size = study.sizes[str(row[SIZE])]
        template, params = study.families.of(row)
        chosen[name] = (Shape(size, int(row[SLOTS]), str(row[FILL])), template, params)
    own_name = FIXED_POOL if fixed else OWN_FORMULA
    own_members = (
        robust_ensemble(study.scenario, stresses=available(study.scenario))[0]
        if study.robust
        else plain_ensemble(study.scenario)
    )
    cells: dict[tuple[str, str], Cell] = {}
    for name, (shape, template, params) in chosen.items():
        for member in study.members_of(shape):
            cells[(name, member.name)] = Cell(member.text, template.render(params), records=member.role == "baseline")
    for member in own_members:
        cells[(own_name, member.name)] = Cell(member.text, own_formula, records=member.role == "baseline")
    found = measure(study.executor, cells, fresh)
    results: dict[str, Planned] = {}
    for name, (shape, template, params) in chosen.items():
        members = study.members_of(shape)
        measured = {m.name: found[(name, m.name)] for m in members}
        candidate = Candidate(name, template.render(params), params, members, measured, template.name)
        results[name] = Planned(shape, candidate, members[0].scenario)
    own_measured = {m.name: found[(own_name, m.name)] for m in own_members}
    own = Planned(None, Candidate(own_name, own_formula, {}, own_members, own_measured), study.scenario)
    best = results.get("planned")
    improvement, line = verdict(best.candidate if best else None, own.candidate, own_name, study.objective, False, [])
    line = line.replace("best.formula is not written", "plan.json says so and no pool.json is written")
    per_size: dict[str, Planned | None] = {}
    for vm_size in study.sizes:
        if best is not None and best.shape is not None and best.shape.size.vm_size == vm_size:
            per_size[vm_size] = best
        else:
            per_size[vm_size] = results.get(f"best {vm_size}")
    return PlanResult(
        best,
        own,
        results.get(OWN_SHAPE),
        bool(improvement),
        line,
        per_size,
        trials,
        excluded,
        list(study.sizes.values()),
        study.objective,
        list(range(1, study.seeds + 1)),
        fresh,
        study.runs,
        study.families.names,
    )
