"""The robust ensemble and objective: members and weights, tail constraints, what the report says."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from batchsim.measure.cells import Measured
from batchsim.measure.executors import Executor
from batchsim.optimize.ensemble import Member, robust_ensemble
from batchsim.optimize.objective import Objective, score
from batchsim.optimize.outputs import render_report
from batchsim.optimize.search import optimize
from batchsim.optimize.templates import find_template
from batchsim.scenario import load_scenario
from batchsim.stress import find

ROOT = Path(__file__).resolve().parents[2]
SPOT_FIRST = ROOT / "scenarios" / "spot-first.yaml"


def test_an_uncalibrated_ensemble_and_its_weights() -> None:
    scenario = load_scenario(SPOT_FIRST)
    members, source = robust_ensemble(scenario, stresses=find(scenario, ["burst", "sample-loss"]), stress_weight=0.2)
    assert [m.name for m in members] == [
        "baseline",
        "eviction-band-top",
        "arrivals-x0.8",
        "arrivals-x1.2",
        "burst",
        "sample-loss",
    ]
    assert "assumed" in source
    assert members[1].scenario.pool.spot.eviction_rate_per_hour == pytest.approx(0.10)  # 0.05 is the 5–10 % band
    assert sum(m.weight for m in members) == pytest.approx(1.0)
    assert sum(m.weight for m in members if m.role == "stress") == pytest.approx(0.2)
    assert [m.name for m in members if m.tail] == ["burst", "sample-loss"]
    only_burst, _ = robust_ensemble(scenario, stresses=find(scenario, ["burst", "sample-loss"]), tail=["burst"])
    assert [m.name for m in only_burst if m.tail] == ["burst"]


def _member(name: str, weight: float, role: str, tail: bool = False) -> Member:
    return Member(name, load_scenario(SPOT_FIRST), weight, role, tail=tail)


def test_expected_cost_and_the_tail_constraint() -> None:
    members = [_member("baseline", 0.8, "baseline"), _member("spot-drought", 0.2, "stress", tail=True)]

    def runs(cost: float, p95: float) -> list[dict[str, float]]:
        return [{"cost_usd": cost + s, "wait_s_p95": p95, "tasks_submitted": 10, "tasks_completed": 9} for s in (0, 1)]

    measured = {"baseline": Measured([1, 2], runs(10, 50)), "spot-drought": Measured([1, 2], runs(20, 400))}
    strict = score(Objective(p95_wait_target_s=100, tail_k=3), members, measured)
    assert strict.cost_usd == pytest.approx(0.8 * 10.5 + 0.2 * 20.5)
    assert strict.constraints == pytest.approx({"target": -0.5, "tail:spot-drought": 400 / 300 - 1})
    assert not strict.feasible
    assert score(Objective(p95_wait_target_s=100, tail_k=5), members, measured).feasible
    text = Objective(p95_wait_target_s=100, tail_k=3).describe(members)
    assert "expected cost" in text and "p95 wait ≤ 3 × 100 s under each of spot-drought" in text


def test_a_robust_search_scores_every_member_on_the_same_seeds() -> None:
    scenario = load_scenario(SPOT_FIRST, ["duration=2h"])
    members, _ = robust_ensemble(scenario, stresses=find(scenario, ["burst"]), uncertainty=False)
    objective = Objective(p95_wait_target_s=900, tail_k=3)
    with Executor(workers=2) as executor:
        result = optimize(
            scenario,
            find_template("spot-share"),
            objective,
            executor,
            budget=3,
            seeds=2,
            final_seeds=2,
            members=members,
            baselines={"scenario's formula": scenario.formula_text() or ""},
        )
    assert "wait_s_p95[burst]" in result.trials and (result.trials["runs"] == 2 * 2).all()
    for candidate in result.final:
        assert set(candidate.measured) == {"baseline", "burst"}
        assert candidate.measured["burst"].seeds == candidate.measured["baseline"].seeds == result.fresh_seeds
    report = render_report(result)
    assert "under each of burst" in report and "| burst (tail) |" in report


CALIBRATED = """\
name: calibrated
duration: 2h
pool:
  task_slots_per_node: 1
  spot: {eviction_rate_per_hour: 0.17}
  autoscale:
    interval: 5m
    formula: "$TargetLowPriorityNodes = 4;"
