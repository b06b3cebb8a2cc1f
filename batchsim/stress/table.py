"""Formulas × stresses × seeds: the rows of `batchsim stress` (DESIGN §8).

Every (formula, stress) pair runs on the same seeds, the baseline included, so each stressed row's
change against its formula's baseline is a paired difference over seeds (common random numbers).
All runs go through one executor in one batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from batchsim.measure.cells import Cell, Measured, measure, metric_row
from batchsim.measure.executors import Executor
from batchsim.measure.runs import resolved_json, with_formula
from batchsim.scenario import Scenario
from batchsim.stress.transforms import apply
from batchsim.stress_spec import StressSpec

__all__ = ["StressTable", "stress_table", "worst_stress"]


@dataclass
class StressTable:
    """The rows (JSON-ready dicts), and the measurements behind them by (formula, stress)."""

    rows: list[dict[str, Any]]
    measured: dict[tuple[str, str], Measured]
    scenarios: dict[tuple[str, str], Scenario]


def stress_table(
    scenario: Scenario,
    formulas: Mapping[str, str | None],
    stresses: list[StressSpec],
    seeds: list[int],
    executor: Executor,
    on_run: Callable[[int, int], None] | None = None,
) -> StressTable:
    """Run each formula (None: the scenario's own) under each stress; `stresses[0]` is the baseline."""
    stressed = {s.name: apply(scenario, s) for s in stresses}
    cells: dict[tuple[str, str], Cell] = {}
    scenarios: dict[tuple[str, str], Scenario] = {}
    for label, text in formulas.items():
        for name, (variant, _) in stressed.items():
            variant = with_formula(variant, text) if text is not None else variant
            scenarios[(label, name)] = variant
            cells[(label, name)] = Cell(resolved_json(variant))
    measured = measure(executor, cells, seeds, on_run)
    baseline = stresses[0].name
    rows = []
    for label in formulas:
        for stress in stresses:
            found = measured[(label, stress.name)]
            row: dict[str, Any] = {"formula": label, "stress": stress.name, "description": stress.description or ""}
            row["parameters"] = stressed[stress.name][1]
            row.update(metric_row(found, measured[(label, baseline)], suffix="change"))
            rows.append(row)
    return StressTable(rows, measured, scenarios)


def worst_stress(table: StressTable, formula: str) -> str | None:
    """The stress that hurts `formula` most: the largest rise in p95 wait, then in unstarted tasks, then in cost."""

    def hurt(row: dict[str, Any]) -> tuple[float, float, float]:
        return tuple(  # type: ignore[return-value]
            -math.inf if row.get(f"{k}_change") is None or math.isnan(row[f"{k}_change"]) else row[f"{k}_change"]
            for k in ("wait_s_p95", "tasks_never_started", "cost_usd")
        )

    rows = [r for r in table.rows if r["formula"] == formula and r["stress"] != table.rows[0]["stress"]]
    return max(rows, key=hurt)["stress"] if rows else None
