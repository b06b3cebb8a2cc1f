"""The optimizer end to end on a small budget; the clairvoyant bound is below every real formula."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from batchsim.cli import app
from batchsim.formula import check
from batchsim.formula.diagnostics import Severity
from batchsim.optimize.clairvoyant import busy_slot_s, clairvoyant_cost_usd, demand_nodes
from batchsim.optimize.search import _pareto
from batchsim.pipeline import simulate
from batchsim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]


def test_optimize_writes_a_checked_winner_and_a_front(tmp_path: Path) -> None:
    args = [
        "optimize",
        str(ROOT / "scenarios" / "default.yaml"),
        "--template",
        "pending-tasks",
        "--budget",
        "5",
        "--seeds",
        "1",
        "--set",
        "duration=3h",
        "--p95-wait-target",
        "900",
        "--workers",
        "1",
        "--out",
        str(tmp_path),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "| optimized |" in result.output and "clairvoyant lower bound" in result.output
    best = (tmp_path / "best.formula").read_text()
    assert not [d for d in check(best) if d.severity is Severity.ERROR]
    trials = pd.read_csv(tmp_path / "trials.csv")
    assert len(trials) == 5 and set(trials.columns) >= {
        "maxNodes",
        "lookbackMinutes",
        "cost_usd",
        "wait_s_p95",
        "feasible",
    }
    front = pd.read_csv(tmp_path / "pareto.csv")
    for _, point in front.iterrows():  # nothing in the trials dominates a point of the front
        better = trials[(trials["cost_usd"] <= point["cost_usd"]) & (trials["wait_s_p95"] <= point["wait_s_p95"])]
        assert ((better["cost_usd"] == point["cost_usd"]) & (better["wait_s_p95"] == point["wait_s_p95"])).all()


def test_pareto_front_of_known_points() -> None:
    trials = pd.DataFrame({"cost_usd": [1, 2, 3, 2.5], "wait_s_p95": [9, 5, 1, 6]})
    assert _pareto(trials)[["cost_usd", "wait_s_p95"]].values.tolist() == [[1, 9], [2, 5], [3, 1]]


@pytest.mark.parametrize(
    ("scenario", "formula"),
    [
        ("default.yaml", None),
        ("spot-first.yaml", None),
        ("hourly-schedule.yaml", None),
        ("azure-llm-trace.yaml", None),
        ("default.yaml", "hysteresis"),
    ],
)
def test_clairvoyant_bound_is_below_real_formulas(scenario: str, formula: str | None) -> None:
    overrides = ["duration=4h"]
    if formula:
        overrides += ["pool.autoscale.formula=null", f"pool.autoscale.formula_file=../formulas/{formula}.formula"]
    loaded = load_scenario(ROOT / "scenarios" / scenario, overrides)
    cost = simulate(loaded, 3).summary["cost_usd"]
    assert 0 < clairvoyant_cost_usd(loaded, 3) < cost


def test_clairvoyant_bound_by_hand(tmp_path: Path) -> None:
    """Six 30-minute tasks at 10 min and one at 1 h 50 min (10 min of it inside the 2 h horizon)."""
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: t\nduration: 2h\npool:\n  task_slots_per_node: 2\n"
        "prices: {dedicated_per_hour: 0.1, spot_per_hour: 0.02}\n"
        "workload:\n  - kind: bursts\n    bursts: [{at: 10m, count: 6}, {at: 110m, count: 1}]\n"
        "    task_duration: {dist: constant, value: 30m}\n"
    )
    scenario = load_scenario(path)
    assert busy_slot_s(scenario, 1) == 6 * 1800 + 600
    assert demand_nodes(scenario, 1).max() == 3
    node_s = (6 * 1800 + 600) / 2
    assert clairvoyant_cost_usd(scenario, 1) == pytest.approx((node_s + 90) / 3600 * 0.02)
    assert clairvoyant_cost_usd(scenario, 1, spot_allowed=False) == pytest.approx((node_s + 90) / 3600 * 0.1)
