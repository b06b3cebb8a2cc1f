"""`batchsim report RUN_DIR... [--out report.html]` (DESIGN §2)."""

from __future__ import annotations

from pathlib import Path

import typer

from batchsim.cli.app import app
from batchsim.cli.errors import fail


@app.command()
def report(
    run_dirs: list[Path] = typer.Argument(..., help="Run directories written by `batchsim simulate --out`."),
    out: Path = typer.Option(Path("report.html"), "--out", help="The HTML file to write."),
) -> None:
    """Write a self-contained HTML cost report for one or more runs, side by side."""
    from batchsim.report import RunDirError, write_report

    try:
        path = write_report(run_dirs, out)
    except RunDirError as exc:
        fail(str(exc))
    typer.echo(f"report written to {path}")
