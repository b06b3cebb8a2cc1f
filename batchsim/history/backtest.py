"""`batchsim backtest`: replay a history's window with a scenario and score it against the record.

The window is simulated from the recorded node counts at its start, with the recorded arrivals
(every task of tasks.csv, as `calibrate --workload trace` replays them), under the scenario's pool,
formula, delays and Spot behaviour; by default the scenario is `calibrate`'s. The JSON keys are
fixed (DESIGN §7); a metric the history cannot support is null and named under `unavailable`.

Definitions (docs/history.md): node counts are compared once a minute (nodes that exist: not
pending, not gone; Spot preempted included); node-hours are billed ones (preempted time excluded);
waits are those of tasks that ran once (no retry, no requeue), creation to start, since the
record's start time is the last attempt's; `wait_ks` is the two-sample Kolmogorov–Smirnov
statistic; `targets_mae` pairs each recorded evaluation with the nearest simulated one.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from batchsim.batch_text import parse_results
from batchsim.history.calibrate import calibrate
from batchsim.history.directory import IN_POOL_STATES, History, iso
from batchsim.history.scenario_file import write_calibration
from batchsim.history.verdict import (
    NODE_TOLERANCE,
    WAIT_TOLERANCE_S,
    distance_check,
    ks_tolerance,
    prediction_interval,
    value_check,
    verdict,
)

if TYPE_CHECKING:
    from batchsim.scenario import Scenario
    from batchsim.sim.result import Result

__all__ = ["DEFAULT_SEEDS", "Backtest", "Recorded", "backtest", "recorded_series", "score_rows", "simulated_counts"]

_EXISTS = IN_POOL_STATES
_GRID_S = 60.0
DEFAULT_SEEDS = 5  # the fewest that give a spread for the t interval worth its name (t(0.975, 4) = 2.78)
_METRICS = (
    "nodes_dedicated_mae",
    "nodes_spot_mae",
    "node_hours",
    "wait_s_p50",
    "wait_s_p95",
    "wait_ks",
    "targets_mae",
    "cost_usd",
)


@dataclass
class Recorded:
    """The record on the comparison grid: node counts, targets, waits, queue."""

    grid_s: np.ndarray
    dedicated: np.ndarray | None
    spot: np.ndarray | None
    node_hours_dedicated: float | None
    node_hours_spot: float | None
    target_times_s: np.ndarray
    targets: np.ndarray  # (evaluations, 2): dedicated, spot
    waits_s: np.ndarray
    queued: np.ndarray  # tasks created and not yet started, on the grid
    running: np.ndarray


@dataclass
class Backtest:
    """A backtest's fixed-key document, the runs, and the record, for the report."""

    document: dict[str, Any]
    runs: list[Result]
    recorded: Recorded
    scenario: Scenario
    history: History
    unavailable: dict[str, str] = field(default_factory=dict)


def _step(times_s: np.ndarray, values: np.ndarray, grid_s: np.ndarray) -> np.ndarray:
    """The last sample at or before each grid time (the first sample before any)."""
    order = np.argsort(times_s, kind="stable")
    position = np.searchsorted(times_s[order], grid_s, side="right") - 1
    stepped: np.ndarray = values[order][np.clip(position, 0, None)]
    return stepped


def _targets_of(results: pd.Series) -> np.ndarray:
    rows = []
    for text in results.fillna(""):
        values = parse_results(str(text))
        row = []
        for name in ("$TargetDedicatedNodes", "$TargetLowPriorityNodes"):
            try:
                row.append(float(values.get(name, "nan")))
            except ValueError:
                row.append(math.nan)
        rows.append(row)
    return np.array(rows, dtype=float).reshape(-1, 2)


