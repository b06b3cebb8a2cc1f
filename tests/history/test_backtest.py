"""`batchsim backtest`: the fixed keys, and a correct scenario scores better than wrong ones on every
metric the history supports."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from truth import make_scenario
from typer.testing import CliRunner

from batchsim.cli import app
from batchsim.history.backtest import backtest
from batchsim.history.directory import read_history

runner = CliRunner()
FIXED = {
    "window",
    "nodes_dedicated_mae",
    "nodes_spot_mae",
    "node_hours",
    "wait_s_p50",
    "wait_s_p95",
    "wait_ks",
    "targets_mae",
    "cost_usd",
}


def test_cli_json_has_the_fixed_keys_and_a_report(history_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "bt"
    result = runner.invoke(app, ["backtest", str(history_dir), "--format", "json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(document) >= FIXED
    assert set(document["window"]) == {"start", "end"}
    for key in ("node_hours", "wait_s_p50", "wait_s_p95", "cost_usd"):
        assert set(document[key]) >= {"recorded", "simulated"}
        assert document[key]["recorded"] is not None and document[key]["simulated"] is not None
    assert json.loads((out / "backtest.json").read_text()) == document
    page = (out / "report.html").read_text()
    assert len(re.findall(r"<img [^>]*src=\"data:image/png;base64,", page)) == 4
    assert "GENERATED" in page  # the sample's label travels into the report
    text = runner.invoke(app, ["backtest", str(history_dir)])
    assert text.exit_code == 0 and "nodes_spot_mae" in text.output and "wait_s_p95" in text.output


def _scores(history_dir: Path, scenario_dir: Path, **kwargs: object) -> dict[str, float]:
    scenario = make_scenario(scenario_dir, **kwargs)
    document = backtest(read_history(history_dir), scenario, seeds=2).document
    return {
        "nodes_dedicated_mae": document["nodes_dedicated_mae"],
        "nodes_spot_mae": document["nodes_spot_mae"],
        "targets_mae": document["targets_mae"],
        "wait_ks": document["wait_ks"],
        "node_hours": abs(document["node_hours"]["simulated"] - document["node_hours"]["recorded"]),
        "wait_s_p50": abs(document["wait_s_p50"]["simulated"] - document["wait_s_p50"]["recorded"]),
        "wait_s_p95": abs(document["wait_s_p95"]["simulated"] - document["wait_s_p95"]["recorded"]),
        "cost_usd": abs(document["cost_usd"]["simulated"] - document["cost_usd"]["recorded"]),
    }


@pytest.mark.parametrize(
    "wrong",
    [
        {"dedicated_median": "25m", "spot_median": "30m"},  # wrong provisioning delays
        {"formula": "$TargetDedicatedNodes = 4;\n$TargetLowPriorityNodes = 4;\n"},  # wrong formula
    ],
    ids=["provisioning-delay", "formula"],
)
def test_the_true_scenario_beats_a_wrong_one_on_every_metric(
    history_dir: Path, tmp_path: Path, wrong: dict[str, object]
) -> None:
    (tmp_path / "right").mkdir()
    (tmp_path / "wrong").mkdir()
    right = _scores(history_dir, tmp_path / "right")
    worse = _scores(history_dir, tmp_path / "wrong", **wrong)
    for metric, value in right.items():
        assert value < worse[metric], f"{metric}: true scenario {value:.4g}, wrong one {worse[metric]:.4g}"


def test_a_history_without_node_counts_says_what_it_could_not_compute(history_dir: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    shutil.copytree(history_dir, bare)
    (bare / "node_counts.csv").unlink()
    (bare / "autoscale.csv").unlink()
    result = runner.invoke(app, ["backtest", str(bare), "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["nodes_dedicated_mae"] is None and document["targets_mae"] is None
    assert document["cost_usd"]["recorded"] is None
    assert "node_counts.csv" in document["unavailable"]["nodes_spot_mae"]
    assert "autoscale.csv" in document["unavailable"]["targets_mae"]


def test_bad_inputs(history_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["backtest", str(tmp_path / "none")])
    assert result.exit_code == 1 and "no such history directory" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("duration: 1h\npool: {vm_sise: x}\n")
    result = runner.invoke(app, ["backtest", str(history_dir), "--scenario", str(bad)])
    assert result.exit_code == 1 and "vm_sise" in result.output
    afile = tmp_path / "file"
    afile.write_text("x")
    assert runner.invoke(app, ["backtest", str(history_dir), "--out", str(afile)]).exit_code == 2
