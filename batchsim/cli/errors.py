"""How commands report bad input: one clear line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

from typing import NoReturn

__all__ = ["EXIT_BAD_INPUT", "EXIT_USAGE", "fail", "require_extra"]

EXIT_BAD_INPUT = 1
EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print `error: message` on stderr and exit with `code` (DESIGN §2: 1 bad input, 2 usage)."""
    import typer  # here: `check`'s fast path (batchsim.cli.main) loads Typer only on a failure

    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def require_extra(module: str, extra: str) -> None:
    """Fail (usage error, exit 2) naming the extra to install when `module` is missing: called first
    by the commands that need one, so that the missing package is named before any other complaint
    (an endpoint, a scheduler). The same words as a missing import caught in `cli.main`."""
    import importlib.util

    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a missing parent package, or one set to None
        found = False
    if not found:
        fail(f"this command needs the optional package {module!r}: pip install 'batchsim[{extra}]'", EXIT_USAGE)
