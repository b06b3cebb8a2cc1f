"""Command line: `batchsim COMMAND ...` (DESIGN section 2).

Each command lives in its own module of this package and registers itself on `app` with
`@app.command`; importing the package imports every module in it, so adding a command is adding a
file. Exit codes: 0 success, 1 bad input, 2 usage error.
"""

from __future__ import annotations

import importlib
import pkgutil

from batchsim.cli.app import app

__all__ = ["app", "main"]

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _module != "app" and not _module.startswith("_"):
        importlib.import_module(f"{__name__}.{_module}")


def main() -> None:
    """Entry point of the `batchsim` console script."""
    app()