def recorded_series(history: History) -> Recorded:
    """The record on a one-minute grid over the window."""
    grid = np.arange(0.0, history.window_s + 1e-9, _GRID_S)
    dedicated = spot = None
    hours_dedicated = hours_spot = None
    counts = history.node_counts
    if counts is not None and len(counts):
        times = history.seconds(counts["time"])
        dedicated = _step(times, counts["dedicated"].to_numpy(float), grid)
        spot_all = counts["spot"].to_numpy(float)
        spot = _step(times, spot_all, grid)
        preempted = _step(times, counts["preempted"].fillna(0).to_numpy(float), grid)
        step_h = _GRID_S / 3600
        hours_dedicated = float(dedicated[:-1].sum() * step_h)
        hours_spot = float((spot - preempted)[:-1].sum() * step_h)
    target_times = np.empty(0)
    targets = np.empty((0, 2))
    if history.autoscale is not None and len(history.autoscale):
        frame = history.autoscale.dropna(subset=["time"])
        target_times = history.seconds(frame["time"])
        targets = _targets_of(frame["results"])
        keep = ~np.isnan(targets).all(axis=1)
        target_times, targets = target_times[keep], np.nan_to_num(targets[keep])
    tasks = history.tasks
    created = history.seconds(tasks["created"])
    started = history.seconds(tasks["started"])
    ended = history.seconds(tasks["ended"])
    once = (tasks["retry_count"].fillna(0).to_numpy() == 0) & (tasks["requeue_count"].fillna(0).to_numpy() == 0)
    waits = (started - created)[once & ~np.isnan(started) & ~np.isnan(created)]
    never = np.where(np.isnan(started), np.inf, started)
    finish = np.where(np.isnan(ended), np.inf, ended)
    arrived = np.where(np.isnan(created), never, created)
    queued = np.searchsorted(np.sort(arrived), grid, side="right") - np.searchsorted(np.sort(never), grid, side="right")
    running = np.searchsorted(np.sort(never), grid, side="right") - np.searchsorted(np.sort(finish), grid, side="right")
    return Recorded(
        grid, dedicated, spot, hours_dedicated, hours_spot, target_times, targets, waits[waits >= 0], queued, running
    )


