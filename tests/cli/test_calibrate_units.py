"""`calibrate` prints each estimate with its unit, as the scenario file reads it (issue 23 §1):
durations in seconds (`397 s`), rates per hour (`0.21 /h`), shapes and probabilities bare."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import batchsim as bs
from batchsim.cli import app
from batchsim.history.synthetic import write_synthetic_history

ROOT = Path(__file__).resolve().parents[2]


def test_calibrate_prints_units(tmp_path: Path) -> None:
    scenario = bs.load_scenario(ROOT / "scenarios" / "default.yaml", {"duration": "6h"})
    history = write_synthetic_history(scenario, tmp_path / "h", pool_id="render")
    result = CliRunner().invoke(
        app, ["calibrate", str(history), "--out", str(tmp_path / "s.yaml"), "--workload", "fitted"],
        env={"COLUMNS": "250"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.startswith("  ") and line.split()}
    rate = lines["pool.spot.eviction_rate_per_hour"]
    assert re.search(r"\d /h\s+\[[-\d.e]+ /h, [-\d.e]+ /h\]", rate), rate
    durations = [line for key, line in lines.items() if key.endswith("task_duration.median")]
    assert durations and all(re.search(r"\d s\s+\[[-\d.e]+ s, ", line) for line in durations), durations
    sigma = next(line for key, line in lines.items() if key.endswith(".sigma"))
    assert not re.search(r"\d (s|/h)\b", sigma), sigma


def test_calibrate_out_dash_writes_the_scenario_alone_on_stdout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = bs.load_scenario(ROOT / "scenarios" / "default.yaml", {"duration": "6h"})
    history = write_synthetic_history(scenario, tmp_path / "h", pool_id="render")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["calibrate", str(history), "--out", "-", "--workload", "fitted"])
    assert result.exit_code == 0, result.output
    written = tmp_path / "piped.yaml"
    written.write_text(result.stdout, encoding="utf-8")  # what `> piped.yaml` would hold: a scenario that loads
    assert bs.load_scenario(written).pool.autoscale is not None
    assert not (tmp_path / "-").exists()
    trace = CliRunner().invoke(app, ["calibrate", str(history), "--out", "-"])
    assert trace.exit_code == 2 and "--workload fitted" in trace.output and not (tmp_path / "-").exists()
