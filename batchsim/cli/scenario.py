"""`batchsim scenario schema`: the JSON Schema of scenario files."""

from __future__ import annotations

import json

import typer

from batchsim.cli.app import app

scenario_app = typer.Typer(help="Scenario files: schema.", no_args_is_help=True)
app.add_typer(scenario_app, name="scenario")


@scenario_app.command("schema")
def schema() -> None:
    """Print the JSON Schema of scenario files."""
    from batchsim.scenario import scenario_json_schema

    typer.echo(json.dumps(scenario_json_schema(), indent=2))
