"""Sweeps: a grid of scenario variants × seeds, written run by run so that a sweep resumes.

Each finished run is written at once to `OUT/runs/<variant-hash>-<seed>.json` (atomic rename); a
sweep started again skips the runs already there, so an interruption loses nothing finished.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from batchsim import jsonio
from batchsim.files import write_atomically
from batchsim.optimize.executors import RunSpec, execute

__all__ = ["parse_grid", "run_key", "sweep"]


def parse_grid(items: list[str]) -> dict[str, list[str]]:
    """`["pool.initial_dedicated=2,4", ...]` → `{"pool.initial_dedicated": ["2", "4"]}`."""
    grid: dict[str, list[str]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise ValueError(f"--grid {item!r}: expected dotted.key=v1,v2,...")
        grid[key.strip()] = [v.strip() for v in values.split(",") if v.strip()]
    return grid


def run_key(spec: RunSpec) -> str:
    """A stable key: the scenario file's content, the overrides and the formula, then the seed."""
    digest = hashlib.sha256()
    digest.update(Path(spec.scenario).read_bytes())
    for override in spec.overrides:
        digest.update(b"\0" + override.encode())
    digest.update(b"\1" + (spec.formula or "").encode())
    return f"{digest.hexdigest()[:16]}-{spec.seed}"


def sweep(
    scenario: str | Path,
    grid: dict[str, list[str]],
    seeds: list[int],
    out_dir: str | Path,
    *,
    executor: str = "local",
    scheduler: str | None = None,
    workers: int | None = None,
    on_result: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Run every variant × seed not already in `out_dir`; return all results (one row per run)."""
    out = Path(out_dir)
    runs_dir = out / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    keys = list(grid)
    variants = [
        tuple(f"{k}={v}" for k, v in zip(keys, values, strict=True)) for values in itertools.product(*grid.values())
    ]
    specs = [RunSpec(str(Path(scenario).resolve()), variant, seed) for variant in variants or [()] for seed in seeds]
    todo = [spec for spec in specs if not (runs_dir / f"{run_key(spec)}.json").exists()]
    done = len(specs) - len(todo)
    for spec, summary in execute(todo, executor=executor, scheduler=scheduler, workers=workers):
        record = {"overrides": list(spec.overrides), "seed": spec.seed, "summary": summary}
        write_atomically(runs_dir / f"{run_key(spec)}.json", jsonio.dumps(record, indent=1))
        done += 1
        if on_result is not None:
            on_result(done, len(specs))
    rows = []
    for spec in specs:
        record = json.loads((runs_dir / f"{run_key(spec)}.json").read_text(encoding="utf-8"))
        row = dict(zip(keys, [o.partition("=")[2] for o in record["overrides"]], strict=True))
        row["seed"] = record["seed"]
        row.update({k: v for k, v in record["summary"].items() if not isinstance(v, (dict, list))})
        rows.append(row)
    table = pd.DataFrame(rows)
    table.to_csv(out / "results.csv", index=False)
    return table
