"""`batchsim optimize SCENARIO.yaml --template NAME_OR_FILE [--budget N] [--seeds K] ... --out DIR`."""

from __future__ import annotations

from pathlib import Path

import typer

from batchsim.cli.app import app
from batchsim.cli.errors import EXIT_USAGE, fail


@app.command()
def optimize(
    scenario: Path = typer.Argument(..., metavar="SCENARIO.yaml", help="Scenario file (with pool.autoscale)."),
    template: str = typer.Option(..., "--template", help="A shipped template name or a template file."),
    budget: int = typer.Option(30, "--budget", min=1, help="Candidates to simulate."),
    seeds: int = typer.Option(3, "--seeds", min=1, help="Seeds per candidate (the same for every candidate)."),
    executor: str = typer.Option("local", "--executor", help="local (process pool) or dask."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address."),
    workers: int | None = typer.Option(None, "--workers", help="Local worker processes."),
    objective: str = typer.Option("p95-wait", "--objective", help="p95-wait, deadline or pareto."),
    p95_target: float = typer.Option(600.0, "--p95-wait-target", help="Seconds (p95-wait objective)."),
    miss_target: float = typer.Option(0.01, "--deadline-miss-target", help="Fraction (deadline objective)."),
    sampler: str = typer.Option("tpe", "--sampler", help="tpe, nsga2 or random."),
    overrides: list[str] = typer.Option([], "--set", help="Scenario overrides, as for simulate."),
    out: Path = typer.Option(..., "--out", help="Writes best.formula, pareto.csv, trials.csv, report.md."),
) -> None:
    """Search a template's parameters for the cheapest formula meeting a wait or deadline target."""
    from batchsim.formula import check
    from batchsim.formula.diagnostics import Severity
    from batchsim.optimize.clairvoyant import clairvoyant_cost_usd
    from batchsim.optimize.executors import ExecutorError
    from batchsim.optimize.search import Objective, write_outputs
    from batchsim.optimize.search import optimize as run_optimize
    from batchsim.optimize.templates import TemplateError, find_template
    from batchsim.scenario import ScenarioError, load_scenario

    if not scenario.is_file():
        fail(f"no such file: {scenario}", EXIT_USAGE)
    if objective not in ("p95-wait", "deadline", "pareto"):
        fail(f"--objective must be p95-wait, deadline or pareto, not {objective!r}", EXIT_USAGE)
    try:
        loaded = load_scenario(scenario, overrides)
        chosen = find_template(template)
    except (ScenarioError, TemplateError) as exc:
        fail(str(exc))
    if loaded.pool.autoscale is None:
        fail(f"{scenario}: the scenario has no pool.autoscale section to put the formula in")
    errors = [d for d in check(chosen.render()) if d.severity is Severity.ERROR]
    if errors:
        fail(f"template {chosen.name}: its default formula does not check: {errors[0].message}")
    baseline_text = loaded.formula_text()
    baselines = {"scenario's formula": baseline_text} if baseline_text else {}
    target = Objective(objective, p95_target, miss_target)
    try:
        result = run_optimize(
            str(scenario.resolve()),
            chosen,
            target,
            budget=budget,
            seeds=seeds,
            sampler=sampler,
            baselines=baselines,
            overrides=tuple(overrides),
            executor=executor,
            scheduler=scheduler,
            workers=workers,
        )
    except ExecutorError as exc:
        fail(str(exc))
    bound = clairvoyant_cost_usd(loaded, 1001)
    write_outputs(result, out, target, bound)
    typer.echo((out / "report.md").read_text(encoding="utf-8"))
    if result.best is None:
        raise typer.Exit(1)
