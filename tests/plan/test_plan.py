"""`batchsim plan` end to end (issue 24 §1, §3; DESIGN §9): plan.json's keys, a runnable scenario.yaml,
a pool.json the azure-batch SDK's model reads and whose formula passes `check`, a binding per-family
quota, and a verdict that can say nothing better was found."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from batchsim.cli import app
from batchsim.formula import check
from batchsim.formula.diagnostics import Severity
from batchsim.optimize.templates import find_template
from batchsim.pipeline import simulate
from batchsim.scenario import load_scenario

# A fixed pool of 6 two-slot D2s_v3 nodes for about 10 busy tasks: room to be cheaper.
SCENARIO = """
name: plan-test
duration: 3h
pool:
  vm_size: Standard_D2s_v3
  region: westeurope
  task_slots_per_node: 2
  node_fill_type: spread
  initial_dedicated: 6
  provisioning_delay:
    dedicated: {dist: constant, value: 120s}
    spot: {dist: constant, value: 120s}
workload:
  - kind: poisson
    rate_per_hour: 100
    task_duration: {dist: exponential, mean: 300s}
    resources: {vcpus: 1, memory_gib: 2}
"""
DESIGN_KEYS = {
    "vm_size",
    "task_slots_per_node",
    "node_fill_type",
    "template",
    "params",
    "formula",
    "cost_usd",
    "cost_usd_ci",
    "wait_s_p95",
    "wait_s_p95_ci",
    "deadline_met_fraction",
    "deadline_met_fraction_ci",
    "baseline",
    "improvement",
    "quota",
}


def run_plan(tmp_path: Path, *args: str, scenario: str = SCENARIO) -> tuple[int, str, Path]:
    path = tmp_path / "scenario.yaml"
    path.write_text(scenario, encoding="utf-8")
    out = tmp_path / "out"
    common = ["--template", "pending-tasks", "--budget", "6", "--seeds", "1", "--final-seeds", "2", "--workers", "1"]
    result = CliRunner().invoke(app, ["plan", str(path), *common, *args, "--out", str(out)])
    return result.exit_code, result.output, out


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path]:
    return run_plan(
        tmp_path_factory.mktemp("plan"),
        "--size",
        "Standard_D2s_v3",
        "--size",
        "Standard_D4s_v3",
        "--size",
        "Standard_F4s_v2",
        "--p95-wait-target",
        "900",
    )


def test_plan_writes_design_keys_and_beats_the_fixed_pool(planned: tuple[int, str, Path]) -> None:
    code, output, out = planned
    assert code == 0, output
    document = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert document.keys() >= DESIGN_KEYS
    assert DESIGN_KEYS - {"baseline", "improvement", "quota"} <= document["baseline"].keys()
    assert document["improvement"] is True and document["verdict"].startswith("Improvement")
    assert document["cost_usd"] < document["baseline"]["cost_usd"]
    assert document["wait_s_p95"] <= 900
    trials = pd.read_csv(out / "trials.csv")
    assert {"vm_size", "task_slots_per_node", "node_fill_type", "template"} <= set(trials.columns)
    assert len(trials) == 6
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "own pool: Standard_D2s_v3" in report and "cost per task" in report and "idle slots" in report
    assert "Why the winner wins" in report
    own_shape = document["own_shape"]  # the best formula on the own size, slots and fill: what optimize reaches
    assert own_shape is None or (own_shape["vm_size"], own_shape["task_slots_per_node"]) == ("Standard_D2s_v3", 2)
    assert report.strip() in output  # the terminal and the report carry the same numbers


def test_planned_scenario_runs_and_reproduces_the_fresh_seed_cost(planned: tuple[int, str, Path]) -> None:
    _, _, out = planned
    document = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    scenario = load_scenario(out / "scenario.yaml")
    assert scenario.pool.vm_size == document["vm_size"]
    assert scenario.pool.task_slots_per_node == document["task_slots_per_node"]
    costs = [simulate(scenario, seed=s).summary["cost_usd"] for s in document["fresh_seeds"]]
    assert sum(costs) / len(costs) == pytest.approx(document["cost_usd"], rel=1e-12)


def test_pool_json_is_read_by_the_sdk_model_and_its_formula_checks(planned: tuple[int, str, Path]) -> None:
    from azure.batch.models import BatchNodeFillType, BatchPoolCreateOptions

    _, _, out = planned
    body = json.loads((out / "pool.json").read_text(encoding="utf-8"))
    document = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    model = BatchPoolCreateOptions(body)
    known = {field._rest_name for field in BatchPoolCreateOptions._attr_to_rest_field.values()}
    assert set(body) <= known, set(body) - known  # every key is one the REST pool-add body has
    assert model.vm_size == document["vm_size"] and model.task_slots_per_node == document["task_slots_per_node"]
    assert model.task_scheduling_policy.node_fill_type == BatchNodeFillType(document["node_fill_type"])
    assert model.enable_auto_scale is True and model.auto_scale_evaluation_interval.total_seconds() >= 300
    assert model.virtual_machine_configuration.node_agent_sku_id.startswith("batch.node.")
    assert model.as_dict() == body  # nothing lost or renamed on the way through the SDK
    assert [d for d in check(model.auto_scale_formula) if d.severity is Severity.ERROR] == []


def test_a_binding_family_quota_keeps_the_plan_in_another_family_or_within_it(tmp_path: Path) -> None:
    quota = "  quota:\n    per_family_enforced: true\n    dedicated_cores_per_family: {standardDSv3Family: 64, standardFSv2Family: 4}\n"
    text = SCENARIO.replace("  initial_dedicated: 6\n", "  initial_dedicated: 6\n" + quota)
    code, output, out = run_plan(
        tmp_path,
        "--size",
        "Standard_D2s_v3",
        "--size",
        "Standard_D4s_v3",
        "--size",
        "Standard_F4s_v2",
        "--p95-wait-target",
        "900",
        scenario=text,
    )
    assert code == 0, output
    document = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert document["quota"] == {"standardDSv3Family": 64, "standardFSv2Family": 4}
    trials = pd.read_csv(out / "trials.csv")
    # Without the quota Standard_F4s_v2 wins (about 2.6 nodes on average); 4 cores hold one F4s_v2 node,
    # 4 slots for about 8 busy tasks, so the plan takes the D family, within its 64 cores.
    assert (trials[trials["vm_size"] == "Standard_F4s_v2"]["maxNodes"] <= 1).all()
    assert (trials[trials["vm_size"] == "Standard_D4s_v3"]["maxNodes"] <= 16).all()
    assert document["vm_size"].startswith("Standard_D"), document["verdict"]
    assert document["per_size"]["Standard_F4s_v2"] is None  # no F4s_v2 trial met the target in 4 cores
    scenario = load_scenario(out / "scenario.yaml")
    vcpus = scenario.pool.vcpus_per_node or 0
    nodes = simulate(scenario, seed=1001).nodes
    dedicated = nodes[(nodes["kind"] == "dedicated") & nodes["state"].isin(["idle", "running", "creating"])]
    events = sorted([(t, 1) for t in dedicated["start_s"]] + [(t, -1) for t in dedicated["end_s"]])
    most = held = 0
    for _, step in events:
        held += step
        most = max(most, held)
    assert most * vcpus <= 64


def test_a_plan_that_finds_nothing_better_says_so(tmp_path: Path) -> None:
    # The scenario already runs pending-tasks' defaults on the only shape allowed: the plan's one trial
    # is the scenario's own pool and formula, which cannot be an improvement on itself.
    own = find_template("pending-tasks").render()
    autoscale = "  autoscale:\n    interval: 15m\n    formula: |\n" + "".join(
        f"      {line}\n" for line in own.splitlines()
    )
    text = SCENARIO.replace("  initial_dedicated: 6\n", autoscale)
    code, output, out = run_plan(
        tmp_path,
        "--size",
        "Standard_D2s_v3",
        "--slots",
        "2",
        "--fill",
        "spread",
        "--budget",
        "1",
        "--p95-wait-target",
        "3600",
        scenario=text,
    )
    assert code == 0, output
    document = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert document["improvement"] is False
    assert document["verdict"].startswith("No improvement found"), document["verdict"]
    assert document["cost_usd"] == document["baseline"]["cost_usd"]
    assert not (out / "pool.json").exists()
    assert "No improvement found" in output and "no pool.json is written" in output
    assert "Why the winner wins" not in output and "which is not an improvement" in output
    code, output, out = run_plan(tmp_path, "--size", "Standard_D2s_v3", "--p95-wait-target", "1e-9")
    assert code == 1  # no trial meets an impossible target: the plan says that too
    assert json.loads((out / "plan.json").read_text(encoding="utf-8"))["verdict"].startswith("No candidate met")


def test_bad_input_is_one_clear_message(tmp_path: Path) -> None:
    code, output, _ = run_plan(tmp_path, "--size", "Standard_Nope", "--slots", "2")
    assert code == 1 and "no VM size left to plan: Standard_Nope: no catalog price" in output
    code, output, _ = run_plan(tmp_path, "--size", "Standard_D2s_v3", "--slots", "two")
    assert code == 2 and "--slots 'two'" in output
    code, output, _ = run_plan(tmp_path, "--size", "Standard_D2s_v3", "--objective", "pareto")
    assert code == 2 and "a plan picks one pool" in output


def test_json_format_prints_plan_json_and_robust_scores_the_stresses(tmp_path: Path) -> None:
    code, output, out = run_plan(
        tmp_path,
        "--size",
        "Standard_F4s_v2",
        "--budget",
        "2",
        "--robust",
        "--p95-wait-target",
        "3600",
        "--format",
        "json",
    )
    assert code == 0, output
    printed = json.loads(output)
    assert printed == json.loads((out / "plan.json").read_text(encoding="utf-8"))
    members = {"spot-drought", "mass-eviction", "burst", "slow-provisioning", "sample-loss"}
    report = (out / "report.md").read_text(encoding="utf-8")
    assert all(name in report for name in members)  # the objective names the ensemble it scored over
