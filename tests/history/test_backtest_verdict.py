"""Issue 22 §3: a backtest that says what it replaced and whether the scenario reproduces the record.

The truth behind `history_dir` is `truth.make_scenario` (24 h): that scenario must be judged to
reproduce it; the same scenario with ten times the Spot eviction rate, or a fixed pool of the
wrong size, must not.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from test_calibrate_defects import _import, _iso, write_history
from test_import import documented_events
from truth import make_scenario
from typer.testing import CliRunner

from batchsim.cli import app
from batchsim.history.backtest import backtest
from batchsim.history.backtest_report import draw_nodes, draw_queue
from batchsim.history.directory import read_history
from batchsim.history.verdict import prediction_interval
from batchsim.scenario import load_scenario

runner = CliRunner()


def test_the_true_scenario_reproduces_its_record(history_dir: Path, tmp_path: Path) -> None:
    scenario = make_scenario(tmp_path, duration="24h")
    document = backtest(read_history(history_dir), scenario).document
    assert document["seeds"] == 5  # the default
    verdict = document["verdict"]
    assert verdict["reproduces"] is True and verdict["failing"] == [], verdict["summary"]
    assert verdict["summary"].startswith("reproduces the record: all 8 metrics")
    for metric, check in verdict["metrics"].items():
        assert check["inside"] and check["units"], metric
    for key in ("node_hours", "wait_s_p50", "wait_s_p95", "cost_usd"):
        low, high = document[key]["simulated_ci"]
        assert low <= document[key]["simulated"] <= high
    for key in ("nodes_dedicated_mae", "nodes_spot_mae", "targets_mae", "wait_ks"):
        assert len(document[f"{key}_ci"]) == 2
    assert document["replaced"] == ["workload", "failure_probability"]


def test_a_wrong_eviction_rate_does_not_reproduce_it(history_dir: Path, tmp_path: Path) -> None:
    # Truth 0.3 evictions per Spot node-hour; the scenario says 3.
    wrong = make_scenario(tmp_path, duration="24h", eviction=3.0)
    verdict = backtest(read_history(history_dir), wrong).document["verdict"]
    assert verdict["reproduces"] is False
    assert "nodes_spot_mae" in verdict["failing"]
    assert verdict["summary"].startswith("does not reproduce the record: ")
    assert "nodes from the record" in verdict["summary"]


def test_a_fixed_pool_keeps_its_sizes_and_can_fail(history_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "fixed.yaml"
    make_scenario(tmp_path, duration="24h")
    text = (tmp_path / "truth.yaml").read_text()
    fixed = text.split("  autoscale:")[0].replace("pool:\n", "pool:\n  initial_dedicated: 3\n  initial_spot: 5\n")
    path.write_text(fixed + "workload: []\n")
    result = runner.invoke(app, ["backtest", str(history_dir), "--scenario", str(path), "--seeds", "2"])
    assert result.exit_code == 0, result.output
    assert "a fixed pool: its sizes (3 dedicated, 5 Spot) are its policy and are kept" in result.output
    assert "verdict: does not reproduce the record: node_hours" in result.output
    assert "not computed: targets_mae: the scenario does not autoscale" in result.output
    document = backtest(read_history(history_dir), load_scenario(path), seeds=2).document
    assert "initial_spot" not in document["replaced"]
    assert document["targets_mae"] is None


def test_keep_workload_is_the_other_choice(history_dir: Path, tmp_path: Path) -> None:
    make_scenario(tmp_path, duration="24h")
    result = runner.invoke(
        app,
        [
            "backtest",
            str(history_dir),
            "--scenario",
            str(tmp_path / "truth.yaml"),
            "--seeds",
            "2",
            "--keep-workload",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert "workload" not in document["replaced"]
    assert any("--keep-workload" in note for note in document["notes"])


def test_a_zero_median_wait_is_zero_not_null(tmp_path: Path) -> None:
    # A fixed pool of two nodes and a task every ten minutes: nobody waits, in the record or the replay.
    submit = np.arange(0, 6 * 3600, 600.0)
    counts = pd.DataFrame({"time": [_iso(0)], "dedicated": [2], "spot": [0], "preempted": [0]}).to_csv(index=False)
    history = read_history(write_history(tmp_path / "h", submit, window_s=6 * 3600, extra={"node_counts.csv": counts}))
    document = backtest(history, seeds=2).document
    assert document["wait_s_p50"]["recorded"] == 0.0
    assert document["wait_s_p50"]["simulated"] == 0.0  # was null: `quantile(...) or math.nan`
    assert document["verdict"]["metrics"]["wait_s_p50"]["inside"] is True


def test_formula_changes_and_manual_resizes_are_said(tmp_path: Path) -> None:
    # A second formula from 10:20 on, and a manual resize (enableAutoScale false) at 10:21
    # (batch-pool-resize-start-event documents enableAutoScale in the body).
    events = documented_events()
    events.append(
        (
            "PoolAutoScaleEvent",
            "2026-03-02T10:25:00.5000000Z",
            {
                "id": "render",
                "timestamp": "2026-03-02T10:25:00.204Z",
                "formula": "$TargetDedicatedNodes = 1;",
                "results": "$TargetDedicatedNodes=1;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue",
            },
        )
    )
    events.append(
        (
            "PoolResizeStartEvent",
            "2026-03-02T10:26:00.0000000Z",
            {
                "id": "render",
                "currentDedicatedNodes": 1,
                "targetDedicatedNodes": 3,
                "currentLowPriorityNodes": 0,
                "targetLowPriorityNodes": 0,
                "enableAutoScale": False,
                "isAutoPool": False,
            },
        )
    )
    history = read_history(_import(tmp_path, events))
    assert [c["time"] for c in history.meta["formula_changes"]] == [
        "2026-03-02T10:00:00.204Z",
        "2026-03-02T10:25:00.204Z",
    ]
    assert history.meta["manual_resizes"] == [
        {"start": "2026-03-02T10:26:00Z", "target_dedicated": 3, "target_spot": 0}
    ]
    notes = backtest(history, seeds=1).document["notes"]
    assert any("the formula changed 1 time(s) in the window (at 2026-03-02T10:25:00.204Z)" in n for n in notes)
    assert any("1 manual resize(s)" in n and "not replayed" in n for n in notes)


def test_record_and_simulation_share_one_time_axis(history_dir: Path) -> None:
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure

    result = backtest(read_history(history_dir), seeds=1)
    start = mdates.date2num(pd.Timestamp("2026-03-02T00:00:00").to_datetime64())
    for draw in (draw_nodes, draw_queue):
        ax = draw(result, Figure().subplots())
        for line in ax.get_lines():
            raw = np.asarray(line.get_xdata())
            if raw.size == 0:  # a legend's proxy line draws nothing
                continue
            x = raw.astype(float) if np.issubdtype(raw.dtype, np.number) else np.asarray(mdates.date2num(raw))
            assert start - 1e-6 <= x.min() and x.max() <= start + 1 + 1e-6, (draw.__name__, line.get_label())


def test_the_interval_is_one_more_runs() -> None:
    # Values 1..5: mean 3, s = 1.5811, t(0.975, 4) = 2.7764: 3 ± 2.7764 × 1.5811 × √1.2 = 3 ± 4.809.
    low, high = prediction_interval([1.0, 2.0, 3.0, 4.0, 5.0]) or (0.0, 0.0)
    assert abs(low - (3 - 4.8088)) < 1e-3 and abs(high - (3 + 4.8088)) < 1e-3
    assert prediction_interval([2.0]) == (2.0, 2.0) and prediction_interval([]) is None
