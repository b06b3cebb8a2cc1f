"""`batchsim calibrate`: the scenario loads and simulates as written, every estimate in the fixed shape."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from typer.testing import CliRunner

from batchsim import simulate
from batchsim.cli import app
from batchsim.history.calibrate import calibrate, job_group, service_duration_s
from batchsim.history.directory import read_history
from batchsim.scenario import load_scenario

runner = CliRunner()
SHAPE = {"estimate", "low", "high", "n", "source"}


def test_trace_calibration_loads_simulates_and_has_the_fixed_shape(history_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan" / "render.yaml"
    result = runner.invoke(app, ["calibrate", str(history_dir), "--out", str(out), "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert Path(document["trace"]).name == "render.trace.csv"
    block = document["calibration"]
    for key, row in block.items():
        assert set(row) == SHAPE, key
        if row["estimate"] is not None:
            assert row["low"] <= row["estimate"] <= row["high"], key
            assert row["n"] > 0
        else:
            assert row["n"] == 0 and row["source"].startswith("default: ")
    for key in (
        "pool.provisioning_delay.dedicated.median",
        "pool.provisioning_delay.spot.sigma",
        "pool.spot.eviction_rate_per_hour",
        "workload.0.rate_per_hour",
        "workload.0.task_duration.median",
        "workload.0.failure_probability",
    ):
        assert block[key]["estimate"] is not None, key
    assert block["pool.start_task.duration.median"]["source"].startswith("default: ")
    scenario = load_scenario(out)
    assert scenario.calibration is not None and set(scenario.calibration) == set(block)
    assert scenario.pool.autoscale is not None and "PendingTasks" in scenario.formula_text()  # type: ignore[operator]
    assert scenario.pool.task_slots_per_node == 2 and scenario.duration == 24 * 3600
    run = simulate(scenario)
    history = read_history(history_dir)
    assert run.summary["tasks_submitted"] == len(history.tasks)


def test_running_tasks_are_censored_not_cut(history_dir: Path) -> None:
    history = read_history(history_dir)
    cal = calibrate(history, workload="trace")
    assert cal.trace is not None
    tasks = history.tasks
    running = tasks["ended"].isna() & tasks["started"].notna()
    assert running.any()
    elapsed = (history.window_end - tasks.loc[running, "started"]).dt.total_seconds().to_numpy()
    submit = history.seconds(tasks["created"])
    # The trace is sorted by arrival; find each running task's row by its arrival time.
    trace = cal.trace.set_index("submit_s")
    durations = trace.loc[np.round(submit[running.to_numpy()], 3), "duration_s"].to_numpy()
    assert (durations >= elapsed - 1e-3).all()  # each runs past the window's end, as it did


def test_fitted_calibration_has_hourly_rates_per_group(history_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "fitted.yaml"
    result = runner.invoke(app, ["calibrate", str(history_dir), "--out", str(out), "--workload", "fitted"])
    assert result.exit_code == 0, result.output
    assert "workload.0.hourly_rates_per_hour.6" in result.output
    document = yaml.safe_load(out.read_text())
    (entry,) = document["workload"]
    assert entry["kind"] == "diurnal" and entry["job"] == "render" and len(entry["hourly_rates_per_hour"]) == 24
    assert entry["priority"] == 5 and entry["task_duration"]["dist"] == "lognormal"
    assert "weekday_factors" not in entry  # a day says nothing about weekdays
    assert not (tmp_path / "fitted.trace.csv").exists()
    assert simulate(load_scenario(out)).summary["tasks_submitted"] > 0


def test_existing_files_are_kept_without_force(history_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.yaml"
    out.write_text("keep")
    result = runner.invoke(app, ["calibrate", str(history_dir), "--out", str(out)])
    assert result.exit_code == 1 and "--force" in result.output and out.read_text() == "keep"
    assert runner.invoke(app, ["calibrate", str(tmp_path / "none"), "--out", str(out)]).exit_code == 1


def test_a_history_without_optional_files_names_what_kept_its_default(history_dir: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("pool.json", "tasks.csv", "history.json"):
        (bare / name).write_bytes((history_dir / name).read_bytes())
    cal = calibrate(read_history(bare))
    block = cal.block()
    assert block["pool.spot.eviction_rate_per_hour"]["source"] == "default: no node_counts.csv"
    assert block["pool.provisioning_delay.dedicated.median"]["source"].startswith("default: no resizes.csv")
    assert any("starts empty" in note for note in cal.notes)


def test_a_job_without_execution_info_and_a_pool_outside_the_catalog(history_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "odd"
    root.mkdir()
    pool = json.loads((history_dir / "pool.json").read_text())
    pool.update(vmSize="standard_hb120rs_v3", location="antarctica")
    (root / "pool.json").write_text(json.dumps(pool))
    tasks = pd.read_csv(history_dir / "tasks.csv", dtype=str, keep_default_na=False)
    tasks.loc[:4, ["started", "ended", "exit_code", "node_id"]] = ""  # queued, never ran
    tasks.loc[5:9, "created"] = ""  # as service logs record them: no creation time
    tasks.to_csv(root / "tasks.csv", index=False)
    (root / "history.json").write_bytes((history_dir / "history.json").read_bytes())
    from batchsim.history.scenario_file import trace_path_for, write_calibration

    out = tmp_path / "odd.yaml"
    cal = calibrate(read_history(root), trace_path=trace_path_for(out).name)
    assert cal.document["prices"]["source"].startswith("batchsim default")
    assert any("no creation time" in note for note in cal.notes)

    write_calibration(cal, out, root)
    assert simulate(load_scenario(out)).summary["tasks_submitted"] == len(tasks)


def test_helpers() -> None:
    assert service_duration_s("PT15M") == 900 and service_duration_s("PT05M00S") == 300
    assert service_duration_s("P1DT2H") == 93600 and service_duration_s("") is None
    assert service_duration_s("15 minutes") is None
    assert job_group("render-2026-03-02-17") == "render" and job_group("etl_42") == "etl"
    assert job_group("1234") == "1234"
