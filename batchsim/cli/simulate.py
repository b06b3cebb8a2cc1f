"""`batchsim simulate SCENARIO.yaml [--seed N] [--set k=v ...] [--out DIR] [--format text|json]` (DESIGN §2)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any

import typer

from batchsim import jsonio
from batchsim.cli.app import app
from batchsim.cli.errors import fail


class SummaryFormat(str, Enum):
    text = "text"
    json = "json"


def summary_table(summary: dict[str, Any], title: str) -> Any:
    """A rich table of the figures a planner reads first."""
    from rich.table import Table

    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("figure")
    table.add_column("value", justify="right")
    s = summary
    rows = [
        (
            "tasks submitted / completed / failed",
            f"{s['tasks_submitted']} / {s['tasks_completed']} / {s['tasks_failed']}",
        ),
        ("wait mean / p95 / max", _waits(s)),
        (
            "cost (dedicated + spot)",
            f"${s['cost_usd']:.2f} (${s['cost_dedicated_usd']:.2f} + ${s['cost_spot_usd']:.2f})",
        ),
        ("node-hours dedicated / spot", f"{s['node_hours_dedicated']:.1f} / {s['node_hours_spot']:.1f}"),
        ("preemptions / task requeues", f"{s['preemptions']} / {s['task_requeues']}"),
        ("autoscale evaluations (errors)", f"{s['autoscale_evaluations']} ({s.get('autoscale_errors', 0)})"),
        ("simulated / wall time", f"{s['simulated_s'] / 3600:.1f} h / {s['wall_s']:.2f} s"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def _waits(s: dict[str, Any]) -> str:
    """Mean / p95 / max wait; marked "≥" when some tasks never started (their waits are lower bounds)."""
    at_least = "≥ " if s.get("wait_censored") else ""
    figures = " / ".join(f"{at_least}{s[key]:.0f} s" for key in ("wait_s_mean", "wait_s_p95", "wait_s_max"))
    return f"{figures} ({s.get('tasks_never_started', 0)} never started)" if at_least else figures


def run_scenario(path: Path, seed: int | None, overrides: list[str], show_progress: bool) -> Any:
    """Load and simulate, turning every bad input into one clear message."""
    from batchsim.pipeline import simulate
    from batchsim.scenario import ScenarioError, load_scenario

    try:
        scenario = load_scenario(path, overrides)
        if not show_progress:
            return scenario, simulate(scenario, seed)
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            task = bar.add_task(f"simulating {scenario.name}", total=scenario.duration)
            return scenario, simulate(scenario, seed, progress=lambda t: bar.update(task, completed=t))
    except ScenarioError as exc:
        fail(str(exc))


@app.command()
def simulate(
    scenario_path: Path = typer.Argument(..., metavar="SCENARIO.yaml", help="Scenario file."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (default: the scenario's)."),
    overrides: list[str] = typer.Option([], "--set", help="Override a key: --set pool.initial_dedicated=20."),
    out: Path | None = typer.Option(None, "--out", help="Write summary.json and the record tables here."),
    output_format: SummaryFormat = typer.Option(SummaryFormat.text, "--format", help="Summary format."),
) -> None:
    """Simulate a scenario and print its cost and wait summary."""
    import sys

    from rich.console import Console

    _, result = run_scenario(scenario_path, seed, overrides, show_progress=sys.stderr.isatty())
    if out is not None:
        result.write(out)
    if output_format is SummaryFormat.json:
        typer.echo(jsonio.dumps(result.summary))
    else:
        Console().print(summary_table(result.summary, f"batchsim simulate {scenario_path}"))
        if out is not None:
            typer.echo(f"records written to {out}/")
