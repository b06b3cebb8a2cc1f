"""Command line: `batchsim COMMAND ...` (DESIGN section 2).

Each command lives in its own module and registers itself on `app`; this package only imports
them. Exit codes: 0 success, 1 bad input, 2 usage error.
"""

from __future__ import annotations

from batchsim.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the `batchsim` console script."""
    app()
