"""`batchsim check PATH... [--format ...]` (DESIGN §2)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from batchsim.cli.app import app
from batchsim.cli.errors import EXIT_USAGE, fail


class CheckFormat(str, Enum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"
    junit = "junit"


@app.command()
def check(
    paths: list[Path] = typer.Argument(
        ...,
        metavar="PATH...",
        help="Formula files, directories searched for *.formula files, or shipped formulas' names "
        "(`batchsim formula list`).",
    ),
    output_format: CheckFormat = typer.Option(CheckFormat.text, "--format", help="Output format."),
    strict: bool = typer.Option(False, "--strict", help="Reject ceil/floor/round (absent from the service docs)."),
) -> None:
    """Check autoscale formulas as the service would, plus lint warnings. Exit 1 when any error is found."""
    from batchsim.data import resolve_formula
    from batchsim.formula.checker import check as check_text
    from batchsim.formula.checker import has_errors
    from batchsim.formula.formatters import FORMATTERS, FileReport
    from batchsim.formula.sources import find_formula_files, read_formula

    paths = [resolve_formula(p) for p in paths]  # a shipped formula's name reads that formula
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        fail(f"no such file or directory: {', '.join(missing)}", EXIT_USAGE)
    files = [f for p in paths for f in find_formula_files(p)]
    if not files:
        fail(f"no *.formula files under {', '.join(str(p) for p in paths)}", EXIT_USAGE)
    reports = []
    for file in files:
        try:
            source = read_formula(file)
        except OSError as exc:
            fail(f"{file}: cannot read: {exc.strerror}")
        diagnostics = [source.problem] if source.problem else check_text(source.text, strict=strict)
        reports.append(FileReport(str(file), source.text, diagnostics))
    typer.echo(FORMATTERS[output_format.value](reports), nl=False)
    if any(has_errors(list(r.diagnostics)) for r in reports):
        raise typer.Exit(1)
