"""`batchsim scenario schema|list|path`: the JSON Schema of scenario files, and the shipped scenarios."""

from __future__ import annotations

import typer

from batchsim import jsonio
from batchsim.cli.app import app
from batchsim.cli.errors import fail

scenario_app = typer.Typer(
    help="Scenario files: their JSON Schema, and the scenarios batchsim ships.", no_args_is_help=True
)
app.add_typer(scenario_app, name="scenario")


@scenario_app.command("schema")
def schema() -> None:
    """Print the JSON Schema of scenario files, for editors (`# yaml-language-server: $schema=FILE`) and CI."""
    from batchsim.scenario import scenario_json_schema

    typer.echo(jsonio.dumps(scenario_json_schema()))


def _summary(text: str) -> str:
    """The first sentence of a scenario's header comment."""
    header = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        header.append(line.lstrip("#").strip())
    words = " ".join(header)
    end = words.find(". ")
    return words[: end + 1] if end >= 0 else words


@scenario_app.command("list")
def list_command() -> None:
    """List the shipped scenarios: name, what each is for, and its file (usable wherever a scenario file is)."""
    from batchsim.data import shipped_scenarios

    for name, path in shipped_scenarios().items():
        typer.echo(f"{name}\t{_summary(path.read_text(encoding='utf-8'))}\t{path}")


@scenario_app.command("path")
def path_command(
    name: str = typer.Argument(..., metavar="NAME", help="A shipped scenario's name, e.g. default."),
) -> None:
    """Print the file of a shipped scenario, e.g. `batchsim optimize "$(batchsim scenario path default)" ...`."""
    from batchsim.data import find_scenario, shipped_scenarios

    path = find_scenario(name)
    if path is None:
        fail(f"no shipped scenario {name!r}; shipped: {', '.join(shipped_scenarios())}")
    typer.echo(str(path))