def simulated_counts(result: Result, grid_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dedicated and Spot nodes that exist at each grid time, counted as node_counts.csv counts them."""
    nodes = result.nodes[result.nodes["state"].isin(_EXISTS)]
    out = []
    for kind in ("dedicated", "spot"):
        part = nodes[nodes["kind"] == kind]
        starts = np.sort(part["start_s"].to_numpy(float))
        ends = np.sort(part["end_s"].to_numpy(float))
        out.append(np.searchsorted(starts, grid_s, side="right") - np.searchsorted(ends, grid_s, side="right"))
    return out[0].astype(float), out[1].astype(float)


def _simulated_waits(result: Result) -> np.ndarray:
    tasks = result.tasks
    requeues = tasks["requeue_count"] if "requeue_count" in tasks else tasks["requeues"]
    once = (tasks["attempts"] <= 1) & (requeues == 0)
    waits: np.ndarray = (tasks["start_s"] - tasks["submit_s"])[once].dropna().to_numpy(float)
    return waits


def _nearest_targets(result: Result, times_s: np.ndarray) -> np.ndarray:
    evaluations = result.evaluations
    if not len(evaluations) or not len(times_s):
        return np.full((len(times_s), 2), np.nan)
    sim_times = evaluations["time_s"].to_numpy(float)
    sim_targets = evaluations[["target_dedicated", "target_spot"]].to_numpy(float)
    position = np.clip(np.searchsorted(sim_times, times_s), 1, len(sim_times) - 1) if len(sim_times) > 1 else None
    if position is None:
        return np.repeat(sim_targets[:1], len(times_s), axis=0)
    left = sim_times[position - 1]
    right = sim_times[position]
    nearest = np.where(np.abs(times_s - left) <= np.abs(right - times_s), position - 1, position)
    picked: np.ndarray = sim_targets[nearest]
    return picked


def _pair(recorded: float | None, simulated: list[float | None]) -> dict[str, Any]:
    values = [float(v) for v in simulated if v is not None and math.isfinite(v)]
    interval = prediction_interval(values)
    return {
        "recorded": recorded,
        "simulated": float(np.mean(values)) if values else None,
        "simulated_ci": None if interval is None else list(interval),
    }


def _mean_ci(values: list[float]) -> tuple[float | None, list[float] | None]:
    interval = prediction_interval(values)
    return (float(np.mean(values)) if values else None), (None if interval is None else list(interval))


@dataclass
class _Replay:
    scenario: Scenario
    replaced: list[str]
    notes: list[str]


def _prepare(history: History, scenario: Scenario | None, keep_workload: bool, workdir: Path) -> _Replay:
    """The scenario to replay the window with, and what of it was swapped for the record.

    Always the window's start and length. An autoscaled scenario starts from the recorded node
    counts (the state its formula finds, not a policy); a fixed pool keeps its sizes, which are
    its policy. Unless `keep_workload`, the recorded arrivals replace the scenario's workload and
    its failure probability (the record's, per attempt)."""
    from batchsim.scenario import load_scenario

    cal = calibrate(history, workload="trace", trace_path="recorded.trace.csv")
    files = write_calibration(cal, workdir / "recorded.yaml", history.path, force=True)
    calibrated = load_scenario(files.scenario)
    if scenario is None:
        return _Replay(calibrated, [], ["scenario: calibrate's, fitted to this history"])
    replaced: list[str] = []
    notes: list[str] = []
    update: dict[str, Any] = {"start": calibrated.start, "duration": calibrated.duration}
    if scenario.pool.autoscale is not None:
        starting = {
            "initial_dedicated": calibrated.pool.initial_dedicated,
            "initial_spot": calibrated.pool.initial_spot,
        }
        changed = {k: v for k, v in starting.items() if getattr(scenario.pool, k) != v}
        if changed:
            update["pool"] = scenario.pool.model_copy(update=changed)
            replaced += list(changed)
            notes.append(
                "starting nodes: the recorded counts at the window's start "
                + ", ".join(f"{k} {v}" for k, v in changed.items())
            )
    else:
        notes.append(
            f"a fixed pool: its sizes ({scenario.pool.initial_dedicated} dedicated, {scenario.pool.initial_spot} Spot) "
            "are its policy and are kept"
        )
    if keep_workload:
        notes.append("workload: the scenario's own (--keep-workload)")
    else:
        entry = calibrated.workload[0] if calibrated.workload else None
        if entry is not None:
            entry = entry.model_copy(update={"path": str(files.trace)})
        update["workload"] = [] if entry is None else [entry]
        replaced += ["workload", "failure_probability"]
        notes.append(
            f"workload and failure probability: the record's ({len(history.tasks)} tasks replayed) in place of "
            "the scenario's; --keep-workload simulates the scenario's own"
        )
    return _Replay(scenario.model_copy(update=update), replaced, notes)


def _history_notes(history: History) -> list[str]:
    """What the replay cannot follow: formula changes and manual resizes in the window (import records them)."""
    notes = list(history.warnings)
    changes = history.meta.get("formula_changes") or []
    if len(changes) > 1:
        times = ", ".join(str(c.get("time")) for c in changes[1:5])
        notes.append(
            f"the formula changed {len(changes) - 1} time(s) in the window (at {times}); the replay runs one "
            "formula throughout, so targets before the last change are not the ones the pool computed"
        )
    manual = history.meta.get("manual_resizes") or []
    if manual:
        times = ", ".join(str(m.get("start")) for m in manual[:5])
        notes.append(
            f"{len(manual)} manual resize(s) (autoscale off; at {times}) are not replayed: the simulation "
            "sizes the pool by the scenario's own policy throughout"
        )
    return notes


def _between_seeds(values: list[np.ndarray], distance: Callable[[np.ndarray, np.ndarray], float]) -> list[float]:
    """Every pair of runs: the distances one run is from another, the record's yardstick."""
    return [distance(values[j], values[k]) for j in range(len(values)) for k in range(j + 1, len(values))]


def _mae(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(a - b)))


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    from scipy import stats

    return float(stats.ks_2samp(a, b).statistic) if len(a) and len(b) else math.nan


def backtest(
    history: History,
    scenario: Scenario | None = None,
    *,
    seeds: int = DEFAULT_SEEDS,
    keep_workload: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Backtest:
    """Simulate the recorded window `seeds` times, compare each run with the record, and judge."""
    import batchsim

    api: Any = batchsim  # batchsim.simulate (DESIGN §5), whichever module holds the pipeline
    recorded = recorded_series(history)
    unavailable: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="batchsim-backtest-") as workdir:
        prepared = _prepare(history, scenario, keep_workload, Path(workdir))
        replay = prepared.scenario
        runs = []
        for k in range(seeds):
            runs.append(api.simulate(replay, seed=replay.seed + k))
            if progress is not None:
                progress(k + 1, seeds)
    # The prices the runs were billed at (summary extensions), for the record's cost too.
    price_dedicated = float(runs[0].summary["price_dedicated_per_hour"])
    price_spot = float(runs[0].summary["price_spot_per_hour"])
    counts = [simulated_counts(run, recorded.grid_s) for run in runs]
    sim_waits = [_simulated_waits(run) for run in runs]
    nearest = [_nearest_targets(run, recorded.target_times_s) for run in runs] if len(recorded.target_times_s) else []
    if nearest and all(np.isnan(n).all() for n in nearest):
        nearest = []
        unavailable["targets_mae"] = "the scenario does not autoscale: no simulated evaluation to compare"
    dedicated_mae: list[float] = []
    spot_mae: list[float] = []
    if recorded.dedicated is not None and recorded.spot is not None:
        dedicated_mae = [_mae(c[0], recorded.dedicated) for c in counts]
        spot_mae = [_mae(c[1], recorded.spot) for c in counts]
    targets_mae = [float(np.nanmean(np.abs(n - recorded.targets).sum(axis=1))) for n in nearest]
    if recorded.dedicated is None:
        unavailable["nodes_dedicated_mae"] = "no node_counts.csv (pull with --resource-id)"
        unavailable["nodes_spot_mae"] = unavailable["nodes_dedicated_mae"]
        unavailable["node_hours"] = unavailable["nodes_dedicated_mae"]
        unavailable["cost_usd"] = unavailable["nodes_dedicated_mae"]
    if not len(recorded.target_times_s):
        unavailable["targets_mae"] = "no autoscale.csv with results"
    all_waits = np.concatenate(sim_waits) if sim_waits else np.empty(0)
    if not len(recorded.waits_s):
        unavailable["wait_s"] = "no task with both a creation and a start time"
    recorded_hours = (
        None
        if recorded.node_hours_dedicated is None or recorded.node_hours_spot is None
        else recorded.node_hours_dedicated + recorded.node_hours_spot
    )
    recorded_cost = (
        None
        if recorded.node_hours_dedicated is None or recorded.node_hours_spot is None
        else recorded.node_hours_dedicated * price_dedicated + recorded.node_hours_spot * price_spot
    )

    def quantile(values: np.ndarray, q: float) -> float | None:
        return float(np.percentile(values, q)) if len(values) else None  # 0 s is a median, not a missing one

    hours = [float(r.summary["node_hours_dedicated"] + r.summary["node_hours_spot"]) for r in runs]
    costs = [float(r.summary["cost_usd"]) for r in runs]
    p50 = [quantile(w, 50) for w in sim_waits]
    p95 = [quantile(w, 95) for w in sim_waits]
    ks_to_record = [_ks(recorded.waits_s, w) for w in sim_waits] if len(recorded.waits_s) else []
    document: dict[str, Any] = {
        "window": {"start": iso(history.window_start), "end": iso(history.window_end)},
        "nodes_dedicated_mae": None,
        "nodes_spot_mae": None,
        "node_hours": _pair(recorded_hours, list(hours)),
        "wait_s_p50": _pair(quantile(recorded.waits_s, 50), p50),
        "wait_s_p95": _pair(quantile(recorded.waits_s, 95), p95),
        "wait_ks": _ks(recorded.waits_s, all_waits) if len(recorded.waits_s) and len(all_waits) else None,
        "targets_mae": None,
        "cost_usd": _pair(recorded_cost, list(costs)),
    }
    for key, values in (
        ("nodes_dedicated_mae", dedicated_mae),
        ("nodes_spot_mae", spot_mae),
        ("targets_mae", targets_mae),
        ("wait_ks", ks_to_record),
    ):
        mean, interval = _mean_ci(values)
        if key != "wait_ks":
            document[key] = mean
        document[f"{key}_ci"] = interval
    checks = [
        c
        for c in (
            value_check("node_hours", recorded_hours, hours, "node-hours"),
            value_check("wait_s_p50", document["wait_s_p50"]["recorded"], p50, "s", floor=WAIT_TOLERANCE_S),
            value_check("wait_s_p95", document["wait_s_p95"]["recorded"], p95, "s", floor=WAIT_TOLERANCE_S),
            value_check("cost_usd", recorded_cost, costs, "USD"),
            distance_check(
                "nodes_dedicated_mae",
                dedicated_mae,
                _between_seeds([c[0] for c in counts], _mae) if dedicated_mae else [],
                "nodes",
                NODE_TOLERANCE,
            ),
            distance_check(
                "nodes_spot_mae",
                spot_mae,
                _between_seeds([c[1] for c in counts], _mae) if spot_mae else [],
                "nodes",
                NODE_TOLERANCE,
            ),
            distance_check(
                "targets_mae",
                targets_mae,
                _between_seeds(nearest, lambda a, b: float(np.nanmean(np.abs(a - b).sum(axis=1)))),
                "nodes",
                NODE_TOLERANCE,
            ),
            distance_check(
                "wait_ks",
                ks_to_record,
                _between_seeds(sim_waits, _ks),
                "(KS statistic)",
                ks_tolerance(len(recorded.waits_s), int(np.median([len(w) for w in sim_waits]))),
            ),
        )
        if c is not None
    ]
    checked = {c.metric for c in checks}
    unchecked = [m for m in _METRICS if m not in checked]
    notes = prepared.notes + _history_notes(history)
    document.update(
        {
            "seeds": seeds,
            "replaced": prepared.replaced,
            "verdict": verdict(checks, unchecked, seeds),
            # Extensions.
            "scenario": replay.name,
            "tasks": {
                "recorded": len(history.tasks),
                "simulated": float(np.mean([r.summary["tasks_submitted"] for r in runs])),
            },
            "notes": notes,
            "unavailable": unavailable,
        }
    )
    return Backtest(document, runs, recorded, replay, history, unavailable)


def score_rows(document: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(metric, recorded, simulated, simulated 95 % interval, verdict) rows for the text table and report."""

    def text(value: Any) -> str:
        return "-" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)

    def interval(values: list[float] | None) -> str:
        return "-" if not values else f"[{text(values[0])}, {text(values[1])}]"

    checks = document.get("verdict", {}).get("metrics", {})
    rows = []
    for key in _METRICS:
        check = checks.get(key)
        mark = "-" if check is None else "inside" if check["inside"] else "OUTSIDE"
        units = "" if check is None else f" {check['units']}"
        if isinstance(document[key], dict):
            pair = document[key]
            rows.append(
                (key, text(pair["recorded"]), text(pair["simulated"]) + units, interval(pair["simulated_ci"]), mark)
            )
        else:
            # A distance: the record's to the runs; its interval is between two runs.
            between = None if check is None else check["simulated_ci"]
            record = text(check["recorded"]) if check is not None else text(document[key])
            rows.append((key, record + units, "between seeds", interval(between), mark))
    return rows
