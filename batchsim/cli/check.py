"""`batchsim check PATH... [--format ...] [--var NAME=VALUE]` (DESIGN §2, §10)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from batchsim.cli.app import app


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
        help="Formula files, Terraform/Bicep/ARM JSON/pool YAML files, directories searched for both, or "
        "shipped formulas' names (`batchsim formula list`).",
    ),
    output_format: CheckFormat = typer.Option(CheckFormat.text, "--format", help="Output format."),
    strict: bool = typer.Option(False, "--strict", help="Reject ceil/floor/round (absent from the service docs)."),
    var: list[str] = typer.Option(
        [], "--var", help="NAME=VALUE: the value of the interpolation ${NAME} (or ${var.NAME}) in host files."
    ),
) -> None:
    """Check autoscale formulas as the service would, plus lint warnings. Exit 1 when any error is found.

    Formulas inside infrastructure code are found where they are: Terraform `azurerm_batch_pool`
    `auto_scale.formula`, Bicep and ARM `scaleSettings.autoScale.formula`, REST `autoScaleFormula`,
    and pool YAML `autoscale.formula`; findings point at the host file's own lines.
    """
    from batchsim.cli._check_run import run_check

    code = run_check(paths, output_format.value, strict, var)
    if code:
        raise typer.Exit(code)
