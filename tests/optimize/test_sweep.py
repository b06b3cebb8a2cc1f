"""Sweeps: the same results on local processes and on a real Dask LocalCluster; resumable."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchsim.cli import app
from batchsim.optimize.sweep import sweep

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "spot-first.yaml"
GRID = {"pool.spot.eviction_rate_per_hour": ["0.05", "0.5"], "duration": ["1h"]}
COLUMNS = ["pool.spot.eviction_rate_per_hour", "seed", "cost_usd", "wait_s_p95", "tasks_completed", "preemptions"]


def test_local_and_dask_give_identical_results(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    local = sweep(SCENARIO, GRID, [1, 2], tmp_path / "local", workers=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = sweep(SCENARIO, GRID, [1, 2], tmp_path / "dask", executor="dask", scheduler=cluster.scheduler_address)
    assert len(local) == 4
    assert local[COLUMNS].equals(remote[COLUMNS])
    assert local.groupby("pool.spot.eviction_rate_per_hour")["preemptions"].mean().is_monotonic_increasing


def test_an_interrupted_sweep_resumes(tmp_path: Path) -> None:
    first = sweep(SCENARIO, {"duration": ["1h"]}, [1], tmp_path, workers=1)
    runs = sorted((tmp_path / "runs").glob("*.json"))
    stamp = runs[0].stat().st_mtime_ns
    again = sweep(SCENARIO, {"duration": ["1h"]}, [1, 2], tmp_path, workers=1)
    assert runs[0].stat().st_mtime_ns == stamp  # the finished run was not redone
    assert len(again) == 2 and again.loc[0, "cost_usd"] == first.loc[0, "cost_usd"]


def test_cli_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    bad_key = runner.invoke(
        app, ["sweep", str(SCENARIO), "--grid", "pool.initial_dedicatd=1,2", "--out", str(tmp_path)]
    )
    assert bad_key.exit_code == 1 and "unknown key" in bad_key.output
    no_scheduler = runner.invoke(
        app, ["sweep", str(SCENARIO), "--grid", "duration=1h", "--executor", "dask", "--out", str(tmp_path)]
    )
    assert no_scheduler.exit_code == 1 and "--scheduler" in no_scheduler.output
    unreachable = runner.invoke(
        app,
        [
            "sweep",
            str(SCENARIO),
            "--grid",
            "duration=1h",
            "--executor",
            "dask",
            "--scheduler",
            "tcp://127.0.0.1:9",
            "--out",
            str(tmp_path),
        ],
    )
    assert unreachable.exit_code == 1 and "cannot reach the Dask scheduler" in unreachable.output
