"""Reading run directories written by `Result.write` (summary.json and the record tables)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["Run", "RunDirError", "load_run"]

TABLES = ("tasks", "nodes", "evaluations", "metrics")


class RunDirError(ValueError):
    """A directory that is not a batchsim run."""


@dataclass
class Run:
    """One run's summary and tables, as plots and reports read them."""

    name: str
    summary: dict[str, Any]
    tasks: pd.DataFrame
    nodes: pd.DataFrame
    evaluations: pd.DataFrame
    metrics: pd.DataFrame


def _table(directory: Path, name: str) -> pd.DataFrame:
    parquet, csv = directory / f"{name}.parquet", directory / f"{name}.csv"
    if parquet.exists():
        return pd.read_parquet(parquet)
    if csv.exists():
        return pd.read_csv(csv)
    raise RunDirError(f"{directory}: missing {name}.parquet or {name}.csv")


def load_run(directory: str | Path) -> Run:
    """Load a run directory; `RunDirError` names what is missing."""
    directory = Path(directory)
    summary_path = directory / "summary.json"
    if not summary_path.is_file():
        raise RunDirError(f"{directory}: no summary.json (is this a `batchsim simulate --out` directory?)")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    tables = {name: _table(directory, name) for name in TABLES}
    return Run(str(summary.get("scenario", directory.name)), summary, **tables)
