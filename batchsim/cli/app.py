"""The Typer application every command module registers on.

Command modules import only what parsing their arguments needs at module level; the heavy
libraries (pandas, matplotlib, azure) are imported inside the command bodies, so that
`batchsim check` starts fast.
"""

from __future__ import annotations

from enum import Enum

import typer

app = typer.Typer(
    name="batchsim",
    help="An offline twin of an Azure Batch pool: check, simulate, price and optimize autoscale formulas.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    # Help paragraphs are wrapped to the terminal, not at the docstring's line breaks.
    rich_markup_mode="markdown",
)


class OutputFormat(str, Enum):
    """--format of every command that prints a text table or one JSON document (here, beside the app,
    because every command module loads this one and nothing more of the CLI's)."""

    text = "text"
    json = "json"


def _version(value: bool) -> None:
    if value:
        from batchsim import __version__

        typer.echo(f"batchsim {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """An offline twin of an Azure Batch pool."""
