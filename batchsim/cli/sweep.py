"""`batchsim sweep SCENARIO --grid key=v1,v2 ... [--seeds K] [--executor local|dask] --out DIR`."""

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
def sweep(
    scenario: Path = typer.Argument(
        ..., metavar="SCENARIO.yaml", help="Scenario file, or a shipped scenario's name (`batchsim scenario list`)."
    ),
    grid: list[str] = typer.Option([], "--grid", help="A key and its values: --grid pool.initial_dedicated=2,4,8."),
    overrides: list[str] = typer.Option(
        [], "--set", help="Scenario overrides for every variant, as for simulate (the grid's keys are not among them)."
    ),
    seeds: int = typer.Option(3, "--seeds", min=1, help="Seeds per variant (1..K)."),
    executor: ExecutorKind = typer.Option(ExecutorKind.local, "--executor", help="Where runs execute."),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Dask scheduler address (default: $DASK_SCHEDULER_ADDRESS)."
    ),
    workers: int | None = typer.Option(None, "--workers", min=1, help="Local worker processes (default: CPU count)."),
    records: bool = typer.Option(
        True, "--records/--no-records", help="Keep each run's record tables, so `batchsim report` can read it."
    ),
    output: OutputFormat = typer.Option(OutputFormat.text, "--format", help="text table or a JSON list of variants."),
    max_tasks: int = typer.Option(
        DEFAULT_MAX_TASKS, "--max-tasks", min=1, help="Refuse runs expected to submit more tasks each (memory)."
    ),
    out: Path = typer.Option(..., "--out", help="Results directory (runs/ written as they finish; resumable)."),
) -> None:
    """Run a grid of scenario variants × seeds; an interrupted sweep resumes where it stopped.

    Prints each variant's mean ± 95 % interval across seeds. Each run is a directory under
    OUT/runs/ that `batchsim report` reads; OUT/results.csv has one row per run.
    """
    if executor is ExecutorKind.dask:
        require_extra("distributed", "dask")
    import contextlib
    import sys

    from batchsim import jsonio
    from batchsim.cli._output import check_out_dir
    from batchsim.cli._runs import interrupt_once, scenario_file
    from batchsim.measure.executors import Executor, ExecutorError
    from batchsim.measure.text import format_table, plus_minus
    from batchsim.optimize.sweep import METRICS, SweepInterrupted, parse_grid, summarize
    from batchsim.optimize.sweep import sweep as run_sweep
    from batchsim.report.tables import SeedTable, cost_periods
    from batchsim.scenario import ScenarioError, load_scenario, parse_overrides

    scenario = scenario_file(scenario)
    try:
        parsed = parse_grid(grid)
        both = sorted(set(parse_overrides(overrides)) & set(parsed))
        if both:
            raise ValueError(f"--set {both[0]}: that key is also a --grid key")
        check_size(load_scenario(scenario, overrides), max_tasks)
        for key, values in parsed.items():
            for value in values:
                try:  # a bad key or value fails here, before any run
                    check_size(load_scenario(scenario, [*overrides, f"{key}={value}"]), max_tasks)
                except ScenarioError as exc:  # the value came from --grid, not from a --set
                    raise ScenarioError(str(exc).replace(f"--set key '{key}'", f"--grid {key}={value!r}")) from None
    except (ValueError, ScenarioError) as exc:
        fail(str(exc))
    check_out_dir(out)
    interrupt_once()
    try:
        with contextlib.ExitStack() as stack:
            progress = None
            if sys.stderr.isatty():
                from rich.console import Console
                from rich.progress import Progress

                bar = stack.enter_context(Progress(transient=True, console=Console(stderr=True)))
                task = bar.add_task("sweep", total=None)
                progress = lambda done, total: bar.update(task, completed=done, total=total)  # noqa: E731
            pool = Executor(executor.value, scheduler=scheduler, workers=workers)
            result = run_sweep(
                scenario,
                parsed,
                list(range(1, seeds + 1)),
                out,
                executor=pool,
                records=records,
                on_result=progress,
                on_warning=lambda message: typer.echo(f"warning: {message}", err=True),
                overrides=overrides,
            )
            pool.close()
    except SweepInterrupted as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except (ExecutorError, ScenarioError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{out}: cannot write results: {exc}")
    rows = summarize(result)
    shown = [(key, label, fmt) for key, label, fmt in METRICS if any(r.get(key) is not None for r in rows)]
    period = cost_periods(float(result.table["simulated_s"].max()) if len(result.table) else 0.0)[0][0]
    headers = [*parsed, "runs", *(f"{label} per {period}" if key == "cost_usd" else label for key, label, _ in shown)]
    lines = [
        [
            *(str(r["variant"][k]) for k in parsed),
            str(r["runs"]),
            *(plus_minus(r.get(k), r.get(f"{k}_ci"), f) for k, _, f in shown),
        ]
        for r in rows
    ]
    note = f"mean ± 95 % t-interval across {seeds} seeds; {len(result.table)} runs in {out}/results.csv"
    printed = SeedTable(tuple(headers), tuple(tuple(line) for line in lines), note, left=max(1, len(parsed)))
    report = _write_report(result, out, printed) if records else None
    if output is OutputFormat.json:
        typer.echo(jsonio.dumps(rows))
        return
    typer.echo(format_table(printed.headers, printed.rows, left=printed.left))
    typer.echo(printed.note)
    if report is not None:
        typer.echo(f"report: {report}")


def _write_report(result: Any, out: Path, printed: Any) -> Path | None:
    """OUT/report.html: the table as printed, and every run's plots, each variant's seeds overlaid."""
    from batchsim.report import RunDirError, write_report

    runs = [out / str(run) for run in result.table["run"]]
    try:
        return write_report(runs, out / "report.html", printed) if runs else None
    except (OSError, RunDirError) as exc:
        typer.echo(f"warning: no report: {exc}", err=True)
        return None
