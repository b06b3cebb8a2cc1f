"""`batchsim demo`: the shipped default scenario, a summary table, records and a report."""

from __future__ import annotations

from pathlib import Path

import typer

from batchsim.cli._output import check_out_dir
from batchsim.cli.app import app
from batchsim.cli.errors import EXIT_BAD_INPUT, fail

DEMO_DIR = Path("batchsim-demo")


@app.command()
def demo(
    out: Path = typer.Option(DEMO_DIR, "--out", help="Directory for the records, the scenario and report.html."),
    seed: int | None = typer.Option(None, "--seed", min=0, help="Random seed, 0 or more (default: the scenario's)."),
) -> None:
    """Run the shipped default scenario (a working day, mixed dedicated/Spot pool); no arguments needed."""
    from rich.console import Console

    from batchsim.cli.simulate import load, run, summary_table, write_or_explain
    from batchsim.data import DEFAULT_SCENARIO, find_scenario
    from batchsim.files import write_atomically
    from batchsim.report.runs import run_info

    path = find_scenario(DEFAULT_SCENARIO)
    if path is None:
        fail(f"the shipped scenario {DEFAULT_SCENARIO}.yaml is missing from this installation")
    scenario = load(path, [])
    check_out_dir(out)
    result = run(scenario, seed, "simulating a working day")
    problem = write_or_explain(result, out, run_info(scenario, result.summary, {}, path))
    Console().print(summary_table(result.summary, f"batchsim demo: {scenario.name}"))
    if problem is not None:
        fail(f"{problem}; the summary above is all that was kept", EXIT_BAD_INPUT)
    try:
        write_atomically(out / "scenario.yaml", path.read_text(encoding="utf-8"))
        from batchsim.report.html import write_report

        report = write_report([out], out / "report.html")
    except OSError as exc:
        fail(f"cannot write {exc.filename or out}: {exc.strerror}; the records in {out}/ are kept", EXIT_BAD_INPUT)
    typer.echo(f"records and report written to {out}/ (open {report})")
