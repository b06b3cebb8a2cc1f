"""`batchsim plan SCENARIO --size S... [--slots auto|N,...] [--fill pack,spread] [--template all|NAME...] --out DIR`."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from batchsim.cli._estimate import DEFAULT_MAX_TASKS, check_size
from batchsim.cli.app import OutputFormat, app
from batchsim.cli.errors import EXIT_USAGE, fail
from batchsim.measure.kinds import ExecutorKind
from batchsim.optimize.kinds import ObjectiveKind

_FILLS = ("pack", "spread")


def _slots(text: str) -> list[int] | None:
    if text.strip() == "auto":
        return None
    try:
        found = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        fail(f"--slots {text!r}: expected auto or whole numbers separated by commas (1,2,4)", EXIT_USAGE)
    if not found or min(found) < 1:
        fail(f"--slots {text!r}: slot settings are whole numbers from 1", EXIT_USAGE)
    return found


def _fills(text: str) -> list[str]:
    found = [part.strip() for part in text.split(",") if part.strip()]
    wrong = [f for f in found if f not in _FILLS]
    if not found or wrong:
        fail(f"--fill {text!r}: expected pack, spread or pack,spread", EXIT_USAGE)
    return list(dict.fromkeys(found))


def _image(text: str | None) -> dict[str, str] | None:
    if text is None:
        return None
    parts = text.split(":")
    if len(parts) not in (3, 4) or not all(parts):
        fail(f"--image {text!r}: expected PUBLISHER:OFFER:SKU[:VERSION]", EXIT_USAGE)
    keys = ("publisher", "offer", "sku", "version")
    return dict(zip(keys, [*parts, "latest"][:4], strict=True))


@app.command()
def plan(
    scenario: Path = typer.Argument(
        ..., metavar="SCENARIO.yaml", help="Scenario file, or a shipped scenario's name (`batchsim scenario list`)."
    ),
    sizes: list[str] = typer.Option(
        ..., "--size", help="A VM size to consider (repeat it); the catalog must price it."
    ),
    slots: str = typer.Option(
        "auto", "--slots", help="Task slots per node to try: auto (powers of two up to what fits) or N,N,..."
    ),
    fill: str = typer.Option("pack,spread", "--fill", help="Fill types to try: pack, spread or pack,spread."),
    templates: list[str] = typer.Option(
        ["all"], "--template", help="Formula template names or files (repeat), or all (every shipped template)."
    ),
    budget: int = typer.Option(30, "--budget", min=1, help="Trials (shape and formula) to try."),
    seeds: int = typer.Option(3, "--seeds", min=1, help="Seeds per trial (1..K, the same for every trial)."),
    final_seeds: int = typer.Option(5, "--final-seeds", min=2, help="Fresh seeds (1001..) for the final check."),
    objective: ObjectiveKind = typer.Option(ObjectiveKind.p95_wait, "--objective", help="p95-wait or deadline."),
    p95_target: float = typer.Option(600.0, "--p95-wait-target", help="Seconds (p95-wait objective), more than 0."),
    miss_target: float = typer.Option(
        0.01, "--deadline-miss-target", min=0, max=1, help="Allowed share of missed deadlines (deadline objective)."
    ),
    robust: bool = typer.Option(False, "--robust", help="Score every trial over the named stresses too."),
    pool_id: str | None = typer.Option(None, "--pool-id", help="The new pool's id in pool.json (default: NAME-plan)."),
    image: str | None = typer.Option(
        None,
        "--image",
        help="pool.json's image, PUBLISHER:OFFER:SKU[:VERSION] (default: Ubuntu 24.04 or Windows 2022).",
    ),
    node_agent_sku: str | None = typer.Option(None, "--node-agent-sku", help="pool.json's nodeAgentSKUId."),
    sampler_seed: int = typer.Option(
        0, "--sampler-seed", min=0, help="Seeds the sampler: the same seed, the same search."
    ),
    batch: int | None = typer.Option(None, "--batch", min=1, help="Trials asked at once (default: 2 × workers)."),
    executor: ExecutorKind = typer.Option(ExecutorKind.local, "--executor", help="Where runs execute."),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Dask scheduler (default: $DASK_SCHEDULER_ADDRESS)."
    ),
    workers: int | None = typer.Option(None, "--workers", min=1, help="Local worker processes (default: CPU count)."),
    overrides: list[str] = typer.Option([], "--set", help="Scenario overrides, as for simulate."),
    output: OutputFormat = typer.Option(OutputFormat.text, "--format", help="The report (text) or plan.json (json)."),
    max_tasks: int = typer.Option(
        DEFAULT_MAX_TASKS, "--max-tasks", min=1, help="Refuse runs expected to submit more tasks each (memory)."
    ),
    out: Path = typer.Option(
        ..., "--out", help="Writes plan.json, report.md, trials.csv, scenario.yaml and pool.json (when better)."
    ),
) -> None:
    """Plan the pool: VM size × task slots per node × fill type × formula, in one search.

    Each size's task durations scale by per-core speed (the catalog's ACU, or pool.speed); its slots are
    bounded by what a task needs (workload[].resources) and the service's limits; its node counts by
    the core quotas. The winner is measured again on fresh seeds against the scenario's own pool and
    formula: pool.json (a new pool's REST body) is written only when it is cheaper there and meets
    the target, or meets a target the own pool misses; otherwise the report says nothing better was found.
    """
    import contextlib

    from batchsim.cli._output import check_out_dir
    from batchsim.cli._runs import check_targets, scenario_file, search_progress
    from batchsim.formula import check
    from batchsim.formula.diagnostics import Severity
    from batchsim.measure.executors import Executor, ExecutorError
    from batchsim.optimize.objective import Objective
    from batchsim.optimize.templates import TemplateError
    from batchsim.plan.api import plan_inputs
    from batchsim.plan.outputs import render_report, write_outputs
    from batchsim.plan.search import plan as run_plan
    from batchsim.scenario import ScenarioError, load_scenario

    if objective is ObjectiveKind.pareto:
        fail("--objective pareto: a plan picks one pool; use p95-wait or deadline", EXIT_USAGE)
    check_targets(p95_target, miss_target)
    wanted_slots, fills, chosen_image = _slots(slots), _fills(fill), _image(image)
    scenario = scenario_file(scenario)
    try:
        loaded = load_scenario(scenario, overrides)
        check_size(loaded, max_tasks)
        inputs = plan_inputs(loaded, templates, sizes, wanted_slots)
    except (ScenarioError, TemplateError) as exc:
        fail(str(exc))
    if not inputs.sizes:
        fail("no VM size left to plan: " + "; ".join(f"{e.vm_size}: {e.reason}" for e in inputs.excluded))
    for family in inputs.families:
        errors = [d for d in check(family.render()) if d.severity is Severity.ERROR]
        if errors:
            fail(f"template {family.name}: its default formula does not check: {errors[0].message}")
    check_out_dir(out)
    new_id = pool_id or re.sub(r"[^A-Za-z0-9_-]+", "-", loaded.name).strip("-")[:59] + "-plan"
    target = Objective(objective, p95_target, miss_target)
    try:
        with contextlib.ExitStack() as stack:
            pool = stack.enter_context(Executor(executor.value, scheduler=scheduler, workers=workers))
            progress = search_progress(stack, "plan", budget)
            result = run_plan(
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
                batch=batch,
                on_trial=progress,
                sampler_seed=sampler_seed,
            )
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(130) from None
    except (ExecutorError, ScenarioError, TemplateError) as exc:
        fail(str(exc))
    try:
        files = write_outputs(result, out, pool_id=new_id, image=chosen_image, node_agent_sku=node_agent_sku)
    except OSError as exc:
        typer.echo(render_report(result))
        fail(f"cannot write into {out}: {exc.strerror}")
    if output is OutputFormat.json:
        typer.echo((out / "plan.json").read_text(encoding="utf-8").rstrip("\n"))
    else:
        typer.echo(render_report(result))
        typer.echo(f"written to {out}: {', '.join(files.values())}")
    if result.best is None:
        raise typer.Exit(1)
