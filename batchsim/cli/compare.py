"""`batchsim compare SCENARIO.yaml FORMULA... [--seeds K] [--format text|json] [--out DIR]`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from batchsim.cli._estimate import DEFAULT_MAX_TASKS, check_size
from batchsim.cli._runs import EXIT_INTERRUPTED
from batchsim.cli.app import OutputFormat, app
from batchsim.cli.errors import fail, require_extra
from batchsim.measure.kinds import ExecutorKind


@app.command()
def compare(
    scenario: Path = typer.Argument(
        ...,
        metavar="SCENARIO.yaml",
        help="Scenario file (with pool.autoscale), or a shipped scenario's name (`batchsim scenario list`).",
    ),
    formulas: list[Path] = typer.Argument(
        ...,
        metavar="FORMULA...",
        help="Formula files or shipped formulas' names (`batchsim formula list`); the first is the reference.",
    ),
    seeds: int = typer.Option(5, "--seeds", min=2, help="Seeds (1..K, the same for every formula; at least 2)."),
    overrides: list[str] = typer.Option([], "--set", help="Scenario overrides, as for simulate."),
    max_tasks: int = typer.Option(
        DEFAULT_MAX_TASKS, "--max-tasks", min=1, help="Refuse runs expected to submit more tasks each (memory)."
    ),
    output: OutputFormat = typer.Option(OutputFormat.text, "--format", help="text table or a JSON list of rows."),
    out: Path | None = typer.Option(
        None, "--out", help="Writes every run (OUT/runs/FORMULA/seed-N) and report.html with the runs overlaid."
    ),
    force: bool = typer.Option(False, "--force", help="Replace the runs and report --out holds."),
    executor: ExecutorKind = typer.Option(ExecutorKind.local, "--executor", help="Where runs execute."),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Dask scheduler (default: $DASK_SCHEDULER_ADDRESS)."
    ),
    workers: int | None = typer.Option(None, "--workers", min=1, help="Local worker processes (default: CPU count)."),
) -> None:
    """Formulas on the same workload and seeds, each metric with the paired difference against the first.

    ± is the 95 % t-interval across seeds; a difference whose interval excludes 0 is a real one,
    not noise between workloads.
    """
    if executor is ExecutorKind.dask:
        require_extra("distributed", "dask")
    from batchsim import jsonio
    from batchsim.cli._output import check_out_dir, check_run_dir
    from batchsim.cli._runs import interrupt_once, read_formulas, scenario_file
    from batchsim.cli._tables import comparison_table
    from batchsim.measure.cells import MeasureInterrupted
    from batchsim.measure.executors import Executor, ExecutorError
    from batchsim.measure.text import format_table
    from batchsim.optimize.compare import compare as run_compare
    from batchsim.scenario import ScenarioError, load_scenario

    scenario = scenario_file(scenario)
    try:
        loaded = load_scenario(scenario, overrides)  # a fixed pool takes formulas too: see with_formula
        texts = {label: text for label, text in read_formulas(loaded, formulas).items() if text is not None}
    except ScenarioError as exc:
        fail(str(exc))
    check_size(loaded, max_tasks)
    if out is not None:
        check_out_dir(out)
        check_run_dir(out, force)
    interrupt_once()
    try:
        with Executor(executor.value, scheduler=scheduler, workers=workers) as pool:
            result = run_compare(loaded, texts, list(range(1, seeds + 1)), pool, records=out is not None)
    except MeasureInterrupted as exc:
        finished = {key: outcome.result for key, outcome in exc.finished.items()}
        where = ""
        if out is not None and finished:
            _write_runs(loaded, scenario, texts, finished, out)
            where = f", saved in {out / 'runs'}/"
        elif finished:
            where = " (give --out to keep them)"
        typer.echo(f"interrupted: {len(finished)} of {exc.total} runs finished{where}", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except (ExecutorError, ScenarioError) as exc:
        fail(str(exc))
    table = comparison_table(result.rows, loaded.duration)
    if out is not None:
        from batchsim.report import write_report

        runs = {
            (label, seed): run
            for label, m in result.measured.items()
            for seed, run in zip(m.seeds, m.results, strict=True)
        }
        written = _write_runs(loaded, scenario, texts, runs, out)
        try:
            write_report(written, out / "report.html", table)
        except OSError as exc:
            fail(f"{out}: cannot write the report: {exc}")
    if output is OutputFormat.json:
        typer.echo(jsonio.dumps(result.rows))
        return
    typer.echo(format_table(table.headers, table.rows))
    typer.echo(table.note)
    if out is not None:
        typer.echo(f"report: {out / 'report.html'}")


def _write_runs(
    loaded: Any, scenario: Path, texts: dict[str, str], runs: dict[tuple[str, int], Any], out: Path
) -> list[Path]:
    """Write each (formula, seed) run to OUT/runs/FORMULA/seed-N; the directories, in that order."""
    from batchsim.cli._runs import slug
    from batchsim.measure.runs import with_formula
    from batchsim.report.runs import run_info, write_run

    written = []
    try:
        for (label, seed), run in runs.items():
            info = run_info(with_formula(loaded, texts[label]), run.summary, scenario_file=scenario)
            info["formula"]["file"] = label  # the reports label runs by their formula files
            written.append(write_run(run, out / "runs" / slug(label) / f"seed-{seed}", info))
    except OSError as exc:
        fail(f"{out}: cannot write the runs: {exc}")
    return written
