"""`bs.plan_pool(...)`: the plan as a notebook calls it, with the names and defaults of `batchsim plan`.

The command wires the same pieces (shapes, the search, the executor) with its error messages and
progress bar; this is that wiring for Python, returning the `PlanResult` the command writes out, so
that a notebook can draw every trial without reading plan.json back. Named `plan_pool` at the
package's root: `batchsim.plan` is this subpackage, which importing it binds on the package.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from batchsim.measure.executors import Executor
from batchsim.measure.runs import autoscaled
from batchsim.optimize.kinds import ObjectiveKind
from batchsim.optimize.objective import Objective
from batchsim.optimize.templates import find_template, list_templates
from batchsim.plan.search import PlanResult
from batchsim.plan.search import plan as run_plan
from batchsim.plan.shapes import plan_sizes
from batchsim.scenario import Scenario, load_scenario

__all__ = ["plan_pool"]


def plan_pool(
    scenario: Scenario | str | Path,
    sizes: Sequence[str],
    *,
    slots: Sequence[int] | None = None,
    fills: Sequence[str] = ("pack", "spread"),
    templates: Sequence[str] = ("all",),
    budget: int = 30,
    seeds: int = 3,
    final_seeds: int = 5,
    objective: str = "p95-wait",
    p95_wait_target_s: float = 600.0,
    deadline_miss_target: float = 0.01,
    robust: bool = False,
    workers: int | None = None,
    sampler_seed: int = 0,
    overrides: dict[str, Any] | None = None,
) -> PlanResult:
    """Plan `scenario` (a Scenario, or a file loaded with `overrides`) over `sizes`, as `batchsim plan`.

    `slots` None is `--slots auto`; `templates` are names or files, "all" every shipped template.
    Raises ValueError when no size is left to plan (each excluded size with its reason).
    """
    loaded = scenario if isinstance(scenario, Scenario) else load_scenario(scenario, overrides)
    fixed = loaded.pool.autoscale is None
    loaded = autoscaled(loaded)
    names = [n for t in templates for n in (list_templates() if t == "all" else [t])]
    chosen = [find_template(name) for name in dict.fromkeys(names)]
    found, excluded = plan_sizes(loaded, list(sizes), list(slots) if slots is not None else None)
    own_formula = loaded.formula_text()
    if own_formula is None:  # autoscaled: a fixed pool has its initial sizes as a formula
        raise ValueError(f"{loaded.name}: the scenario has no formula to compare the plan with")
    target = Objective(ObjectiveKind(objective), p95_wait_target_s, deadline_miss_target)
    with Executor("local", workers=workers) as pool:
        return run_plan(
            loaded,
            found,
            excluded,
            chosen,
            target,
            pool,
            fills=fills,
            budget=budget,
            seeds=seeds,
            final_seeds=final_seeds,
            robust=robust,
            own_formula=own_formula,
            fixed=fixed,
            sampler_seed=sampler_seed,
        )
