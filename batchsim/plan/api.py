"""`bs.plan_pool(...)`: the plan as a notebook calls it, with the names and defaults of `batchsim plan`.

The command wires the same pieces (shapes, the search, the executor) with its error messages and
progress bar; this is that wiring for Python, returning the `PlanResult` the command writes out, so
that a notebook can draw every trial without reading plan.json back. Named `plan_pool` at the
package's root: `batchsim.plan` is this subpackage, which importing it binds on the package.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchsim.measure.executors import Executor
from batchsim.measure.runs import autoscaled
from batchsim.optimize.kinds import ObjectiveKind
from batchsim.optimize.objective import Objective
from batchsim.optimize.templates import Template, find_template, list_templates
from batchsim.plan.search import PlanResult
from batchsim.plan.search import plan as run_plan
from batchsim.plan.shapes import Excluded, Size, plan_sizes
from batchsim.scenario import Scenario, load_scenario

__all__ = ["PlanInputs", "plan_inputs", "plan_pool"]


@dataclass(frozen=True)
class PlanInputs:
    """What a plan searches, prepared one way for `plan_pool` and `batchsim plan`."""

    scenario: Scenario  # autoscaled: a fixed pool runs its initial sizes as a formula
    fixed: bool  # the scenario as given had no autoscale
    families: list[Template]
    sizes: list[Size]
    excluded: list[Excluded]
    own_formula: str  # what the plan's winner is judged against


def plan_inputs(
    scenario: Scenario, templates: Sequence[str], sizes: Sequence[str], slots: Sequence[int] | None
) -> PlanInputs:
    """The plan's inputs from a loaded scenario; `templates` names or files, "all" every shipped one.

    Raises TemplateError for an unknown template, and the scenario's errors as `plan_sizes` does.
    """
    fixed = scenario.pool.autoscale is None
    loaded = autoscaled(scenario)
    names = [n for t in templates for n in (list_templates() if t == "all" else [t])]
    families = [find_template(name) for name in dict.fromkeys(names)]
    found, excluded = plan_sizes(loaded, list(sizes), list(slots) if slots is not None else None)
    own_formula = loaded.formula_text()
    if own_formula is None:  # autoscaled() gives every scenario a formula; this says so to mypy
        raise ValueError(f"{loaded.name}: the scenario has no formula to compare the plan with")
    return PlanInputs(loaded, fixed, families, found, excluded, own_formula)


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
    inputs = plan_inputs(loaded, templates, sizes, slots)
    target = Objective(ObjectiveKind(objective), p95_wait_target_s, deadline_miss_target)
    with Executor("local", workers=workers) as pool:
        return run_plan(
            inputs.scenario,
            inputs.sizes,
            inputs.excluded,
            inputs.families,
            target,
            pool,
            fills=fills,
            budget=budget,
            seeds=seeds,
            final_seeds=final_seeds,
            robust=robust,
            own_formula=inputs.own_formula,
            fixed=inputs.fixed,
            sampler_seed=sampler_seed,
        )