prices: {dedicated_per_hour: 0.1, spot_per_hour: 0.02}
workload:
  - kind: poisson
    rate_per_hour: 120
    task_duration: {dist: lognormal, median: 3m, sigma: 0.5}
calibration:
  pool.spot.eviction_rate_per_hour: {estimate: 0.17, low: 0.14, high: 0.21, n: 77, source: node_counts.csv}
  workload.0.rate_per_hour: {estimate: 120, low: 100, high: 140, n: 240, source: tasks.csv}
  workload.0.task_duration.median: {estimate: 180, low: 170, high: 190, n: 240, source: tasks.csv}
  workload.0.task_duration.sigma: {estimate: 0.5, low: 0.45, high: 0.55, n: 240, source: tasks.csv}
  pool.start_task.duration.median: {estimate: null, n: 0, source: "default: fewer than two nodes report a start task"}
  workload.1.rate_per_hour: {estimate: 10, low: 8, high: 12, n: 20, source: tasks.csv}
"""


def test_a_calibrated_scenario_takes_its_uncertainty_from_its_intervals(tmp_path: Path) -> None:
    path = tmp_path / "calibrated.yaml"
    path.write_text(CALIBRATED)
    scenario = load_scenario(path)
    members, source = robust_ensemble(scenario, stresses=find(scenario, ["burst"]))
    by = {m.name: m.scenario for m in members}
    assert "calibration" in source and set(by) == {
        "baseline",
        "eviction-rate-low",
        "eviction-rate-high",
        "arrivals-low",
        "arrivals-high",
        "task-durations-low",
        "task-durations-high",
        "burst",
    }
    assert by["eviction-rate-high"].pool.spot.eviction_rate_per_hour == 0.21
    # One entry: its overall rate's own interval (the entry that does not exist is left out).
    assert by["arrivals-low"].workload[0].rate_per_hour == pytest.approx(100)
    # Two keys move together by 1/√2 of their half-widths: 1.96 σ of their standardized sum, not 2.8 σ.
    high = by["task-durations-high"].workload[0].task_duration
    assert (high.median, high.sigma) == pytest.approx((180 + 10 / math.sqrt(2), 0.5 + 0.05 / math.sqrt(2)))


def test_optimize_robust_from_the_command_line(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from batchsim.cli import app

    args = ["optimize", str(SPOT_FIRST), "--template", "spot-fallback", "--robust", "--tail-k", "4", "--budget", "2"]
    args += [
        "--seeds",
        "1",
        "--final-seeds",
        "2",
        "--set",
        "duration=2h",
        "--p95-wait-target",
        "1200",
        "--workers",
        "2",
    ]
    result = CliRunner().invoke(app, [*args, "--format", "json", "--out", str(tmp_path)])
    assert result.exit_code in (0, 1), result.output
    document = json.loads(result.stdout)
    names = [m["name"] for m in document["members"]]
    assert names[0] == "baseline" and names[-5:] == [
        "spot-drought",
        "mass-eviction",
        "burst",
        "slow-provisioning",
        "sample-loss",
    ]
    assert document["tail_k"] == 4 and "p95 wait ≤ 4 × 1200 s under each of spot-drought" in document["objective_text"]
    report = (tmp_path / "report.md").read_text()
    assert "Per ensemble member" in report and "| spot-drought (tail) |" in report
    bad = CliRunner().invoke(app, [*args, "--tail-stress", "earthquake", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "earthquake" in bad.output


def _week_at_100_per_hour(tmp_path: Path, overall: bool) -> Path:
    """A diurnal entry calibrated from a week at 100 tasks/h: 700 tasks in each hour of the day over 7 h
    of exposure, each hour's rate with its exact (Garwood) 95 % interval."""
    from scipy import stats

    count, exposure_h = 700, 7.0
    low = stats.chi2.ppf(0.025, 2 * count) / 2 / exposure_h
    high = stats.chi2.ppf(0.975, 2 * count + 2) / 2 / exposure_h
    lines = [
        "name: a-week",
        "duration: 2h",
        "pool: {autoscale: {formula: '$TargetDedicatedNodes = 2;'}}",
        "workload:",
        "  - kind: diurnal",
        f"    hourly_rates_per_hour: {[100.0] * 24}",
        "    task_duration: {dist: constant, value: 60}",
        "calibration:",
    ]
    for h in range(24):
        lines.append(
            f"  workload.0.hourly_rates_per_hour.{h}: {{estimate: 100, low: {low}, high: {high}, n: 700, source: t}}"
        )
    if overall:
        week = 24 * count
        o_low = stats.chi2.ppf(0.025, 2 * week) / 2 / (7 * 24)
        o_high = stats.chi2.ppf(0.975, 2 * week + 2) / 2 / (7 * 24)
        lines.append(
            f"  workload.0.rate_per_hour: {{estimate: 100, low: {o_low}, high: {o_high}, n: {week}, source: t}}"
        )
    path = tmp_path / "week.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("overall", [True, False], ids=["overall-rate", "hourly-only"])
