"""Where runs execute, as a choice: declared once, for the library and the command line (a module
light enough for every command's `--help`)."""

from __future__ import annotations

import enum

__all__ = ["ExecutorKind"]


class ExecutorKind(str, enum.Enum):
    """Where runs execute: a local process pool or a Dask cluster."""

    local = "local"
    dask = "dask"
