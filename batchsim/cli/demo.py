"""`batchsim demo`: the embedded default scenario, a summary table, records and a report (DESIGN §2)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import typer

from batchsim.cli.app import app
from batchsim.cli.errors import fail

DEMO_DIR = Path("batchsim-demo")


@app.command()
def demo(
    out: Path = typer.Option(DEMO_DIR, "--out", help="Where to write the records and the report."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (default: the scenario's)."),
) -> None:
    """Run the embedded default scenario (a working day, mixed dedicated/Spot pool); no arguments needed."""
    import sys

    from rich.console import Console

    from batchsim.cli.simulate import summary_table
    from batchsim.pipeline import simulate
    from batchsim.scenario import ScenarioError, load_scenario

    text = resources.files("batchsim.data").joinpath("default.yaml").read_text(encoding="utf-8")
    try:
        scenario = load_scenario("<embedded default.yaml>", text=text)
        if sys.stderr.isatty():
            from rich.progress import Progress

            with Progress(transient=True) as bar:
                task = bar.add_task("simulating a working day", total=scenario.duration)
                result = simulate(scenario, seed, progress=lambda t: bar.update(task, completed=t))
        else:
            result = simulate(scenario, seed)
    except ScenarioError as exc:
        fail(str(exc))
    result.write(out)
    (out / "scenario.yaml").write_text(text, encoding="utf-8")
    Console().print(summary_table(result.summary, f"batchsim demo: {scenario.name}"))
    try:
        from batchsim.report.html import write_report

        report = write_report([out], out / "report.html")
        typer.echo(f"records and report written to {out}/ (open {report})")
    except ImportError:
        typer.echo(f"records written to {out}/")
