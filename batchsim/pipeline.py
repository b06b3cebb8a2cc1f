"""The pipeline (DESIGN §1): scenario → workload, pool, formula program → engine → records → bill → `Result`.

The one module that puts the layers together; the import contract in `pyproject.toml`
(`[tool.importlinter]`) keeps every other layer to its own direction. Users call it as
`batchsim.simulate(scenario, seed=3)` (DESIGN §5).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from batchsim.cost.billing import bill_seconds, billed_seconds
from batchsim.cost.catalog import CatalogError, vcpus_of
from batchsim.cost.catalog import find as find_catalog_row
from batchsim.cost.catalog import resolve_prices as resolve_catalog_prices
from batchsim.cost.prices import PriceLike, Prices
from batchsim.formula.context import datetime_to_ticks
from batchsim.scenario import PRICES_HINT, Scenario, ScenarioError
from batchsim.sim.config import PoolConfig
from batchsim.sim.engine import ProgramLike, run
from batchsim.sim.result import Result
from batchsim.workload.generators import Trace, build_workload
from batchsim.workload.spec import Workload
from batchsim.workload.traces import TraceError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["Plots", "add_costs", "resolve_prices", "scenario_workload", "simulate"]


def resolve_prices(scenario: Scenario) -> Prices:
    """The scenario's `prices:`, else the shipped catalog's for its size, region and OS.

    Raises `ScenarioError` naming the key to change and what the catalog has when there is no row.
    """
    pool = scenario.pool
    try:
        return resolve_catalog_prices(scenario.prices, pool.vm_size, pool.region, pool.os)
    except CatalogError as exc:
        raise ScenarioError(f"key '{exc.key}': {exc.message}{PRICES_HINT}") from None


def scenario_workload(scenario: Scenario, seed: int) -> Workload:
    """The scenario's tasks and schedules for `seed` (trace paths relative to the scenario file)."""
    entries = [
        entry.model_copy(update={"path": str(Path(scenario.base_dir or ".") / entry.path)})
        if isinstance(entry, Trace) and not Path(entry.path).is_absolute()
        else entry
        for entry in scenario.workload
    ]
    try:
        return build_workload(entries, scenario.duration, seed)
    except TraceError as exc:
        raise ScenarioError(str(exc)) from None


def simulate(
    scenario: Scenario,
    seed: int | None = None,
    progress: Callable[[float], None] | None = None,
    *,
    workload: Workload | None = None,
    program: ProgramLike | None = None,
) -> Result:
    """Run a scenario once. Raises `ScenarioError` (bad formula, unreadable trace) with a clear message.

    progress: called with the simulated time now and then (an exception raised in it stops the run).
    workload: the scenario's `build_workload` for this seed, when the caller has it already (an
        optimizer reusing one per seed across candidates); the engine does not change it.
    program: the scenario's formula compiled (`formula.compiler.compile` of its text, with its
        `strict`), when the caller has it already (a worker reusing one per candidate across seeds);
        a program holds no state between runs.
    """
    from batchsim.formula.compiler import FormulaError, compile

    seed = scenario.seed if seed is None else seed
    if workload is None:
        workload = scenario_workload(scenario, seed)
    text = scenario.formula_text() if program is None else None
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
    vcpus = vcpus_of(scenario.pool)  # from the catalog: the engine's quotas count these cores
    result = run(
        scenario.pool.model_copy(update={"vcpus_per_node": vcpus, "vm_family": _vm_family(scenario.pool)}),
        workload,
        scenario.duration,
        seed,
        formula=program,
        start_tick=datetime_to_ticks(scenario.start),
        progress=progress,
    )
    add_costs(result, prices, vcpus)
    result.summary["scenario"] = scenario.name
    result.summary["price_source"] = prices.source
    result.summary["start"] = _iso_utc(scenario.start)  # clock time of t = 0, for plots with clock axes
    result.bind_plots(Plots)
    return result


def _iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z` (a naive time is UTC, as scenario files mean it)."""
    moment = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    return moment.isoformat().replace("+00:00", "Z")


def add_costs(result: Result, prices: PriceLike, vcpus_per_node: int) -> None:
    """Price a run's billed node-seconds (batch-behavior §6.1) into its summary's cost keys."""
    # Straight from the engine's columns: iterating the table would build a row tuple per interval.
    columns = result.records.node_intervals.columns()
    rows = zip(*(columns[name] for name in ("node_id", "kind", "state", "start_s", "end_s", "billed")), strict=True)
    bill = bill_seconds(billed_seconds(rows), prices)
    completed = int(result.summary["tasks_completed"])
    result.add_to_summary(
        {
            "cost_usd": bill.dedicated_usd + bill.spot_usd,
            "cost_dedicated_usd": bill.dedicated_usd,
            "cost_spot_usd": bill.spot_usd,
            "node_hours_dedicated": bill.node_hours_dedicated,
            "node_hours_spot": bill.node_hours_spot,
            "cost_idle_usd": bill.idle_usd,
            "cost_provisioning_usd": bill.provisioning_usd,
            "cost_per_completed_task_usd": bill.per_completed_task_usd(completed),
            "cost_per_core_hour_usd": bill.per_core_hour_usd(vcpus_per_node),
            "price_dedicated_per_hour": prices.dedicated_per_hour,
            "price_spot_per_hour": prices.spot_per_hour,
        }
    )


class Plots:
    """`Result.plot`: the functions of `batchsim.report.plots` bound to one run; each takes `ax=`."""

    def __init__(self, result: Result) -> None:
        self._result = result

    def _draw(self, name: str, ax: Axes | None) -> Axes:
        from batchsim.report import plots
        from batchsim.report.runs import Run

        r = self._result
        run_ = Run(str(r.summary.get("scenario", "run")), r.summary, r.tasks, r.nodes, r.evaluations, r.metrics)
        draw: Callable[..., Axes] = getattr(plots, name)
        return draw(run_, ax=ax)

    def nodes(self, ax: Axes | None = None) -> Axes:
        return self._draw("nodes_over_time", ax)

    def queue(self, ax: Axes | None = None) -> Axes:
        return self._draw("queue_length", ax)

    def waits(self, ax: Axes | None = None) -> Axes:
        return self._draw("wait_distribution", ax)

    def cost(self, ax: Axes | None = None) -> Axes:
        return self._draw("cost_breakdown", ax)

    def preemptions(self, ax: Axes | None = None) -> Axes:
        return self._draw("preemptions", ax)

    def cost_rate(self, ax: Axes | None = None) -> Axes:
        return self._draw("cost_rate", ax)


def _vm_family(pool: PoolConfig) -> str | None:
    """The pool's quota family: `pool.vm_family`, else the catalog's for its size (None when unknown)."""
    if pool.vm_family is not None or not pool.quota.per_family_enforced:
        return pool.vm_family
    try:
        return str(find_catalog_row(pool.vm_size, pool.region, pool.os)["family"])
    except CatalogError:
        return None
