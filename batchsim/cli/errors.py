"""How commands report bad input: one clear line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

from typing import NoReturn

__all__ = ["EXIT_BAD_INPUT", "EXIT_USAGE", "fail"]

EXIT_BAD_INPUT = 1
EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print `error: message` on stderr and exit with `code` (DESIGN §2: 1 bad input, 2 usage)."""
    import typer  # here: `check`'s fast path (batchsim.cli.main) loads Typer only on a failure

    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)
