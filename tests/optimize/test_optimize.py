"""The optimizer end to end on small budgets: the winner is checked on fresh seeds against the
scenario's own formula, a pool that runs nothing never wins, the front is a front, choices and
output folders are checked before any work, and the search is deterministic."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from batchsim.cli import app
from batchsim.formula import check
from batchsim.formula.diagnostics import Severity
from batchsim.measure.cells import Measured
from batchsim.measure.clairvoyant import busy_slot_s, clairvoyant_cost_usd, demand_nodes
from batchsim.measure.executors import Executor
from batchsim.optimize.objective import UNKNOWN_VIOLATION, Objective
from batchsim.optimize.outputs import OutputError, write_outputs
from batchsim.optimize.search import Fidelity, _pareto, optimize
from batchsim.optimize.templates import find_template
from batchsim.pipeline import simulate
from batchsim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "scenarios" / "default.yaml"
SPOT_FIRST = ROOT / "scenarios" / "spot-first.yaml"
SHORT = ["--set", "duration=3h", "--workers", "2"]


def _strict(text: str) -> object:
    def refuse(name: str) -> None:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def _run(*args: str, scenario: Path = SPOT_FIRST) -> object:
    return CliRunner().invoke(app, ["optimize", str(scenario), *args])


def test_a_winner_is_written_only_when_it_beats_the_scenarios_formula(tmp_path: Path) -> None:
    # All Spot against the scenario's formula (two dedicated nodes whenever there is work): cheaper.
    shipped = (ROOT / "formulas" / "templates" / "spot-share.tmpl").read_text()
    all_spot = tmp_path / "all-spot.tmpl"
    all_spot.write_text(shipped.replace("dedicatedFloor int 0..50 = 2", "dedicatedFloor int 0..2 = 0"))
    better = _run(
        "--template",
        str(all_spot),
        "--budget",
        "6",
        "--seeds",
        "2",
        "--p95-wait-target",
        "900",
        *SHORT,
        "--out",
        str(tmp_path / "a"),
    )
    assert better.exit_code == 0, better.output
    assert "Improvement:" in better.output and "| optimized (" in better.output
    best = (tmp_path / "a" / "best.formula").read_text()
    assert best.startswith("// Found by `batchsim optimize`")
    assert not [d for d in check(best) if d.severity is Severity.ERROR]
    # pending-tasks is all-dedicated: it cannot beat a Spot pool, and must not pretend to.
    worse = _run(
        "--template",
        "pending-tasks",
        "--budget",
        "4",
        "--seeds",
        "1",
        "--p95-wait-target",
        "1800",
        *SHORT,
        "--out",
        str(tmp_path / "b"),
    )
    assert worse.exit_code == 0, worse.output
    assert "No improvement found" in worse.output
    assert not (tmp_path / "b" / "best.formula").exists()
    trials = pd.read_csv(tmp_path / "b" / "trials.csv")
    assert len(trials) == 4 and set(trials["seeds"]) == {1}  # every candidate on the same seeds
    front = pd.read_csv(tmp_path / "b" / "pareto.csv")
    for _, point in front.iterrows():  # nothing in the trials dominates a point of the front
        better_points = trials[
            (trials["cost_usd"] <= point["cost_usd"]) & (trials["wait_s_p95"] <= point["wait_s_p95"])
        ]
        assert (
            (better_points["cost_usd"] == point["cost_usd"]) & (better_points["wait_s_p95"] == point["wait_s_p95"])
        ).all()


def test_a_pool_that_runs_nothing_never_wins(tmp_path: Path) -> None:
    """Both caps at 0: every task waits forever. It once won at 0.00 USD and p95 0 s."""
    template = tmp_path / "nothing.tmpl"
    template.write_text(
        "// template: no nodes at all.\n// @param cap int 0..0 = 0\n"
        "$TargetDedicatedNodes = {{cap}};\n$TargetLowPriorityNodes = {{cap}};\n"
    )
    result = _run(
        "--template",
        str(template),
        "--budget",
        "2",
        "--seeds",
        "1",
        "--p95-wait-target",
        "100000",
        *SHORT,
        "--out",
        str(tmp_path / "o"),
    )
    assert result.exit_code == 1, result.output
    assert "No candidate met the target" in result.output
    trials = pd.read_csv(tmp_path / "o" / "trials.csv")
    assert not trials["feasible"].any() and (trials["violation"] == UNKNOWN_VIOLATION).all()
    assert (trials["wait_s_p95"] >= 3 * 3600).all()  # not 0 s: at least the horizon
    assert not (tmp_path / "o" / "best.formula").exists()


def test_objective_rules() -> None:
    objective = Objective(p95_wait_target_s=100.0, deadline_miss_target=0.1)
    fine = Measured([1, 2], [{"wait_s_p95": 50.0, "tasks_submitted": 100, "tasks_completed": 95}] * 2)
    assert objective.violation(fine) == pytest.approx(-0.5)
    assert objective.violation(fine, factor=0.25) == pytest.approx(1.0)
    stuck = Measured([1], [{"wait_s_p95": 0.0, "tasks_submitted": 100, "tasks_completed": 0}])
    assert objective.violation(stuck) == UNKNOWN_VIOLATION
    deadline = Objective("deadline", deadline_miss_target=0.1)
    assert deadline.violation(Measured([1], [{"deadline_met_fraction": 0.85}])) == pytest.approx(0.5)
    assert deadline.violation(Measured([1], [{"deadline_met_fraction": None}])) == pytest.approx(-1.0)


def test_pareto_objective_reports_the_front(tmp_path: Path) -> None:
    result = _run(
        "--template",
        "pending-tasks",
        "--objective",
        "pareto",
        "--budget",
        "6",
        "--seeds",
        "1",
        *SHORT,
        "--out",
        str(tmp_path),
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    document = _strict(result.stdout)
    assert isinstance(document, dict) and document["best"] is None and document["front"]
    costs = [p["cost_usd"] for p in document["front"]]
    assert len(list((tmp_path / "front").glob("*.formula"))) == len(costs)
    assert not (tmp_path / "best.formula").exists()
    assert "front" in (tmp_path / "report.md").read_text()


def test_pareto_front_of_known_points() -> None:
    trials = pd.DataFrame({"cost_usd": [1, 2, 3, 2.5], "wait_s_p95": [9, 5, 1, 6]})
    assert _pareto(trials)[["cost_usd", "wait_s_p95"]].values.tolist() == [[1, 9], [2, 5], [3, 1]]


def test_choices_and_output_folder_are_checked_before_the_search(tmp_path: Path) -> None:
    base = ["--template", "pending-tasks", "--out", str(tmp_path / "o")]
    for option, value in (("--sampler", "foo"), ("--objective", "x"), ("--executor", "daskk"), ("--fidelity", "half")):
        result = _run(*base, option, value)
        assert result.exit_code == 2, (option, result.output)
        assert "invalid value" in result.output.lower()
    assert "tpe" in _run(*base, "--sampler", "foo").output and "nsga2" in _run(*base, "--sampler", "foo").output
    assert _run(*base, "--seeds", "-1").exit_code == 2
    blocker = tmp_path / "file"
    blocker.write_text("")
    occupied = _run("--template", "pending-tasks", "--out", str(blocker))
    assert occupied.exit_code == 2 and "not a directory" in occupied.output


def test_when_writing_fails_at_the_end_the_trials_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = load_scenario(DEFAULT, ["duration=2h"])
    with Executor(workers=1) as executor:
        result = optimize(
            scenario,
            find_template("pending-tasks"),
            Objective(p95_wait_target_s=900),
            executor,
            budget=2,
            seeds=1,
            final_seeds=2,
        )
    import batchsim.optimize.outputs as outputs

    def refuse(path: object, text: str) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(outputs, "write_atomically", refuse)
    with pytest.raises(OutputError) as caught:
        write_outputs(result, tmp_path / "out")
    assert caught.value.kept is not None and str(caught.value.kept) in str(caught.value)
    assert len(pd.read_csv(caught.value.kept)) == 2
    caught.value.kept.unlink()


def test_the_search_is_deterministic_with_parallel_workers(tmp_path: Path) -> None:
    args = ["--template", "spot-share", "--budget", "4", "--seeds", "2", "--batch", "3", "--final-seeds", "2"]
    args += ["--set", "duration=2h", "--workers", "2"]
    first = _run(*args, "--out", str(tmp_path / "1"))
    second = _run(*args, "--out", str(tmp_path / "2"))
    assert first.exit_code == second.exit_code == 0, first.output
    assert (tmp_path / "1" / "trials.csv").read_text() == (tmp_path / "2" / "trials.csv").read_text()
    other = _run(*args, "--sampler-seed", "1", "--out", str(tmp_path / "3"))
    assert other.exit_code == 0, other.output
    params = ["dedicatedFloor", "maxSpot", "lookbackMinutes", "headroom"]
    ours, theirs = (pd.read_csv(tmp_path / n / "trials.csv") for n in ("1", "3"))
    # Trial 0 is the template's defaults in both; the sampled ones differ with the seed.
    assert ours.loc[0, params].equals(theirs.loc[0, params])
    assert not ours.loc[1:, params].equals(theirs.loc[1:, params])
    assert json.loads((tmp_path / "3" / "result.json").read_text())["search"]["sampler_seed"] == 1
    assert "(TPESampler, seed 1)" in (tmp_path / "3" / "report.md").read_text()


def test_successive_halving_runs_fewer_simulations() -> None:
    assert Fidelity().rungs(5) == [(1, 1.0), (2, 1.0), (5, 1.0)]
    assert Fidelity(min_horizon=0.5).rungs(3) == [(1, 0.5), (3, 1.0)]
    assert Fidelity().rungs(10) == [(1, 1.0), (2, 1.0), (4, 1.0), (10, 1.0)]
    assert Fidelity().rungs(1) == [(1, 1.0)]
    scenario = load_scenario(DEFAULT, ["duration=2h"])
    with Executor(workers=2) as executor:
        result = optimize(
            scenario,
            find_template("spot-share"),
            Objective(p95_wait_target_s=900),
            executor,
            budget=12,
            seeds=5,
            final_seeds=2,
            fidelity=Fidelity(),
            batch=6,
        )
    trials = result.trials
    assert (trials["state"] == "pruned").any()
    assert result.search_runs == trials["runs"].sum() < 12 * 5
    assert set(trials.loc[trials["state"] == "complete", "seeds"]) == {5}


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
    assert math.isfinite(clairvoyant_cost_usd(scenario, 2))


@pytest.mark.parametrize("command", ["optimize", "sweep", "stress", "compare"])
def test_every_search_command_checks_its_out_before_any_run(tmp_path: Path, command: str) -> None:
    (tmp_path / "taken").write_text("a file the user keeps")
    extra = {
        "optimize": ["--template", "pending-tasks"],
        "sweep": [],
        "stress": [],
        "compare": [str(ROOT / "formulas" / "spot-first.formula")],
    }[command]
    target = tmp_path / "taken" / "out"
    result = CliRunner().invoke(app, [command, str(SPOT_FIRST), *extra, "--out", str(target)])
    assert result.exit_code == 2, result.output
    assert f"--out {target}" in result.output and "Traceback" not in result.output
    assert (tmp_path / "taken").read_text() == "a file the user keeps"
