"""Command line: `batchsim COMMAND ...` (DESIGN section 2).

Each command lives in its own module of this package and registers itself on `app` with
`@app.command`; importing the package imports every module in it, so adding a command is adding a
file. Exit codes: 0 success, 1 bad input, 2 usage error.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer

from batchsim.cli.app import app
from batchsim.cli.errors import EXIT_USAGE

__all__ = ["app", "main"]

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _module != "app" and not _module.startswith("_"):
        importlib.import_module(f"{__name__}.{_module}")


# Optional dependencies by the top-level module a command imports, and the extra that installs them.
_EXTRA_OF_MODULE = {
    "azure": "azure",
    "optuna": "tune",
    "dask": "dask",
    "distributed": "dask",
    "pygls": "lsp",
    "lsprotocol": "lsp",
}


def main() -> None:
    """Entry point of the `batchsim` console script."""
    try:
        app()
    except ModuleNotFoundError as exc:
        extra = _EXTRA_OF_MODULE.get((exc.name or "").split(".")[0])
        if extra is None:
            raise
        typer.echo(
            f"error: this command needs the optional package {exc.name!r}: pip install 'batchsim[{extra}]'",
            err=True,
        )
        raise SystemExit(EXIT_USAGE) from None
