"""Measuring formulas on scenarios over seeds, all through one executor, with paired comparisons.

A *cell* is one (scenario, formula) pair; every cell runs on the same seeds, so cells compared with
one another see the same workload and random streams (common random numbers) and their
differences are taken seed by seed (`stats.paired_difference`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from batchsim.measure.executors import Executor
from batchsim.measure.runs import RunSpec
from batchsim.measure.stats import interval, paired_difference

__all__ = ["METRICS", "Cell", "MeasureInterrupted", "Measured", "measure", "metric_row"]

K = TypeVar("K", bound=Hashable)

# The metrics compared (DESIGN §8 rows), each with a label carrying its unit.
METRICS = (
    ("cost_usd", "cost (USD)", "{:.2f}"),
    ("wait_s_p95", "p95 wait (s)", "{:.0f}"),
    ("deadline_met_fraction", "deadlines met", "{:.3f}"),
    ("tasks_never_started", "never started", "{:.1f}"),
)


@dataclass(frozen=True)
class Cell:
    """A scenario (resolved JSON) and the formula to run on it (None: the scenario's own)."""

    scenario: str
    formula: str | None = None
    records: bool = False


@dataclass
class Measured:
    """One cell's runs, in seed order."""

    seeds: list[int]
    runs: list[dict[str, Any]] = field(default_factory=list)
    results: list[Any] = field(default_factory=list, repr=False)

    def values(self, key: str) -> list[float]:
        return [_number(run.get(key)) for run in self.runs]

    def mean(self, key: str) -> float:
        return interval(self.values(key))[0]

    def stat(self, key: str) -> tuple[float, float]:
        return interval(self.values(key))

    def ran_nothing(self) -> bool:
        """Whether some run had tasks and completed none of them."""
        return any(run.get("tasks_submitted") and not run.get("tasks_completed") for run in self.runs)


class MeasureInterrupted(KeyboardInterrupt):
    """Ctrl-C during `measure`: `finished` holds the outcomes of the runs that had finished, keyed
    (cell key, seed), so that a command can keep them (still a KeyboardInterrupt for the others)."""

    def __init__(self, finished: dict[Any, Any], total: int) -> None:
        super().__init__(f"{len(finished)} of {total} runs finished")
        self.finished = finished
        self.total = total


def _number(value: Any) -> float:
    if value is None or isinstance(value, bool):
        return math.nan if value is None else float(value)
    return float(value)


def measure(
    executor: Executor,
    cells: Mapping[K, Cell],
    seeds: Sequence[int],
    on_run: Callable[[int, int], None] | None = None,
) -> dict[K, Measured]:
    """Every cell on every seed, in one batch; results keyed like `cells`."""
    specs = [
        RunSpec(cell.scenario, seed, formula=cell.formula, records=cell.records, tag=(key, seed))
        for key, cell in cells.items()
        for seed in seeds
    ]
    found: dict[tuple[K, int], Any] = {}
    try:
        for number, (spec, outcome) in enumerate(executor.run(specs), start=1):
            found[spec.tag] = outcome
            if on_run is not None:
                on_run(number, len(specs))
    except KeyboardInterrupt:
        raise MeasureInterrupted(found, len(specs)) from None
    measured = {}
    for key in cells:
        outcomes = [found[(key, seed)] for seed in seeds]
        measured[key] = Measured(list(seeds), [o.summary for o in outcomes], [o.result for o in outcomes])
    return measured


def metric_row(measured: Measured, against: Measured | None = None, suffix: str = "diff") -> dict[str, Any]:
    """Each metric's mean and `_ci`; with `against`, the paired difference `_<suffix>` and its `_ci`."""
    row: dict[str, Any] = {"runs": len(measured.runs)}
    for key, _, _ in METRICS:
        row[key], row[f"{key}_ci"] = measured.stat(key)
        if against is not None:
            row[f"{key}_{suffix}"], row[f"{key}_{suffix}_ci"] = paired_difference(
                measured.values(key), against.values(key)
            )
    row["wait_censored"] = any(bool(run.get("wait_censored")) for run in measured.runs)
    return row
