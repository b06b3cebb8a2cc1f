"""A digest of every record table of every shipped scenario on two seeds (issue 13, proof of "unchanged").

Run:  python benchmarks/record_digests.py --out FILE.json         record the digests
      python benchmarks/record_digests.py --compare FILE.json     record again and list what differs
      ... --set pool.job_default_order=creationtime               with a pool key set in every run
                                                                  (to tell which change moved a record)

Each run of `scenarios/*.yaml` and `batchsim/data/default.yaml` (the embedded demo scenario), on
seeds 1 and 2, gives one SHA-256 per table (`tasks`, `nodes`, `evaluations`, `metrics`,
`resize_errors`, `attempts`) and one for the summary without `wall_s`, plus one per column so that
a change says which column moved. A few engine-level runs cover what no shipped scenario exercises
(job schedules with preparation and release, dependencies, retries, wall clocks, containers,
staging, quotas, start tasks, Spot reclaims and shortages, every deallocation option).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SEEDS = (1, 2)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def table_digests(frame: pd.DataFrame) -> dict[str, Any]:
    """The table's digest (CSV, full precision) and one per column."""
    return {
        "rows": len(frame),
        "table": _digest(frame.to_csv(index=False)),
        "columns": {str(c): _digest(frame[c].to_csv(index=False)) for c in frame.columns},
    }


def result_digests(result: Any) -> dict[str, Any]:
    summary = {k: v for k, v in sorted(result.summary.items()) if k != "wall_s"}
    out: dict[str, Any] = {
        "summary": _digest(repr(summary)),
        "summary_values": {k: repr(v) for k, v in summary.items()},
    }
    for name, frame in result.tables().items():
        out[name] = table_digests(frame)
    return out


def _simulate() -> Callable[..., Any]:
    """The pipeline's `simulate`, by its public name (the module behind it was renamed in issue 13)."""
    import batchsim

    simulate: Callable[..., Any] = batchsim.simulate
    return simulate


def shipped_runs(overrides: list[str]) -> Iterator[tuple[str, Callable[[int], Any]]]:
    from batchsim.scenario import load_scenario

    simulate = _simulate()
    embedded = ROOT / "batchsim" / "data" / "default.yaml"  # the demo's copy, where the package has one
    paths = [*sorted((ROOT / "scenarios").glob("*.yaml")), *([embedded] if embedded.exists() else [])]
    for path in paths:
        scenario = load_scenario(path, overrides)
        label = str(path.relative_to(ROOT))
        yield label, lambda seed, scenario=scenario: simulate(scenario, seed)


def engine_runs(overrides: list[str]) -> Iterator[tuple[str, Callable[[int], Any]]]:
    """Engine-level runs for the features no shipped scenario uses."""
    from batchsim.cost.catalog import vcpus_of
    from batchsim.cost.prices import DEFAULT_PRICES
    from batchsim.formula import compile
    from batchsim.pipeline import add_costs
    from batchsim.sim.config import PoolConfig
    from batchsim.sim.engine import run
    from batchsim.workload.spec import JobSpec, PrepTaskSpec, ScheduleSpec, TaskSpec, Workload

    delays = {
        "dedicated": {"dist": "lognormal", "median": 300, "sigma": 0.4},
        "spot": {"dist": "lognormal", "median": 360, "sigma": 0.5},
    }
    formula_text = (
        "p = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 3);"
        "t = p < 70 ? val($PendingTasks.GetSample(1), 0) : avg($PendingTasks.GetSample(TimeInterval_Minute * 3));"
        "n = (t + $TaskSlotsPerNode - 1) / $TaskSlotsPerNode;"
        "$TargetDedicatedNodes = min(4, n); $TargetLowPriorityNodes = min(8, max(0, n - 4));"
        "$NodeDeallocationOption = {option};"
    )

    def features(option: str) -> Callable[[int], Any]:
        def go(seed: int) -> Any:
            pool = PoolConfig.model_validate(
                {
                    "task_slots_per_node": 2,
                    "initial_dedicated": 1,
                    "initial_spot": 2,
                    "provisioning_delay": delays,
                    "start_task": {"duration": {"dist": "exponential", "mean": 20}, "failure_probability": 0.1},
                    "spot": {
                        "eviction_rate_per_hour": 1.5,
                        "reclaim_events_per_hour": 0.5,
                        "available_mean": "2h",
                        "shortage_mean": "20m",
                    },
                    "quota": {"dedicated_cores": 8},
                    "node_deallocation_option": option,
                    "retention": "10m",
                    "metrics": {"sample_drop_probability": 0.05},
                    "scheduler_latency": 2,
                    "autoscale": {"formula": formula_text.format(option=option), "interval": "5m"},
                }
                | _pool_overrides(overrides)
            )
            jobs = [
                JobSpec("deps", uses_task_dependencies=True, priority=5, preparation=PrepTaskSpec(30, 0.2)),
                JobSpec("plain", max_wall_clock_s=6 * 3600),
            ]
            tasks = [TaskSpec(str(i), "deps", 60.0 * i, 200.0 + 37 * (i % 5)) for i in range(1, 30)]
            for i in range(30, 60):
                tasks.append(
                    TaskSpec(
                        str(i), "deps", 60.0 * i, 120.0, depends_on=(str(i - 29),), depends_on_ranges=((1, i % 4 + 1),)
                    )
                )
            for i in range(200):
                tasks.append(
                    TaskSpec(
                        f"p{i}",
                        "plain",
                        97.0 * i,
                        400.0 + 13 * (i % 11),
                        required_slots=1 + i % 2,
                        max_retry_count=i % 3 - (1 if i % 17 == 0 else 0),
                        max_wall_clock_s=450.0 if i % 5 == 0 else None,
                        failure_probability=0.2 if i % 3 == 0 else 0.0,
                        container_image="app:1" if i % 4 == 0 else None,
                        input_bytes=5e8 if i % 6 == 0 else 0.0,
                        output_bytes=1e8 if i % 7 == 0 else 0.0,
                        deadline_s=97.0 * i + 3600,
                    )
                )
            schedule = ScheduleSpec(
                "nightly",
                JobSpec("nightly", preparation=PrepTaskSpec(45), release=PrepTaskSpec(20)),
                occurrences=[[TaskSpec(f"s{j}", "", 10.0 * j, 1500 + 300 * j) for j in range(3)]],
                recurrence_interval_s=2700,
                start_window_s=1800,
                do_not_run_until_s=600,
            )
            workload = Workload(jobs=jobs, tasks=tasks, schedules=[schedule])
            result = run(pool, workload, 12 * 3600, seed, formula=compile(formula_text.format(option=option)))
            add_costs(result, DEFAULT_PRICES, vcpus_of(pool))
            return result

        return go

    for option in ("requeue", "terminate", "taskcompletion", "retaineddata"):
        yield f"engine:features-{option}", features(option)


