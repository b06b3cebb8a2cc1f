"""`batchsim report RUN_DIR... [--out report.html] [--format html|md]`."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Any

import typer

from batchsim.cli._output import check_out_file
from batchsim.cli.app import app
from batchsim.cli.errors import EXIT_BAD_INPUT, EXIT_USAGE, fail


class ReportFormat(str, Enum):
    html = "html"
    md = "md"


@app.command()
def report(
    run_dirs: list[Path] = typer.Argument(
        ..., metavar="RUN_DIR...", help="Run directories written by `batchsim simulate --out` or `batchsim demo`."
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="The file to write (its folder is created), or - for the HTML on stdout. Default: report.html or "
        "report.md here.",
    ),
    output_format: ReportFormat = typer.Option(
        ReportFormat.html, "--format", help="html: one self-contained file; md: Markdown with PNG figures beside it."
    ),
) -> None:
    """Write a cost report for one or more runs, side by side, labelled by what differs between them.

    A run directory that cannot be read (a damaged summary.json, a missing table) is named and
    skipped; the report covers the others, and the exit status is 1.
    """
    from batchsim.report import RunDirError, load_run, write_markdown, write_report

    target = out or Path(f"report.{output_format.value}")
    to_stdout = str(target) == "-"
    if to_stdout and output_format is ReportFormat.md:
        fail(
            "--out -: the Markdown report is several files (the text and its PNG figures); give a file name", EXIT_USAGE
        )
    if not to_stdout:
        check_out_file(target)
    runs = []
    for directory in run_dirs:
        try:
            runs.append(load_run(directory))
        except RunDirError as exc:
            typer.echo(f"error: {exc}; skipped", err=True)
    if not runs:
        fail("no run directory could be read; nothing was written")
    from batchsim.cli._tables import report_seed_table
    from batchsim.report.describe import seed_groups

    groups = seed_groups(runs)
    table = report_seed_table(runs, groups) if groups is not None else None
    if to_stdout:  # the page alone on stdout: the table and the status line go to stderr
        from batchsim.report import render_report

        sys.stdout.write(render_report(runs, table))
        sys.stdout.flush()
        _say(table, f"report written to stdout ({len(runs)} of {len(run_dirs)} runs)", err=True)
        if len(runs) < len(run_dirs):
            raise typer.Exit(EXIT_BAD_INPUT)
        return
    write = write_markdown if output_format is ReportFormat.md else write_report
    try:
        path = write(runs, target, table)
    except OSError as exc:
        fail(f"cannot write {exc.filename or target}: {exc.strerror}")
    _say(table, f"report written to {path} ({len(runs)} of {len(run_dirs)} runs)")
    if len(runs) < len(run_dirs):
        raise typer.Exit(EXIT_BAD_INPUT)


def _say(table: Any, status: str, err: bool = False) -> None:
    """The table across seeds (when the runs are seeds of a few set-ups), then where the report went."""
    if table is not None:
        from batchsim.measure.text import format_table

        typer.echo(format_table(table.headers, table.rows), err=err)
        typer.echo(table.note, err=err)
    typer.echo(status, err=err)
