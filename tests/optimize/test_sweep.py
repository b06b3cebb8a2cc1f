"""Sweeps: the same results on local processes and on a real Dask LocalCluster; resumable, keyed on
what was run; corrupt runs redone; JSON strict; choices validated."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import batchsim
from batchsim.cli import app
from batchsim.optimize.sweep import summarize, sweep

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "spot-first.yaml"
GRID = {"pool.spot.eviction_rate_per_hour": ["0.05", "0.5"], "duration": ["1h"]}
COLUMNS = ["pool.spot.eviction_rate_per_hour", "seed", "cost_usd", "wait_s_p95", "tasks_completed", "preemptions"]


def _strict(text: str) -> object:
    def refuse(name: str) -> None:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def test_local_and_dask_give_identical_results(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    local = sweep(SCENARIO, GRID, [1, 2], tmp_path / "local", workers=2, records=False).table
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        remote = sweep(
            SCENARIO,
            GRID,
            [1, 2],
            tmp_path / "dask",
            executor="dask",
            scheduler=cluster.scheduler_address,
            records=False,
        ).table
    assert len(local) == 4
    assert local[COLUMNS].equals(remote[COLUMNS])
    assert local.groupby("pool.spot.eviction_rate_per_hour")["preemptions"].mean().is_monotonic_increasing


def _scenario_with_formula_file(tmp_path: Path, formula: str) -> Path:
    (tmp_path / "f.formula").write_text(formula)
    text = SCENARIO.read_text().replace("../formulas/spot-first.formula", "f.formula")
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


def test_an_interrupted_sweep_resumes_and_reruns_what_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _scenario_with_formula_file(tmp_path, "$TargetDedicatedNodes = 2;")
    out = tmp_path / "out"
    first = sweep(path, {"duration": ["1h"]}, [1], out, workers=1).table
    runs = sorted((out / "runs").glob("*/sweep.json"))
    stamp = runs[0].stat().st_mtime_ns
    again = sweep(path, {"duration": ["1h"]}, [1, 2], out, workers=1).table
    assert runs[0].stat().st_mtime_ns == stamp  # the finished run was not redone
    assert len(again) == 2 and again.loc[0, "cost_usd"] == first.loc[0, "cost_usd"]
    # Editing the formula file the scenario points to makes every run new (it was silently reused before).
    (tmp_path / "f.formula").write_text("$TargetDedicatedNodes = 6;")
    edited = sweep(path, {"duration": ["1h"]}, [1], out, workers=1).table
    assert edited.loc[0, "cost_usd"] > 2 * first.loc[0, "cost_usd"]
    # So does another batchsim version.
    monkeypatch.setattr(batchsim, "__version__", "99.0")
    before = len(list((out / "runs").glob("*/sweep.json")))
    sweep(path, {"duration": ["1h"]}, [1], out, workers=1)
    assert len(list((out / "runs").glob("*/sweep.json"))) == before + 1


def test_a_corrupt_run_is_named_and_redone(tmp_path: Path) -> None:
    sweep(SCENARIO, {"duration": ["1h"]}, [1, 2], tmp_path, workers=1, records=False)
    victim = sorted((tmp_path / "runs").glob("*/sweep.json"))[0]
    victim.write_text('{"summary": {"cost_us')  # what a crash mid-write by another tool leaves
    warnings: list[str] = []
    result = sweep(
        SCENARIO, {"duration": ["1h"]}, [1, 2], tmp_path, workers=1, records=False, on_warning=warnings.append
    )
    assert len(warnings) == 1 and str(victim) in warnings[0]
    assert len(result.table) == 2 and (tmp_path / "results.csv").is_file()
    assert json.loads(victim.read_text())["summary"]["cost_usd"] > 0


def test_runs_are_report_directories_and_output_has_intervals(tmp_path: Path) -> None:
    runner = CliRunner()
    args = [
        "sweep",
        str(SCENARIO),
        "--grid",
        "duration=1h,2h",
        "--seeds",
        "3",
        "--workers",
        "2",
        "--out",
        str(tmp_path),
    ]
    text = runner.invoke(app, args)
    assert text.exit_code == 0, text.output
    assert "cost (USD)" in text.output and "±" in text.output and "p95 wait (s)" in text.output
    listed = runner.invoke(app, [*args, "--format", "json"])
    assert listed.exit_code == 0, listed.output
    rows = _strict(listed.stdout)
    assert isinstance(rows, list) and [r["variant"]["duration"] for r in rows] == ["1h", "2h"]
    assert all(r["runs"] == 3 and r["cost_usd_ci"] > 0 for r in rows)
    run_dir = next((tmp_path / "runs").iterdir())
    report = runner.invoke(app, ["report", str(run_dir), "--out", str(tmp_path / "r.html")])
    assert report.exit_code == 0, report.output
    assert (tmp_path / "r.html").stat().st_size > 1000


def test_summarize_groups_by_variant(tmp_path: Path) -> None:
    result = sweep(SCENARIO, {"duration": ["1h"]}, [1, 2, 3], tmp_path, workers=1, records=False)
    (row,) = summarize(result)
    costs = result.table["cost_usd"]
    assert row["runs"] == 3 and row["cost_usd"] == pytest.approx(costs.mean())
    assert row["cost_usd_ci"] == pytest.approx(4.302653 * costs.std(ddof=1) / 3**0.5, rel=1e-5)


def test_cli_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    bad_key = runner.invoke(
        app, ["sweep", str(SCENARIO), "--grid", "pool.initial_dedicatd=1,2", "--out", str(tmp_path)]
    )
    assert bad_key.exit_code == 1 and "unknown key" in bad_key.output
    bad_value = runner.invoke(app, ["sweep", str(SCENARIO), "--grid", "duration=1h,soon", "--out", str(tmp_path)])
    assert bad_value.exit_code == 1 and "duration" in bad_value.output
    no_scheduler = runner.invoke(
        app,
        ["sweep", str(SCENARIO), "--grid", "duration=1h", "--executor", "dask", "--out", str(tmp_path)],
        env={"DASK_SCHEDULER_ADDRESS": ""},
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
    typo = runner.invoke(app, ["sweep", str(SCENARIO), "--executor", "daskk", "--out", str(tmp_path)])
    assert typo.exit_code == 2 and "local" in typo.output and "dask" in typo.output
    negative = runner.invoke(app, ["sweep", str(SCENARIO), "--seeds", "-1", "--out", str(tmp_path)])
    assert negative.exit_code == 2
    blocker = tmp_path / "file"
    blocker.write_text("")
    not_a_dir = runner.invoke(app, ["sweep", str(SCENARIO), "--out", str(blocker)])
    assert not_a_dir.exit_code == 2 and "not a directory" in not_a_dir.output


def test_set_applies_to_every_variant_as_simulate_would(tmp_path: Path) -> None:
    # Oracle: each variant's runs are the runs `simulate` gives with the same keys set.
    runner = CliRunner()
    args = ["sweep", str(SCENARIO), "--set", "duration=1h", "--set", "pool.spot.eviction_rate_per_hour=0.5"]
    args += ["--grid", "pool.task_slots_per_node=1,2", "--seeds", "2", "--workers", "1", "--out", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "results.csv")
    for _, row in table.iterrows():
        keys = ["duration=1h", "pool.spot.eviction_rate_per_hour=0.5", f"pool.task_slots_per_node={row.iloc[0]}"]
        expected = batchsim.simulate(batchsim.load_scenario(SCENARIO, keys), seed=int(row["seed"])).summary
        assert row["cost_usd"] == pytest.approx(expected["cost_usd"]) and row["preemptions"] == expected["preemptions"]
    run = json.loads(next((tmp_path / "runs").glob("*/run.json")).read_text())
    assert "pool.spot.eviction_rate_per_hour" in json.dumps(run)  # the report says what was set
    both = runner.invoke(
        app, ["sweep", str(SCENARIO), "--set", "duration=1h", "--grid", "duration=2h", "--out", str(tmp_path)]
    )
    assert both.exit_code == 1 and "also a --grid key" in both.output
