"""Formulas side by side on the same workload and seeds (`batchsim compare`, DESIGN §8).

Every formula runs on the same seeds, so each sees the same tasks and random streams (common
random numbers); each metric comes with the 95 % interval of its paired difference against the
first formula, which is far narrower than the intervals of the two means.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from batchsim.measure.cells import Cell, Measured, measure, metric_row
from batchsim.measure.executors import Executor
from batchsim.measure.runs import resolved_json, with_formula
from batchsim.scenario import Scenario

__all__ = ["Comparison", "compare"]


@dataclass
class Comparison:
    """One row per formula (JSON-ready), and the measurements behind them."""

    rows: list[dict[str, Any]]
    measured: dict[str, Measured]


def compare(
    scenario: Scenario,
    formulas: Mapping[str, str],
    seeds: list[int],
    executor: Executor,
    *,
    records: bool = False,
    on_run: Callable[[int, int], None] | None = None,
) -> Comparison:
    """Each formula (label → text) on `scenario` and `seeds`; differences against the first."""
    cells = {
        label: Cell(resolved_json(with_formula(scenario, text)), records=records) for label, text in formulas.items()
    }
    found = measure(executor, cells, seeds, on_run)
    measured = {str(label): m for label, m in found.items()}
    first = next(iter(measured.values()))
    rows = [{"formula": label, **metric_row(m, first, suffix="diff")} for label, m in measured.items()]
    return Comparison(rows, measured)
