"""`simulate(scenario)`: workload generation, prices, formula compilation, then the engine."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from pathlib import Path

from batchsim.formula.context import datetime_to_ticks
from batchsim.scenario import PRICES_HINT, Prices, Scenario, ScenarioError
from batchsim.sim.engine import run
from batchsim.sim.result import Result
from batchsim.workload.generators import Trace, build_workload
from batchsim.workload.traces import TraceError

__all__ = ["resolve_prices", "simulate"]


def resolve_prices(scenario: Scenario) -> Prices:
    """The scenario's `prices:`, else the shipped catalog's for its size, region and OS.

    Raises `ScenarioError` naming the key to change and what the catalog has when there is no row.
    """
    if scenario.prices is not None:
        return scenario.prices
    from batchsim.cost.catalog import CatalogError, lookup

    pool = scenario.pool
    try:
        return lookup(pool.vm_size, pool.region, pool.os)
    except CatalogError as exc:
        raise ScenarioError(f"key '{exc.key}': {exc.message}{PRICES_HINT}") from None


def simulate(scenario: Scenario, seed: int | None = None, progress: Callable[[float], None] | None = None) -> Result:
    """Run a scenario once. Raises `ScenarioError` (bad formula, unreadable trace) with a clear message."""
    from batchsim.formula.compiler import FormulaError, compile

    seed = scenario.seed if seed is None else seed
    entries = [
        entry.model_copy(update={"path": str(Path(scenario.base_dir or ".") / entry.path)})
        if isinstance(entry, Trace) and not Path(entry.path).is_absolute()
        else entry
        for entry in scenario.workload
    ]
    try:
        workload = build_workload(entries, scenario.duration, seed)
    except TraceError as exc:
        raise ScenarioError(str(exc)) from None
    program = None
    text = scenario.formula_text()
    if text is not None:
        assert scenario.pool.autoscale is not None
        try:
            program = compile(text, strict=scenario.pool.autoscale.strict)
        except FormulaError as exc:
            first = exc.diagnostics[0]
            where = f"Line {first.span.line}, Col {first.span.column}"
            path = scenario.formula_path()
            source = (
                f"pool.autoscale.formula_file {path}" if path else f"scenario '{scenario.name}' pool.autoscale.formula"
            )
            raise ScenarioError(f"{source}: {where}: {first.code}: {first.message}") from None
    prices = resolve_prices(scenario)
    result = run(
        scenario.pool,
        workload,
        scenario.duration,
        seed,
        prices=prices,
        formula=program,
        start_tick=datetime_to_ticks(scenario.start),
        progress=progress,
    )
    result.summary["scenario"] = scenario.name
    result.summary["start"] = scenario.start.isoformat().replace("+00:00", "Z")  # clock-time axes in plots
    result.summary["price_source"] = prices.source
    return result


class _CallableModule(types.ModuleType):
    """This module, callable as `simulate`.

    Importing `batchsim.simulate` binds the package attribute `batchsim.simulate` to this module,
    hiding the function that `batchsim.simulate(...)` (DESIGN §5) names; calling the module calls
    the function, so both spellings work whatever was imported first.
    """

    def __call__(
        self, scenario: Scenario, seed: int | None = None, progress: Callable[[float], None] | None = None
    ) -> Result:
        return simulate(scenario, seed, progress)


sys.modules[__name__].__class__ = _CallableModule
