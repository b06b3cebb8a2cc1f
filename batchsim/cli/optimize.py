"""`batchsim optimize SCENARIO.yaml --template NAME_OR_FILE|all [--template ...] [--budget N] ... --out DIR`."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from batchsim.cli._estimate import DEFAULT_MAX_TASKS, check_size
from batchsim.cli._runs import EXIT_INTERRUPTED
from batchsim.cli.app import OutputFormat, app
from batchsim.cli.errors import EXIT_USAGE, fail
from batchsim.measure.kinds import ExecutorKind
from batchsim.optimize.kinds import ObjectiveKind, SamplerKind


class FidelityChoice(str, Enum):
    full = "full"
    halving = "halving"


@app.command()
def optimize(
    scenario: Path = typer.Argument(
        ...,
        metavar="SCENARIO.yaml",
        help="Scenario file (with pool.autoscale), or a shipped scenario's name (`batchsim scenario list`).",
    ),
    templates: list[str] = typer.Option(
        ...,
        "--template",
        help="A shipped template name or a template file; repeat it to search several families, or `all` for every "
        "shipped template (the family is then a choice of the search).",
    ),
    budget: int = typer.Option(30, "--budget", min=1, help="Candidates to try."),
    seeds: int = typer.Option(3, "--seeds", min=1, help="Seeds per candidate (1..K, the same for every candidate)."),
    final_seeds: int = typer.Option(5, "--final-seeds", min=2, help="Fresh seeds (1001..) for the final check."),
    objective: ObjectiveKind = typer.Option(ObjectiveKind.p95_wait, "--objective", help="What to optimize."),
    p95_target: float = typer.Option(600.0, "--p95-wait-target", min=0, help="Seconds (p95-wait objective)."),
    miss_target: float = typer.Option(
        0.01, "--deadline-miss-target", min=0, max=1, help="Allowed share of missed deadlines (deadline objective)."
    ),
    robust: bool = typer.Option(
        False, "--robust", help="Score over the scenario, its parameter uncertainty and the named stresses."
    ),
    tail_k: float = typer.Option(3.0, "--tail-k", min=1, help="--robust: under a tail stress, target × k."),
    tail_stresses: list[str] = typer.Option(
        [], "--tail-stress", help="--robust: the stresses the tail constraint reads (repeatable; default: all)."
    ),
    stress_weight: float = typer.Option(
        0.2, "--stress-weight", min=0, max=1, help="--robust: share of the expected cost given to the stresses."
    ),
    fidelity: FidelityChoice = typer.Option(
        FidelityChoice.full,
        "--fidelity",
        help="halving: one seed first, more only for the best (successive halving).",
    ),
    reduction: int = typer.Option(
        16, "--reduction", min=2, help="--fidelity halving: the best 1/N of a rung go on to more seeds."
    ),
    min_horizon: float = typer.Option(
        1.0, "--min-horizon", min=0.05, max=1, help="--fidelity halving: horizon fraction of the first rung."
    ),
    sampler: SamplerKind | None = typer.Option(
        None, "--sampler", help="optuna sampler (default: tpe; nsga2 for pareto)."
    ),
    sampler_seed: int = typer.Option(
        0,
        "--sampler-seed",
        min=0,
        help="Seeds the sampler: the same seed, the same search; another seed, another search of the same budget.",
    ),
    batch: int | None = typer.Option(
        None,
        "--batch",
        min=1,
        help="Trials asked at once (default: 2 × workers; 8 × for --sampler random without --fidelity).",
    ),
    executor: ExecutorKind = typer.Option(ExecutorKind.local, "--executor", help="Where runs execute."),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Dask scheduler (default: $DASK_SCHEDULER_ADDRESS)."
    ),
    workers: int | None = typer.Option(None, "--workers", min=1, help="Local worker processes (default: CPU count)."),
    overrides: list[str] = typer.Option([], "--set", help="Scenario overrides, as for simulate."),
    output: OutputFormat = typer.Option(OutputFormat.text, "--format", help="The report (text) or a JSON document."),
    max_tasks: int = typer.Option(
        DEFAULT_MAX_TASKS, "--max-tasks", min=1, help="Refuse runs expected to submit more tasks each (memory)."
    ),
    out: Path = typer.Option(
        ..., "--out", help="Writes report.md, trials.csv, pareto.csv, result.json and best.formula (if better)."
    ),
) -> None:
    """Search a template's parameters (several templates: the family too) for the cheapest formula meeting a
    wait or deadline target.

    The winner is measured again on fresh seeds against the scenario's own formula (a fixed pool:
    its initial sizes); best.formula is written only when it meets the target there and is cheaper,
    or meets a target the scenario's formula misses (when neither meets it, the report says so).
    """
    import contextlib

    from batchsim import jsonio
    from batchsim.cli._output import check_out_dir
    from batchsim.cli._runs import check_targets, interrupt_once, scenario_file, search_progress
    from batchsim.formula import check
    from batchsim.formula.diagnostics import Severity
    from batchsim.measure.executors import Executor, ExecutorError
    from batchsim.measure.runs import autoscaled
    from batchsim.optimize.ensemble import plain_ensemble, robust_ensemble
    from batchsim.optimize.objective import Objective
    from batchsim.optimize.outputs import OutputError, document, render_report, write_outputs
    from batchsim.optimize.search import FIXED_POOL, OWN_FORMULA, Fidelity, SearchInterrupted
    from batchsim.optimize.search import optimize as run_optimize
    from batchsim.optimize.templates import TemplateError, find_template, list_templates
    from batchsim.scenario import ScenarioError, load_scenario
    from batchsim.stress import available

    scenario = scenario_file(scenario)
    if objective is ObjectiveKind.pareto and fidelity is FidelityChoice.halving:
        fail("--fidelity halving needs a single objective, not --objective pareto", EXIT_USAGE)
    if not robust and tail_stresses:
        fail("--tail-stress needs --robust", EXIT_USAGE)
    check_targets(p95_target, miss_target)
    if fidelity is FidelityChoice.halving and budget < 4 * reduction:
        # Only trials in the best 1/reduction of a rung reach more seeds: too few trials and almost
        # none do, so the search compares formulas on one seed and usually finds no improvement.
        typer.echo(
            f"warning: --fidelity halving with --budget {budget} and --reduction {reduction}: too few trials for "
            f"the reduction, so nearly all stop after one seed; give --budget {4 * reduction} or more, or a "
            f"smaller --reduction (at most {max(2, budget // 4)})",
            err=True,
        )
    try:
        loaded = load_scenario(scenario, overrides)
        check_size(loaded, max_tasks)
        fixed = loaded.pool.autoscale is None
        loaded = autoscaled(loaded)
        names = [n for t in templates for n in (list_templates() if t == "all" else [t])]
        chosen = [find_template(name) for name in dict.fromkeys(names)]
        if robust:
            members, source = robust_ensemble(
                loaded, stresses=available(loaded), tail=tail_stresses or None, stress_weight=stress_weight
            )
        else:
            members, source = plain_ensemble(loaded), ""
    except (ScenarioError, TemplateError) as exc:
        fail(str(exc))
    except KeyError as exc:
        fail(str(exc.args[0]), EXIT_USAGE)
    unknown = sorted(set(tail_stresses) - {m.name for m in members if m.role == "stress"})
    if unknown:
        fail(f"--tail-stress {unknown[0]}: not a stress of this search", EXIT_USAGE)
    fixed_note = (
        "A fixed pool (no pool.autoscale): the baseline keeps its initial sizes, and the formulas are evaluated "
        "every 15m, the service's default (a pool.autoscale section, with its own interval and formula, changes both)."
    )
    if fixed:
        typer.echo(f"{scenario}: {fixed_note}", err=True)
    for family in chosen:
        errors = [d for d in check(family.render()) if d.severity is Severity.ERROR]
        if errors:
            fail(f"template {family.name}: its default formula does not check: {errors[0].message}")
    check_out_dir(out)  # before the search, not after an hour of it
    baseline_text = loaded.formula_text()
    baselines = {FIXED_POOL if fixed else OWN_FORMULA: baseline_text} if baseline_text else {}
    target = Objective(objective, p95_target, miss_target, tail_k)
    interrupt_once()
    try:
        with contextlib.ExitStack() as stack:
            pool = stack.enter_context(Executor(executor.value, scheduler=scheduler, workers=workers))
            progress = search_progress(stack, "optimize", budget)
            result = run_optimize(
                loaded,
                chosen,
                target,
                pool,
                budget=budget,
                seeds=seeds,
                sampler=sampler,
                members=members,
                baselines=baselines,
                final_seeds=final_seeds,
                fidelity=Fidelity(reduction, min_horizon) if fidelity is FidelityChoice.halving else None,
                batch=batch,
                on_trial=progress,
                sampler_seed=sampler_seed,
            )
    except SearchInterrupted as exc:
        try:
            out.mkdir(parents=True, exist_ok=True)
            exc.trials.to_csv(out / "trials.partial.csv", index=False)
            where = f"{out / 'trials.partial.csv'}"
        except OSError as error:
            where = f"nowhere ({error})"
        typer.echo(f"interrupted: {len(exc.trials)} of {budget} trials saved to {where}", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except (ExecutorError, ScenarioError, TemplateError) as exc:
        fail(str(exc))
    if source:
        result.notes.append(f"Parameter uncertainty: {source}.")
    if fixed:
        result.notes.append(fixed_note)
    try:
        files = write_outputs(result, out)
    except OutputError as exc:
        typer.echo(render_report(result))
        fail(str(exc))
    if output is OutputFormat.json:
        typer.echo(jsonio.dumps(document(result, files)))
    else:
        typer.echo(render_report(result))
    if result.best is None and objective is not ObjectiveKind.pareto:
        raise typer.Exit(1)
