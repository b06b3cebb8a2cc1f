"""A scenario without autoscale (a fixed pool, what many users run today) takes formulas too: the
optimizer searches one for it and compares it with the pool as it is, compare and stress run
formulas on it. The pool as it is, as a formula, is the constant target of its initial sizes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchsim.cli import app
from batchsim.measure.runs import autoscaled, with_formula
from batchsim.pipeline import simulate
from batchsim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]

FIXED = """\
name: fixed
duration: 4h
pool:
  vm_size: Standard_D2s_v3
  region: eastus
  task_slots_per_node: 2
  initial_dedicated: 1
  initial_spot: 6
  spot: {eviction_rate_per_hour: 0.5}
workload:
  - kind: poisson
    rate_per_hour: 150
    task_duration: {dist: lognormal, median: 4m, sigma: 0.6}
    deadline: 1h
"""


@pytest.fixture
def fixed(tmp_path: Path) -> Path:
    path = tmp_path / "fixed.yaml"
    path.write_text(FIXED)
    return path


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_fixed_pool_and_its_constant_formula_run_alike(fixed: Path, seed: int) -> None:
    # Oracle: a pool with autoscale that always asks for its initial sizes is a fixed pool (Spot
    # nodes preempted at 0.5/h and restored included); only the evaluations differ.
    scenario = load_scenario(fixed)
    plain = simulate(scenario, seed).summary
    as_formula = simulate(autoscaled(scenario), seed).summary
    assert plain["preemptions"] > 0
    assert (
        plain["autoscale_evaluations"] == 0 and as_formula["autoscale_evaluations"] == 4 * 4
    )  # at enable, then every 15 min until the end
    for key in ("events", "autoscale_evaluations", "wall_s", "deadline_met_fraction"):
        plain.pop(key), as_formula.pop(key)
    assert as_formula == plain


def test_a_formula_on_a_fixed_pool_is_evaluated_at_the_service_default(fixed: Path) -> None:
    scenario = with_formula(load_scenario(fixed), "$TargetLowPriorityNodes = 3;")
    assert scenario.pool.autoscale is not None and scenario.pool.autoscale.interval == 900
    assert simulate(scenario, 1).summary["autoscale_evaluations"] == 16


def test_optimize_a_fixed_pool_compares_with_the_pool_as_it_is(fixed: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    result = CliRunner().invoke(
        app,
        [
            *("optimize", str(fixed), "--template", "spot-share", "--budget", "4", "--seeds", "2"),
            *("--final-seeds", "2", "--p95-wait-target", "600", "--workers", "1", "--out", str(out)),
        ],
    )
    assert result.exit_code == 0, result.output
    report = (out / "report.md").read_text()
    assert "| scenario's fixed pool |" in report
    verdict = next(line for line in report.splitlines() if line.startswith("**"))
    assert "scenario's fixed pool" in verdict  # the winner is judged against the pool as it is
    assert "evaluated every 15m" in report


def test_compare_and_stress_run_formulas_on_a_fixed_pool(fixed: Path) -> None:
    formula = ROOT / "formulas" / "spot-first.formula"
    compared = CliRunner().invoke(app, ["compare", str(fixed), str(formula), "--seeds", "2", "--workers", "1"])
    assert compared.exit_code == 0, compared.output
    assert "spot-first.formula" in compared.output
    stressed = CliRunner().invoke(
        app,
        [
            *("stress", str(fixed), "--formula", str(formula), "--stress", "sample-loss", "--seeds", "2"),
            *("--workers", "1", "--format", "json"),
        ],
    )
    assert stressed.exit_code == 0, stressed.output
    assert "nothing reads the samples" not in stressed.output  # the formula reads them