def test_arrival_members_are_at_the_daily_totals_95_percent_bound_not_a_9_sigma_corner(
    tmp_path: Path, overall: bool
) -> None:
    # A week at 100 tasks/h: 16 800 tasks, Poisson, so the daily total (2400) has σ = √16800 / 7 ≈ 18.5
    # tasks. Every hourly rate at its own bound at once moved it by ≈ 9.6 σ.
    scenario = load_scenario(_week_at_100_per_hour(tmp_path, overall))
    members, source = robust_ensemble(scenario, stresses=[])
    sigma_daily = math.sqrt(24 * 700) / 7
    by = {m.name: m for m in members}
    assert set(by) == {"baseline", "arrivals-low", "arrivals-high"}
    for name, sign in (("arrivals-low", -1), ("arrivals-high", 1)):
        entry = by[name].scenario.workload[0]
        factor = math.prod(w.factor for w in entry.rate_factors)
        deviation = (sum(entry.hourly_rates_per_hour) * factor - 2400) / sigma_daily
        # About 1.96 σ (the exact Garwood bounds of 24 hours combined are a little wider: +4 % at most).
        assert deviation == pytest.approx(sign * 1.96, rel=0.05)
        assert [(w.start, w.duration) for w in entry.rate_factors] == [(0.0, scenario.duration)]  # the profile scaled
        assert by[name].sigma == pytest.approx(sign * 1.96, abs=0.01)
    assert "1.96 σ" in source
    # Weights: the pair reproduces the group's variance (0.13 each), the baseline keeps the rest.
    assert by["arrivals-high"].weight == pytest.approx(1 / (2 * 1.96**2), rel=1e-3)
    assert sum(m.weight for m in members) == pytest.approx(1.0)


def test_the_report_states_each_uncertainty_members_sigma(tmp_path: Path) -> None:
    import pandas as pd

    from batchsim.optimize.search import Candidate, OptimizeResult

    scenario = load_scenario(_week_at_100_per_hour(tmp_path, True))
    members, _ = robust_ensemble(scenario, stresses=[])
    runs = [{"cost_usd": 1.0, "wait_s_p95": 10.0, "tasks_submitted": 1, "tasks_completed": 1}] * 2
    candidate = Candidate("x", "", {}, members, {m.name: Measured([1, 2], runs) for m in members})
    trials = pd.DataFrame({"trial": [0], "state": ["complete"], "feasible": [True]})
    result = OptimizeResult(candidate, None, "v", trials, trials, [candidate], [], Objective(), members, [1], [1, 2], 1)
    report = render_report(result)
    assert "| arrivals-high | 0.13 | +1.96 σ of the total arrival rate (100 tasks/h over 1 entries) |" in report
    assert "| arrivals-low | 0.13 | -1.96 σ of the total arrival rate" in report
