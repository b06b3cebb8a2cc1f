"""`batchsim simulate SCENARIO.yaml [--seed N] [--set k=v ...] [--out DIR] [--format text|json]`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from batchsim import jsonio
from batchsim.cli._estimate import DEFAULT_MAX_TASKS, check_size
from batchsim.cli._output import check_out_dir, check_run_dir, progress
from batchsim.cli.app import OutputFormat, app
from batchsim.cli.errors import EXIT_BAD_INPUT, EXIT_USAGE, fail


def summary_table(summary: dict[str, Any], title: str) -> Any:
    """A rich table of the figures a planner reads first."""
    from rich.table import Table

    from batchsim.report.tables import cost_text, wait_text

    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("figure")
    table.add_column("value", justify="right")
    s = summary
    unfinished = s.get("tasks_active_at_end", 0) + s.get("tasks_running_at_end", 0)
    deadline = s.get("deadline_met_fraction")
    rows = [
        (
            "tasks submitted / completed / failed",
            f"{s['tasks_submitted']} / {s['tasks_completed']} / {s['tasks_failed']}",
        ),
        ("unfinished at the end (never started)", f"{unfinished} ({s.get('tasks_never_started', 0)})"),
        ("wait mean / p95 / max", wait_text(s, ("wait_s_mean", "wait_s_p95", "wait_s_max"))),
        ("deadlines met", f"{deadline:.1%}" if isinstance(deadline, (int, float)) and deadline == deadline else "-"),
        ("cost", cost_text(s["cost_usd"], None, s["simulated_s"])),
        ("  dedicated + Spot (USD)", f"{s['cost_dedicated_usd']:.2f} + {s['cost_spot_usd']:.2f}"),
        ("node-hours dedicated / spot", f"{s['node_hours_dedicated']:.1f} / {s['node_hours_spot']:.1f}"),
        ("preemptions / task requeues", f"{s['preemptions']} / {s['task_requeues']}"),
        ("autoscale evaluations (errors)", f"{s['autoscale_evaluations']} ({s.get('autoscale_errors', 0)})"),
        ("simulated / wall time", f"{s['simulated_s'] / 3600:.1f} h / {s['wall_s']:.2f} s"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def load(path: Path, overrides: list[str]) -> Any:
    """The scenario at `path` with `--set` overrides; a bad one is one clear message per mistake, exit 1."""
    from batchsim.data import resolve_scenario
    from batchsim.scenario import ScenarioError, load_scenario

    try:
        return load_scenario(resolve_scenario(path), overrides)
    except ScenarioError as exc:
        if "no such file" in str(exc) and not path.suffix:
            from batchsim.data import shipped_scenarios

            fail(f"{exc}; shipped scenarios: {', '.join(shipped_scenarios())}")
        fail(str(exc))


def run(scenario: Any, seed: int | None, description: str) -> Any:
    """Simulate, with a progress bar on stderr when it is a terminal; a bad formula or trace exits 1."""
    from batchsim import simulate as simulate_scenario
    from batchsim.cli._runs import EXIT_INTERRUPTED
    from batchsim.scenario import ScenarioError
    from batchsim.units import format_duration

    reached = [0.0]

    def track(report: Any) -> Any:
        def update(t: float) -> None:
            reached[0] = t
            if report is not None:
                report(t)

        return update

    try:
        with progress(description, scenario.duration) as report:
            return simulate_scenario(scenario, seed, progress=track(report))
    except ScenarioError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        done, horizon = format_duration(reached[0]), format_duration(scenario.duration)
        typer.echo(f"interrupted: the simulation stopped at {done} of {horizon}; nothing was written", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None


def write_or_explain(result: Any, out: Path, info: dict[str, Any]) -> str | None:
    """Write the run directory; on failure, the message saying what was not written (None: all written)."""
    from batchsim.report.runs import write_run

    try:
        write_run(result, out, info)
    except OSError as exc:
        where = exc.filename or out
        return f"cannot write {where}: {exc.strerror or exc}"
    return None


@app.command()
def simulate(
    scenario_path: Path = typer.Argument(
        ..., metavar="SCENARIO.yaml", help="Scenario file, or a shipped scenario's name (`batchsim scenario list`)."
    ),
    seed: int | None = typer.Option(None, "--seed", min=0, help="Random seed, 0 or more (default: the scenario's)."),
    overrides: list[str] = typer.Option(
        [], "--set", help="Override a scenario key, e.g. --set pool.initial_dedicated=20 (repeatable)."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Directory for summary.json, run.json and the record tables (Parquet)."
    ),
    output_format: OutputFormat = typer.Option(
        OutputFormat.text, "--format", help="text: a table; json: the summary object, alone on stdout."
    ),
    max_tasks: int = typer.Option(
        DEFAULT_MAX_TASKS, "--max-tasks", min=1, help="Refuse a run expected to submit more tasks (memory)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace the run directory --out when it holds one."),
    seeds: int | None = typer.Option(
        None,
        "--seeds",
        min=2,
        help="Seeds 1..K: each metric's mean ± 95 % interval; --out gets OUT/seed-N and a report.",
    ),
) -> None:
    """Simulate a scenario and print its cost and wait summary (with --seeds, across seeds)."""
    from rich.console import Console

    from batchsim.scenario import parse_overrides

    if seeds is not None and seed is not None:
        fail("give --seed or --seeds, not both", EXIT_USAGE)
    scenario = load(scenario_path, overrides)
    check_size(scenario, max_tasks)
    if out is not None:
        check_out_dir(out)
        check_run_dir(out, force)
    if seeds is not None:
        _across_seeds(scenario, scenario_path, overrides, seeds, out, output_format)
        return
    result = run(scenario, seed, f"simulating {scenario.name}")
    problem = None
    if out is not None:
        from batchsim.data import resolve_scenario
        from batchsim.report.runs import run_info

        info = run_info(scenario, result.summary, parse_overrides(overrides), resolve_scenario(scenario_path))
        problem = write_or_explain(result, out, info)
    if output_format is OutputFormat.json:
        typer.echo(jsonio.dumps(result.summary))
    else:
        Console().print(summary_table(result.summary, f"batchsim simulate {scenario_path}"))
        if out is not None and problem is None:
            typer.echo(f"records written to {out}/")
    if problem is not None:
        fail(f"{problem}; the summary on stdout is all that was kept", EXIT_BAD_INPUT)


def _across_seeds(
    scenario: Any, path: Path, overrides: list[str], seeds: int, out: Path | None, output_format: OutputFormat
) -> None:
    """Seeds 1..K of one scenario: the table `report` prints for seed runs (the same code), and with
    `--out` each run in OUT/seed-N and OUT/report.html carrying that table."""
    from batchsim.cli._tables import report_seed_table
    from batchsim.data import resolve_scenario
    from batchsim.measure.text import format_table
    from batchsim.report.runs import run_info
    from batchsim.scenario import parse_overrides

    results = [run(scenario, s, f"simulating {scenario.name}, seed {s} of {seeds}") for s in range(1, seeds + 1)]
    table = report_seed_table(results, [scenario.name] * seeds)
    if out is not None:
        from batchsim.report import write_report

        dirs = []
        for s, result in zip(range(1, seeds + 1), results, strict=True):
            info = run_info(scenario, result.summary, parse_overrides(overrides), resolve_scenario(path))
            problem = write_or_explain(result, out / f"seed-{s}", info)
            if problem is not None:
                fail(problem)
            dirs.append(out / f"seed-{s}")
        try:
            write_report(dirs, out / "report.html", table)
        except OSError as exc:
            fail(f"cannot write {out / 'report.html'}: {exc.strerror or exc}")
    if output_format is OutputFormat.json:
        typer.echo(jsonio.dumps([r.summary for r in results]))
        return
    typer.echo(format_table(table.headers, table.rows))
    typer.echo(table.note)
    if out is not None:
        typer.echo(f"runs and report written to {out}/ (open {out / 'report.html'})")
