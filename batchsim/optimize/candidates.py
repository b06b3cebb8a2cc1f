"""A formula measured on every member of an ensemble over a set of seeds, and how to measure one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from batchsim.measure.cells import Cell, Measured, measure
from batchsim.measure.executors import Executor
from batchsim.optimize.ensemble import Member, plain_ensemble
from batchsim.optimize.objective import Objective, Score, expected_cost, score
from batchsim.scenario import Scenario

__all__ = ["Candidate", "evaluate_formula", "measure_formulas"]


@dataclass
class Candidate:
    """A formula measured on every member over a set of seeds."""

    name: str
    formula: str
    params: dict[str, float]
    members: list[Member] = field(repr=False)
    measured: dict[str, Measured] = field(repr=False)
    template: str = ""  # the family it was rendered from ("" for a baseline)

    @property
    def baseline(self) -> Measured:
        return self.measured[self.members[0].name]

    @property
    def cost_usd(self) -> float:
        return expected_cost(self.members, self.measured)[0]

    @property
    def cost_ci_usd(self) -> float:
        return expected_cost(self.members, self.measured)[1]

    @property
    def p95_wait_s(self) -> float:
        return self.baseline.mean("wait_s_p95")

    @property
    def p95_ci_s(self) -> float:
        return self.baseline.stat("wait_s_p95")[1]

    @property
    def deadline_met(self) -> float:
        return self.baseline.mean("deadline_met_fraction")

    @property
    def runs(self) -> list[dict[str, Any]]:
        """The baseline member's summaries, by seed."""
        return self.baseline.runs

    def per_seed_cost(self) -> list[float]:
        per_seed = [0.0] * len(self.baseline.runs)
        for member in self.members:
            for i, value in enumerate(self.measured[member.name].values("cost_usd")):
                per_seed[i] += member.weight * value
        return per_seed

    def score(self, objective: Objective) -> Score:
        return score(objective, self.members, self.measured)


def measure_formulas(
    executor: Executor,
    formulas: Mapping[str, str],
    members: Sequence[Member],
    seeds: Sequence[int],
    horizon: float = 1.0,
) -> dict[str, dict[str, Measured]]:
    """Each formula on each member and seed, in one batch: name → member → Measured."""
    texts = {m.name: m.shortened(horizon) for m in members}
    cells = {(name, m.name): Cell(texts[m.name], formula) for name, formula in formulas.items() for m in members}
    found = measure(executor, cells, seeds)
    return {name: {m.name: found[(name, m.name)] for m in members} for name in formulas}


def evaluate_formula(
    name: str,
    formula: str,
    scenario: Scenario,
    seeds: list[int],
    executor: Executor,
    params: dict[str, float] | None = None,
    members: Sequence[Member] | None = None,
) -> Candidate:
    """Simulate `formula` on every member (default: the scenario alone) and seed."""
    members = list(members or plain_ensemble(scenario))
    measured = measure_formulas(executor, {name: formula}, members, seeds)[name]
    return Candidate(name, formula, params or {}, members, measured)