def _pool_overrides(overrides: list[str]) -> dict[str, Any]:
    """The `pool.` keys of `--set` items as top-level keys of a pool mapping (one level deep)."""
    from batchsim.scenario import parse_overrides

    return {k.removeprefix("pool."): v for k, v in parse_overrides(overrides).items() if k.count(".") == 1}


def record(overrides: list[str]) -> dict[str, Any]:
    digests: dict[str, Any] = {}
    for label, go in [*shipped_runs(overrides), *engine_runs(overrides)]:
        for seed in SEEDS:
            digests[f"{label}@{seed}"] = result_digests(go(seed))
            print(f"recorded {label} seed {seed}", file=sys.stderr)
    return digests


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """One line per run and table that differs, naming the columns that changed, came or went."""
    lines: list[str] = []
    for run_name in sorted(set(before) | set(after)):
        if run_name not in before or run_name not in after:
            lines.append(f"{run_name}: only in {'after' if run_name in after else 'before'}")
            continue
        old, new = before[run_name], after[run_name]
        if old["summary"] != new["summary"]:
            keys = sorted(
                k
                for k in set(old["summary_values"]) | set(new["summary_values"])
                if old["summary_values"].get(k) != new["summary_values"].get(k)
            )
            lines.append(f"{run_name}: summary: {', '.join(keys)}")
        for table in sorted(k for k in new if k not in ("summary", "summary_values")):
            a, b = old.get(table), new[table]
            if a is None:
                lines.append(f"{run_name}: {table}: new table")
                continue
            if a["table"] == b["table"]:
                continue
            changed = sorted(c for c in b["columns"] if c in a["columns"] and a["columns"][c] != b["columns"][c])
            added = sorted(set(b["columns"]) - set(a["columns"]))
            removed = sorted(set(a["columns"]) - set(b["columns"]))
            parts = [f"rows {a['rows']}→{b['rows']}" if a["rows"] != b["rows"] else ""]
            parts += [f"changed: {', '.join(changed)}" if changed else ""]
            parts += [f"added: {', '.join(added)}" if added else ""]
            parts += [f"removed: {', '.join(removed)}" if removed else ""]
            lines.append(f"{run_name}: {table}: " + "; ".join(p for p in parts if p))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the digests here")
    parser.add_argument("--compare", type=Path, help="compare with digests recorded earlier")
    parser.add_argument("--set", action="append", default=[], help="a pool key for every run (pool.KEY=VALUE)")
    args = parser.parse_args()
    digests = record(args.set)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    if args.compare:
        lines = differences(json.loads(args.compare.read_text(encoding="utf-8")), digests)
        runs = len(digests)
        tables = sum(len([k for k in d if k not in ("summary", "summary_values")]) for d in digests.values())
        if not lines:
            print(f"identical: {runs} runs, {tables} tables and {runs} summaries")
        for line in lines:
            print(line)
        sys.exit(1 if lines else 0)


if __name__ == "__main__":
    main()
