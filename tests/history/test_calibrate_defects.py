"""Issue 22 §2: calibrations that crashed or gave a wrong number on real-looking histories.

Each test builds the history by hand (or from the documented service log event bodies of
test_import: learn.microsoft.com/azure/batch/batch-task-start-event, batch-task-requeue-event,
batch-pool-resize-complete-event), so the expected number comes from the record itself.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from test_import import documented_events, resource_log
from typer.testing import CliRunner

from batchsim.cli import app
from batchsim.history.calibrate import calibrate
from batchsim.history.directory import TASK_COLUMNS, read_history
from batchsim.history.estimators import SIGMA_BOUNDS, fit_max_lognormal
from batchsim.scenario import load_scenario

runner = CliRunner()
START = pd.Timestamp("2026-03-02T00:00:00Z")


def _iso(seconds: float) -> str:
    return (START + pd.Timedelta(seconds=float(seconds))).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def write_history(
    root: Path,
    submit_s: np.ndarray,
    *,
    duration_s: float = 120.0,
    pool: dict[str, Any] | None = None,
    window_s: float | None = None,
    extra: dict[str, str] | None = None,
) -> Path:
    """pool.json, tasks.csv (each task created at `submit_s`, started then, ended `duration_s` later),
    history.json with the window [0, window_s] when given, and any `extra` files as text."""
    root.mkdir(parents=True)
    document = {"id": "render", "vmSize": "standard_d2s_v3", "location": "eastus", "taskSlotsPerNode": 1}
    document.update(pool or {"enableAutoScale": False, "targetDedicatedNodes": 2, "targetLowPriorityNodes": 0})
    (root / "pool.json").write_text(json.dumps(document))
    rows = [
        {
            "job_id": "render-1",
            "task_id": f"t{k}",
            "created": _iso(t),
            "started": _iso(t),
            "ended": _iso(t + duration_s),
            "required_slots": 1,
            "state": "completed",
            "exit_code": 0,
            "retry_count": 0,
            "requeue_count": 0,
        }
        for k, t in enumerate(submit_s)
    ]
    pd.DataFrame(rows).reindex(columns=TASK_COLUMNS).to_csv(root / "tasks.csv", index=False)
    if window_s is not None:
        (root / "history.json").write_text(json.dumps({"window": {"start": _iso(0), "end": _iso(window_s)}}))
    for name, text in (extra or {}).items():
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize("window_h", [7 * 24, 7 * 24 - 0.5])
def test_a_week_fits_weekday_factors_and_writes_yaml(tmp_path: Path, window_h: float) -> None:
    # Day d of the week gets 40 × (d + 1) tasks: the weekday factors are (d + 1) / mean(d + 1) = (d + 1) / 4.
    window_s = window_h * 3600
    rng = np.random.default_rng(5)
    submit = np.concatenate(
        [d * 86400 + rng.uniform(0, min(86400, window_s - d * 86400), 40 * (d + 1)) for d in range(7)]
    )
    history = write_history(tmp_path / "h", np.sort(submit), window_s=window_s)
    out = tmp_path / "fitted.yaml"
    result = runner.invoke(app, ["calibrate", str(history), "--out", str(out), "--workload", "fitted"])
    assert result.exit_code == 0, result.output  # was: RepresenterError on a numpy float
    (entry,) = yaml.safe_load(out.read_text())["workload"]
    exposure_h = np.minimum(24.0, window_h - 24.0 * np.arange(7))
    overall = len(submit) / window_h
    expected = 40 * np.arange(1, 8) / exposure_h / overall
    assert entry["weekday_factors"] == pytest.approx(expected, rel=1e-3)
    load_scenario(out)


# Resize durations rounded to the minute (as a portal export shows them) that made the slowest-of-n
# likelihood take log(0): "math domain error". Truth: dedicated LN(360 s, 0.35), Spot LN(420 s, 0.5).
ROUNDED_DURATIONS = np.array([1260, 420, 360, 360, 1260, 900, 840, 780, 960, 660, 1020, 540, 840, 720, 780, 240.0])
ROUNDED_ADDED = np.array(
    [
        [9, 1],
        [7, 1],
        [1, 0],
        [2, 0],
        [0, 15],
        [2, 8],
        [3, 9],
        [0, 10],
        [4, 8],
        [9, 3],
        [9, 7],
        [9, 3],
        [5, 7],
        [9, 3],
        [5, 8],
        [1, 0],
    ],
    dtype=float,
)


def test_resize_fit_on_rounded_durations_is_bounded_and_finite() -> None:
    completed = np.r_[np.ones(15, bool), False]
    result = fit_max_lognormal(ROUNDED_DURATIONS, ROUNDED_ADDED, completed)
    for fit in result.fits:
        assert fit is not None
        assert SIGMA_BOUNDS[0] < fit.sigma < SIGMA_BOUNDS[1]
        assert all(math.isfinite(v) for v in (fit.median_low, fit.median_high, fit.sigma_low, fit.sigma_high))
        assert fit.median < ROUNDED_DURATIONS.max()  # no node's median past the slowest resize
    dedicated = result.fits[0]
    assert dedicated is not None and dedicated.median_low <= 360 <= dedicated.median_high


def test_identical_resize_durations_are_refused_with_the_reason(tmp_path: Path) -> None:
    # Twelve one-node resizes of exactly 300 s: no spread is in the data, and the likelihood grows
    # without bound as sigma → 0. The fit is refused (the default delay kept) and says why.
    completed = np.ones(12, bool)
    result = fit_max_lognormal(np.full(12, 300.0), np.ones((12, 1)), completed)
    assert result.fits == [None] and "do not determine" in result.refused[0]
    resizes = pd.DataFrame(
        {
            "start": [_iso(3600 * k) for k in range(12)],
            "end": [_iso(3600 * k + 300) for k in range(12)],
            "target_dedicated": range(1, 13),
            "target_spot": 0,
            "current_dedicated": range(1, 13),
            "current_spot": 0,
            "result_code": "Success",
            "from_dedicated": range(12),
            "from_spot": 0,
        }
    )
    history = write_history(
        tmp_path / "h", np.arange(0, 43200, 600.0), window_s=43200, extra={"resizes.csv": resizes.to_csv(index=False)}
    )
    cal = calibrate(read_history(history))
    row = cal.block()["pool.provisioning_delay.dedicated.sigma"]
    assert row["estimate"] is None and "do not determine" in row["source"]
    assert any("default delay is kept" in note for note in cal.notes)


def test_nodes_added_are_the_nodes_a_resize_completed_with(tmp_path: Path) -> None:
    # 40 resizes asked for 10 nodes each but completed with one (current 1): each duration is one
    # node's delay, LN(300 s, 0.3). Counting target − from (10) made it the slowest of 10.
    rng = np.random.default_rng(11)
    delays = rng.lognormal(math.log(300), 0.3, 40)
    starts = 3600.0 * np.arange(40)
    resizes = pd.DataFrame(
        {
            "start": [_iso(t) for t in starts],
            "end": [_iso(t + d) for t, d in zip(starts, delays, strict=True)],
            "target_dedicated": 10,
            "target_spot": 0,
            "current_dedicated": 1,
            "current_spot": 0,
            "result_code": "Success",
            "from_dedicated": 0,
            "from_spot": 0,
        }
    )
    history = write_history(
        tmp_path / "h", np.arange(0, 40 * 3600, 900.0), window_s=40 * 3600, extra={"resizes.csv": resizes.to_csv()}
    )
    row = calibrate(read_history(history)).block()["pool.provisioning_delay.dedicated.median"]
    assert row["low"] <= 300 <= row["high"], row


def _import(tmp_path: Path, events: list[tuple[str, str, dict[str, Any]]]) -> Path:
    logs = tmp_path / "logs.json"
    logs.write_text("\n".join(json.dumps(resource_log(*event)) for event in events) + "\n")
    out = tmp_path / "imported"
    result = runner.invoke(app, ["history", "import", str(logs), "--out", str(out), "--pool", "render"])
    assert result.exit_code == 0, result.output
    return out


def test_a_retried_task_arrives_at_its_first_start(tmp_path: Path) -> None:
    # t2 first starts at 10:07:01 (TaskStartEvent, retryCount 0), fails, and its retry starts at
    # 10:10:00.100 (the TaskCompleteEvent's executionInfo.startTime, the last attempt's).
    history = read_history(_import(tmp_path, documented_events()))
    cal = calibrate(history)
    assert cal.trace is not None
    first_start_s = (pd.Timestamp("2026-03-02T10:07:01Z") - history.window_start).total_seconds()
    task = history.tasks.set_index("task_id").loc["t2"]
    assert str(task["started"]) == "2026-03-02 10:10:00.100000+00:00"  # the last attempt, as documented
    assert first_start_s in set(cal.trace["submit_s"])


def test_a_requeue_logged_after_the_restart_leaves_the_task_running(tmp_path: Path) -> None:
    # t3's requeue (its attempt ran 10:13–10:14) is logged at 10:16, after its restart at 10:15.
    events = []
    for name, time, body in documented_events():
        if name == "TaskRequeueEvent":
            time = "2026-03-02T10:16:30.0000000Z"
        events.append((name, time, body))
    tasks = read_history(_import(tmp_path, events)).tasks.set_index("task_id")
    assert tasks.loc["t3", "state"] == "running"
    assert str(tasks.loc["t3", "started"]) == "2026-03-02 10:15:00+00:00"
    assert tasks.loc["t3", "requeue_count"] == 1


def test_a_file_running_past_the_tasks_is_said(tmp_path: Path) -> None:
    # 100 tasks an hour for 10 h; a resizes.csv running on 18 h past them, no history.json window.
    submit = np.linspace(0, 36000, 1000, endpoint=False)
    resizes = pd.DataFrame(
        {"start": [_iso(0), _iso(100000)], "end": [_iso(300), _iso(100300)], "target_dedicated": 1, "target_spot": 0}
    )
    history = read_history(write_history(tmp_path / "h", submit, extra={"resizes.csv": resizes.to_csv(index=False)}))
    assert any("resizes.csv ends 17.8 h after the last task time" in w for w in history.warnings)
    cal = calibrate(history)
    assert any("resizes.csv ends" in note for note in cal.notes)
    quiet = read_history(write_history(tmp_path / "quiet", submit))
    assert quiet.warnings == []


def test_a_fixed_pool_keeps_its_target(tmp_path: Path) -> None:
    # Target 20 Spot; the window starts with one of them preempted (19 running): the pool's size is 20.
    counts = pd.DataFrame(
        {"time": [_iso(0), _iso(600)], "dedicated": [0, 0], "spot": [20, 20], "preempted": [1, 0]}
    ).to_csv(index=False)
    history = write_history(
        tmp_path / "h",
        np.arange(0, 3600, 60.0),
        pool={"enableAutoScale": False, "targetDedicatedNodes": 0, "targetLowPriorityNodes": 20},
        window_s=3600,
        extra={"node_counts.csv": counts},
    )
    pool = calibrate(read_history(history)).document["pool"]
    assert (pool["initial_dedicated"], pool["initial_spot"]) == (0, 20)
