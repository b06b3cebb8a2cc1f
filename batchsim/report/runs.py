"""Run directories: `summary.json`, the record tables, and `run.json`, what was simulated.

`batchsim simulate --out` and `batchsim demo` write them; reports read them back. `run.json` says
what produced the run (scenario, formula text, pool, prices and their source, seed, overrides,
horizon) so that a report can show it and label several runs by what differs between them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from batchsim import jsonio
from batchsim.files import write_atomically

if TYPE_CHECKING:
    from batchsim.scenario import Scenario

__all__ = [
    "RUN_INFO",
    "Run",
    "RunDirError",
    "RunLike",
    "load_run",
    "resolved_value",
    "run_info",
    "start_time",
    "write_run",
]

TABLES = ("tasks", "nodes", "evaluations", "metrics")
RUN_INFO = "run.json"


class RunDirError(ValueError):
    """A run directory that cannot be read; the message names the file and what is wrong with it."""


class RunLike(Protocol):
    """What the plots read: a `Run` loaded from disk, or a `Result` fresh from `bs.simulate`."""

    summary: dict[str, Any]

    @property
    def tasks(self) -> pd.DataFrame: ...

    @property
    def nodes(self) -> pd.DataFrame: ...

    @property
    def evaluations(self) -> pd.DataFrame: ...

    @property
    def metrics(self) -> pd.DataFrame: ...


@dataclass
class Run:
    """One run's summary, tables and description, as plots and reports read them."""

    name: str
    summary: dict[str, Any]
    tasks: pd.DataFrame
    nodes: pd.DataFrame
    evaluations: pd.DataFrame
    metrics: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)
    """The contents of `run.json`; empty for a directory written before batchsim wrote it."""


def run_info(
    scenario: Scenario,
    summary: Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
    scenario_file: str | Path | None = None,
) -> dict[str, Any]:
    """What a run simulated, for `run.json`: the scenario as resolved, and the prices the run used."""
    from batchsim import __version__

    pool = scenario.pool
    autoscale = pool.autoscale
    formula_path = scenario.formula_path()
    formula = None
    if autoscale is not None:
        formula = {
            "text": scenario.formula_text(),
            "file": str(formula_path) if formula_path is not None else None,
            "interval_s": autoscale.interval,
        }
    return {
        "scenario": scenario.name,
        "description": scenario.description,
        "scenario_file": str(scenario_file) if scenario_file is not None else None,
        "start": scenario.start.isoformat().replace("+00:00", "Z"),
        "duration_s": scenario.duration,
        "seed": summary.get("seed", scenario.seed),
        "overrides": dict(overrides or {}),
        "pool": {
            "vm_size": pool.vm_size,
            "region": pool.region,
            "os": pool.os,
            "task_slots_per_node": pool.task_slots_per_node,
            "initial_dedicated": pool.initial_dedicated,
            "initial_spot": pool.initial_spot,
            "spot_eviction_rate_per_hour": pool.spot.eviction_rate_per_hour,
        },
        "formula": formula,
        "prices": {
            "dedicated_per_hour": summary.get("price_dedicated_per_hour"),
            "spot_per_hour": summary.get("price_spot_per_hour"),
            "source": summary.get("price_source"),
        },
        "batchsim_version": __version__,
        # Every key after overrides and defaults, so that runs can be compared key by key.
        "resolved": scenario.model_dump(mode="json"),
    }


class _Writes(Protocol):
    summary: dict[str, Any]

    def write(self, out_dir: str | Path) -> Path: ...


def write_run(result: _Writes, out: str | Path, info: Mapping[str, Any]) -> Path:
    """Write a run directory: the result's summary and tables, then `run.json`."""
    out = Path(out)
    result.write(out)
    write_atomically(out / RUN_INFO, jsonio.dumps(dict(info)) + "\n")
    return out


def _json(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RunDirError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RunDirError(f"{path}: cannot read: {exc}") from None
    if not isinstance(document, dict):
        raise RunDirError(f"{path}: expected a JSON object, found {type(document).__name__}")
    return document


def _table(directory: Path, name: str) -> pd.DataFrame:
    parquet, csv = directory / f"{name}.parquet", directory / f"{name}.csv"
    path = parquet if parquet.exists() else csv
    if not path.exists():
        raise RunDirError(f"{directory}: missing {parquet.name} (the run's {name} table)")
    try:
        return pd.read_parquet(path) if path is parquet else pd.read_csv(path)
    except Exception as exc:  # pyarrow and pandas raise many kinds for a damaged file
        raise RunDirError(f"{path}: cannot read the {name} table: {exc}") from None


def load_run(directory: str | Path) -> Run:
    """Load a run directory; `RunDirError` names the file that is missing or damaged."""
    directory = Path(directory)
    summary_path = directory / "summary.json"
    if not directory.is_dir():
        raise RunDirError(f"{directory}: no such directory")
    if not summary_path.is_file():
        raise RunDirError(f"{directory}: no summary.json (is this a `batchsim simulate --out` directory?)")
    summary = _json(summary_path)
    info = _json(directory / RUN_INFO) if (directory / RUN_INFO).is_file() else {}
    tables = {name: _table(directory, name) for name in TABLES}
    name = str(info.get("scenario") or summary.get("scenario") or directory.name)
    return Run(name, summary, info=info, **tables)


def resolved_value(run: RunLike, dotted: str) -> Any:
    """The value of scenario key `dotted` (`pool.spot.eviction_rate_per_hour`) in the run, or None."""
    info = getattr(run, "info", None) or {}
    node: Any = info.get("resolved")
    for part in dotted.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def start_time(run: RunLike) -> datetime | None:
    """The clock time the run started at (`run.json` or the summary's `start`), or None."""
    info = getattr(run, "info", None) or {}
    text = info.get("start") or run.summary.get("start")
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
