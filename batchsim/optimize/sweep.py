"""Sweeps: a grid of scenario variants × seeds, written run by run so that a sweep resumes.

Each finished run is a directory `OUT/runs/<key>/`: what `batchsim report` reads (`summary.json`,
`run.json` saying what was simulated, the record tables; left out with `records=False`), then
`sweep.json` (the variant, the seed and the summary), written last and atomically, which marks the
run finished. The key is
`runs.run_key`: the resolved scenario (overrides applied, formula text inlined), the seed and the
batchsim version, so a sweep started again skips exactly the runs whose inputs have not changed.
A `sweep.json` that cannot be read is named in a warning and the run is done again.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from batchsim import jsonio
from batchsim.files import write_atomically
from batchsim.measure.executors import Executor, ExecutorKind
from batchsim.measure.runs import RunOutcome, RunSpec, resolved_json, run_key
from batchsim.measure.stats import interval
from batchsim.scenario import Scenario, load_scenario, parse_overrides

__all__ = ["METRICS", "SweepInterrupted", "SweepResult", "parse_grid", "summarize", "sweep"]

# The metrics a sweep summarizes per variant: key, label with its unit, format.
METRICS = (
    ("cost_usd", "cost (USD)", "{:.2f}"),
    ("wait_s_p95", "p95 wait (s)", "{:.0f}"),
    ("deadline_met_fraction", "deadlines met", "{:.3f}"),
    ("tasks_never_started", "never started (tasks)", "{:.1f}"),
)


class SweepInterrupted(Exception):
    """The sweep was interrupted; every finished run is on disk."""

    def __init__(self, saved: int, total: int) -> None:
        super().__init__(f"interrupted: {saved} of {total} runs saved")
        self.saved = saved
        self.total = total


@dataclass
class SweepResult:
    """One row per run (`table`, also `results.csv`) and the runs that had to be redone."""

    table: pd.DataFrame
    keys: list[str]
    redone: list[str] = field(default_factory=list)


def parse_grid(items: list[str]) -> dict[str, list[str]]:
    """`["pool.initial_dedicated=2,4", ...]` → `{"pool.initial_dedicated": ["2", "4"]}`."""
    grid: dict[str, list[str]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise ValueError(f"--grid {item!r}: expected dotted.key=v1,v2,...")
        grid[key.strip()] = [v.strip() for v in values.split(",") if v.strip()]
    return grid


def _finished(run_dir: Path) -> dict[str, Any] | None:
    """The run's record, or None when it is not there; `ValueError` when it is there but corrupt."""
    path = run_dir / "sweep.json"
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(record, dict) or not isinstance(record.get("summary"), dict):
            raise ValueError("no summary in it")
        return record
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{path}: cannot be read ({exc}); running it again") from None


def sweep(
    scenario: str | Path,
    grid: dict[str, list[str]],
    seeds: list[int],
    out_dir: str | Path,
    *,
    executor: Executor | ExecutorKind | str = ExecutorKind.local,
    scheduler: str | None = None,
    workers: int | None = None,
    records: bool = True,
    on_result: Callable[[int, int], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
    overrides: Sequence[str] = (),
) -> SweepResult:
    """Run every variant × seed not already in `out_dir`; return all results (one row per run).

    `overrides` (`key=value`, as `--set` gives them) apply to every variant, before the grid's keys.

    Raises `SweepInterrupted` on Ctrl-C, after the workers have stopped.
    """
    out = Path(out_dir)
    runs_dir = out / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    keys = list(grid)
    variants = [
        tuple(f"{k}={v}" for k, v in zip(keys, values, strict=True)) for values in itertools.product(*grid.values())
    ] or [()]
    specs: list[RunSpec] = []
    for variant in variants:
        text = resolved_json(load_scenario(scenario, [*overrides, *variant]))
        specs += [RunSpec(text, seed, records=records, tag=variant) for seed in seeds]
    names = {spec: run_key(spec) for spec in specs}
    todo, redone = [], []
    for spec in specs:
        try:
            found = _finished(runs_dir / names[spec])
        except ValueError as exc:
            redone.append(str(exc))
            if on_warning is not None:
                on_warning(str(exc))
            found = None
        if found is None:
            todo.append(spec)
    done = len(specs) - len(todo)
    if on_result is not None:
        on_result(done, len(specs))
    owned = not isinstance(executor, Executor)
    pool = Executor(executor, scheduler=scheduler, workers=workers) if not isinstance(executor, Executor) else executor
    try:
        for spec, outcome in pool.run(todo):
            _save(runs_dir / names[spec], spec, outcome, Path(scenario), overrides)
            done += 1
            if on_result is not None:
                on_result(done, len(specs))
    except KeyboardInterrupt:
        pool.stop()
        raise SweepInterrupted(done, len(specs)) from None
    except BaseException:
        pool.stop()
        raise
    if owned:
        pool.close()
    rows = []
    for spec in specs:
        record = _finished(runs_dir / names[spec])
        assert record is not None
        row: dict[str, Any] = dict(zip(keys, [o.partition("=")[2] for o in spec.tag], strict=True))
        row["seed"] = spec.seed
        row["run"] = f"runs/{names[spec]}"
        row.update({k: v for k, v in record["summary"].items() if not isinstance(v, (dict, list))})
        rows.append(row)
    table = pd.DataFrame(rows)
    write_atomically(out / "results.csv", table.to_csv(index=False))
    return SweepResult(table, keys, redone)


def _save(run_dir: Path, spec: RunSpec, outcome: RunOutcome, scenario_file: Path, common: Sequence[str]) -> None:
    if outcome.result is not None:
        from batchsim.report.runs import run_info, write_run

        scenario = Scenario.model_validate_json(spec.scenario)
        overrides = parse_overrides([*common, *spec.tag])
        write_run(outcome.result, run_dir, run_info(scenario, outcome.summary, overrides, scenario_file))
    record = {"variant": list(spec.tag), "seed": spec.seed, "summary": outcome.summary}
    write_atomically(run_dir / "sweep.json", jsonio.dumps(record, indent=1))


def summarize(result: SweepResult) -> list[dict[str, Any]]:
    """Per variant: the number of runs, and each metric's mean and 95 % half-width (`_ci`) across seeds."""
    table = result.table
    groups = table.groupby(result.keys, sort=False) if result.keys else [((), table)]
    rows = []
    for values, group in groups:
        values = values if isinstance(values, tuple) else (values,)
        row: dict[str, Any] = {"variant": dict(zip(result.keys, values, strict=True)), "runs": len(group)}
        for key, _, _ in METRICS:
            if key in group:
                row[key], row[f"{key}_ci"] = interval(group[key].astype(float).tolist())
        rows.append(row)
    return rows
