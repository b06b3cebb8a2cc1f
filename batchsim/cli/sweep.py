"""`batchsim sweep SCENARIO --grid key=v1,v2 ... [--seeds K] [--executor local|dask] --out DIR`."""

from __future__ import annotations

from pathlib import Path

import typer

from batchsim.cli.app import app
from batchsim.cli.errors import EXIT_USAGE, fail


@app.command()
def sweep(
    scenario: Path = typer.Argument(..., metavar="SCENARIO.yaml", help="Scenario file."),
    grid: list[str] = typer.Option([], "--grid", help="A key and its values: --grid pool.initial_dedicated=2,4,8."),
    seeds: int = typer.Option(3, "--seeds", min=1, help="Seeds per variant (1..K)."),
    executor: str = typer.Option("local", "--executor", help="local (process pool) or dask."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address."),
    workers: int | None = typer.Option(None, "--workers", help="Local worker processes (default: CPU count)."),
    out: Path = typer.Option(..., "--out", help="Results directory (runs/ written as they finish; resumable)."),
) -> None:
    """Run a grid of scenario variants × seeds; an interrupted sweep resumes where it stopped."""
    import contextlib
    import sys

    from batchsim.optimize.executors import ExecutorError
    from batchsim.optimize.sweep import parse_grid
    from batchsim.optimize.sweep import sweep as run_sweep
    from batchsim.scenario import ScenarioError, load_scenario

    if not scenario.is_file():
        fail(f"no such file: {scenario}", EXIT_USAGE)
    try:
        parsed = parse_grid(grid)
        for key, values in parsed.items():
            load_scenario(scenario, [f"{key}={values[0]}"])  # a bad key fails here, before any run
    except (ValueError, ScenarioError) as exc:
        fail(str(exc))
    try:
        with contextlib.ExitStack() as stack:
            progress = None
            if sys.stderr.isatty():
                from rich.progress import Progress

                bar = stack.enter_context(Progress(transient=True))
                task = bar.add_task("sweep", total=None)
                progress = lambda done, total: bar.update(task, completed=done, total=total)  # noqa: E731
            seed_list = list(range(1, seeds + 1))
            table = run_sweep(
                scenario,
                parsed,
                seed_list,
                out,
                executor=executor,
                scheduler=scheduler,
                workers=workers,
                on_result=progress,
            )
    except ExecutorError as exc:
        fail(str(exc))
    except ScenarioError as exc:
        fail(str(exc))
    columns = [*parsed, "cost_usd", "wait_s_p95"]
    summary = table.groupby(list(parsed))[["cost_usd", "wait_s_p95"]].mean() if parsed else table[columns].mean()
    typer.echo(summary.to_string())
    typer.echo(f"{len(table)} runs in {out}/results.csv")
