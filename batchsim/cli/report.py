"""`batchsim report RUN_DIR... [--out report.html]` (DESIGN §2)."""

from __future__ import annotations

from pathlib import Path

import typer

from batchsim.cli.app import app
from batchsim.cli.errors import fail


@app.command()
def report(
    run_dirs: list[Path] = typer.Argument(..., help="Run directories written by `batchsim simulate --out`."),
    out: Path | None = typer.Option(None, "--out", help="The file to write (default report.html or report.md)."),
    output_format: str = typer.Option("html", "--format", help="html (one self-contained file) or md (with PNGs)."),
) -> None:
    """Write a cost report for one or more runs, side by side."""
    from batchsim.report import RunDirError, write_report
    from batchsim.report.markdown import write_markdown

    if output_format not in ("html", "md"):
        fail(f"--format must be html or md, not {output_format!r}", 2)
    target = out or Path(f"report.{output_format}")
    try:
        path = write_report(run_dirs, target) if output_format == "html" else write_markdown(run_dirs, target)
    except RunDirError as exc:
        fail(str(exc))
    typer.echo(f"report written to {path}")
