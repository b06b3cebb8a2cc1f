"""`batchsim formula list|path NAME`: the formula library batchsim ships, for users of the wheel.

Every command that reads a formula file also takes a shipped formula's name (`batchsim check
pending-tasks`), so these two only say what there is and where it lives.
"""

from __future__ import annotations

import typer

from batchsim.cli.app import app
from batchsim.cli.errors import fail

formula_app = typer.Typer(help="The formulas batchsim ships: list them, or print one's file.", no_args_is_help=True)
app.add_typer(formula_app, name="formula")


def _summary(text: str) -> str:
    """The first sentence of a formula's header comment (`//` lines, or the first `/* */` block)."""
    header = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith(("//", "/*", "*")):
            break
        header.append(stripped.lstrip("/*").rstrip("*/").strip())
    words = " ".join(w for w in header if w)
    end = words.find(". ")
    return words[: end + 1] if end >= 0 else words


@formula_app.command("list")
def list_command() -> None:
    """List the shipped formulas: name, what each does, and its file (usable wherever FORMULA is)."""
    from batchsim.data import shipped_formulas

    for name, path in shipped_formulas().items():
        typer.echo(f"{name}\t{_summary(path.read_text(encoding='utf-8'))}\t{path}")


@formula_app.command("path")
def path_command(
    name: str = typer.Argument(..., metavar="NAME", help="A shipped formula's name, e.g. pending-tasks."),
) -> None:
    """Print the file of a shipped formula, e.g. `cp "$(batchsim formula path pending-tasks)" my.formula`."""
    from batchsim.data import shipped_formulas

    found = shipped_formulas().get(name.removesuffix(".formula"))
    if found is None:
        fail(f"no shipped formula {name!r}; shipped: {', '.join(shipped_formulas())}")
    typer.echo(str(found))
