"""`batchsim stress SCENARIO.yaml [--formula FILE ...] [--seeds K] [--format text|json] [--out DIR]`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from batchsim.cli._estimate import DEFAULT_MAX_TASKS, check_size
from batchsim.cli._runs import EXIT_INTERRUPTED
from batchsim.cli.app import OutputFormat, app
from batchsim.cli.errors import EXIT_USAGE, fail, require_extra
from batchsim.measure.kinds import ExecutorKind


@app.command()
def stress(
    scenario: Path = typer.Argument(
        ..., metavar="SCENARIO.yaml", help="Scenario file, or a shipped scenario's name (`batchsim scenario list`)."
    ),
    formulas: list[Path] = typer.Option(
        [], "--formula", help="A formula file to stress (repeatable; default: the scenario's own formula)."
    ),
    names: list[str] = typer.Option(
        [],
        "--stress",
        help="Only these stresses (repeatable): baseline, spot-drought, mass-eviction, burst, slow-provisioning, "
        "sample-loss, or one of the scenario's stresses:. Default: all.",
    ),
    seeds: int = typer.Option(3, "--seeds", min=1, help="Seeds per formula and stress (1..K, the same for all)."),
    overrides: list[str] = typer.Option([], "--set", help="Scenario overrides, as for simulate."),
    max_tasks: int = typer.Option(
        DEFAULT_MAX_TASKS, "--max-tasks", min=1, help="Refuse runs expected to submit more tasks each (memory)."
    ),
    output: OutputFormat = typer.Option(OutputFormat.text, "--format", help="text table or a JSON list of rows."),
    out: Path | None = typer.Option(
        None, "--out", help="Writes report.html (nodes and queue of each formula's worst stress) and those runs."
    ),
    force: bool = typer.Option(False, "--force", help="Replace the runs and report --out holds."),
    executor: ExecutorKind = typer.Option(ExecutorKind.local, "--executor", help="Where runs execute."),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Dask scheduler (default: $DASK_SCHEDULER_ADDRESS)."
    ),
    workers: int | None = typer.Option(None, "--workers", min=1, help="Local worker processes (default: CPU count)."),
) -> None:
    """Each formula under the named stresses (and the scenario's own stresses:), with the change against baseline.

    Every row: cost, p95 wait, deadline fraction and tasks never started, mean ± 95 % interval
    across seeds, and the paired change against the same formula's baseline.
    """
    if executor is ExecutorKind.dask:
        require_extra("distributed", "dask")
    from batchsim import jsonio
    from batchsim.cli._output import check_out_dir, check_run_dir
    from batchsim.cli._runs import interrupt_once, read_formulas, scenario_file, slug
    from batchsim.cli._tables import stress_seed_table
    from batchsim.measure.cells import Cell, MeasureInterrupted, measure
    from batchsim.measure.executors import Executor, ExecutorError
    from batchsim.measure.runs import autoscaled, resolved_json
    from batchsim.measure.text import format_table
    from batchsim.scenario import ScenarioError, load_scenario
    from batchsim.stress import available, find
    from batchsim.stress.table import stress_table, worst_stress

    scenario = scenario_file(scenario)
    try:
        loaded = load_scenario(scenario, overrides)
        texts = read_formulas(loaded, formulas)
        if formulas:
            loaded = autoscaled(loaded)  # a fixed pool takes the formulas too, and sample-loss reaches them
        chosen = find(loaded, names) if names else available(loaded)
    except ScenarioError as exc:
        fail(str(exc))
    except KeyError as exc:
        fail(str(exc.args[0]), EXIT_USAGE)
    check_size(loaded, max_tasks)
    if out is not None:
        check_out_dir(out)
        check_run_dir(out, force)
    interrupt_once()
    try:
        with Executor(executor.value, scheduler=scheduler, workers=workers) as pool:
            table = stress_table(loaded, texts, chosen, list(range(1, seeds + 1)), pool)
            results = {}
            if out is not None:
                wanted = {(f, s) for f in texts for s in (chosen[0].name, worst_stress(table, f)) if s is not None}
                cells = {key: Cell(resolved_json(table.scenarios[key]), records=True) for key in wanted}
                # Every seed, so that the report's plots show the seeds the table averages, not one of them.
                found = measure(pool, cells, list(range(1, seeds + 1)))
                results = {key: m.results for key, m in found.items()}
    except MeasureInterrupted as exc:
        where = " (give --out to keep them)"
        if out is not None and exc.finished:
            where = f", saved in {_save_finished(exc.finished, out)}"
        typer.echo(f"interrupted: {len(exc.finished)} of {exc.total} runs finished{where}", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except KeyboardInterrupt:  # between the table and the report's runs: the table is complete
        typer.echo("interrupted before the report's runs; nothing written", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except (ExecutorError, ScenarioError) as exc:
        fail(str(exc))
    printed = stress_seed_table(table.rows, loaded.duration, seeds)
    if out is not None:
        from batchsim.report.runs import run_info, write_run
        from batchsim.stress.report import write_stress_report

        try:
            for (formula, name), seed_runs in results.items():
                for seed, result in enumerate(seed_runs, start=1):
                    info = run_info(table.scenarios[(formula, name)], result.summary, {"stress": name}, scenario)
                    # Seed 1 keeps OUT/runs/FORMULA/STRESS; the others sit beside it as STRESS-seed-N.
                    write_run(
                        result, out / "runs" / slug(formula) / (name if seed == 1 else f"{name}-seed-{seed}"), info
                    )
            write_stress_report(table, results, out / "report.html", loaded.name, printed)
        except OSError as exc:
            fail(f"{out}: cannot write the report: {exc}")
    if output is OutputFormat.json:
        typer.echo(jsonio.dumps(table.rows))
        return
    typer.echo(format_table(printed.headers, printed.rows, left=printed.left))
    typer.echo(printed.note)
    if out is not None:
        typer.echo(f"report: {out / 'report.html'}")


def _save_finished(finished: dict[Any, Any], out: Path) -> Path:
    """The summaries of the runs that finished before Ctrl-C, as OUT/finished-runs.json (formula,
    stress, seed, summary), so that a long stress table is not lost."""
    from batchsim import jsonio
    from batchsim.files import write_atomically

    rows = [
        {"formula": formula, "stress": stress, "seed": seed, "summary": outcome.summary}
        for ((formula, stress), seed), outcome in finished.items()
    ]
    try:
        return write_atomically(out / "finished-runs.json", jsonio.dumps(rows) + "\n")
    except OSError as exc:
        fail(f"{out}: cannot keep the finished runs: {exc}")
