"""Each stress does what it says on a small scenario; user-defined stresses; `batchsim stress`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from batchsim.cli import app
from batchsim.pipeline import simulate
from batchsim.scenario import ScenarioError, load_scenario
from batchsim.stress import apply, available, busiest_hour_s, find
from batchsim.stress_spec import Burst, StressSpec
from batchsim.workload.generators import build_workload

ROOT = Path(__file__).resolve().parents[2]
SPOT_FIRST = ROOT / "scenarios" / "spot-first.yaml"

SMALL = """\
name: small
duration: 6h
pool:
  task_slots_per_node: 1
  provisioning_delay:
    dedicated: {dist: constant, value: 2m}
    spot: {dist: constant, value: 2m}
    boot_billed_s: 60
  spot: {eviction_rate_per_hour: 0.0}
  autoscale:
    interval: 5m
    formula: |
      $TargetDedicatedNodes = 2;
      $TargetLowPriorityNodes = 4;
prices: {dedicated_per_hour: 0.1, spot_per_hour: 0.02}
workload:
  - kind: poisson
    rate_per_hour: 120
    task_duration: {dist: exponential, mean: 2m}
  - kind: bursts
    bursts: [{at: 3h, count: 200}]
    task_duration: {dist: constant, value: 1m}
"""


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


def _strict(text: str) -> object:
    def refuse(name: str) -> None:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def test_the_busiest_hour_is_where_the_work_is(small: Path) -> None:
    assert busiest_hour_s(load_scenario(small)) == 3 * 3600  # the 200-task burst at 3 h
    day = load_scenario(ROOT / "scenarios" / "default.yaml")  # diurnal, peak at 14:00 UTC
    assert busiest_hour_s(day) in (13 * 3600, 14 * 3600)


def test_burst_triples_the_arrivals_of_its_hour_and_keeps_every_other_task(small: Path) -> None:
    scenario = load_scenario(small)
    window = StressSpec(name="b", burst=Burst(start=3600, duration=3600, factor=3))
    stressed, parameters = apply(scenario, window)
    assert parameters["burst"] == {"start_s": 3600.0, "duration_s": 3600.0, "factor": 3.0}
    counts = []
    for seed in range(1, 6):
        base = build_workload(scenario.workload, scenario.duration, seed).tasks
        more = build_workload(stressed.workload, stressed.duration, seed).tasks
        by_id = {t.task_id: t for t in more}
        # Common random numbers: every baseline task is still there, unchanged.
        assert all(
            by_id[t.task_id].submit_s == t.submit_s and by_id[t.task_id].duration_s == t.duration_s for t in base
        )
        inside = [sum(3600 <= t.submit_s < 7200 for t in tasks) for tasks in (base, more)]
        outside = [sum(not 3600 <= t.submit_s < 7200 for t in tasks) for tasks in (base, more)]
        assert outside[0] == outside[1]
        counts.append(inside)
    base_mean, more_mean = np.mean(counts, axis=0)
    assert more_mean / base_mean == pytest.approx(3.0, rel=0.15)  # 120/h for 1 h, five seeds
    # The burst entry's 200 tasks at 3 h are outside this window; at 3 h it would add 400.
    at_burst, _ = apply(scenario, StressSpec(name="b", burst=Burst(start=3 * 3600, duration=60, factor=3)))
    bursts = build_workload(at_burst.workload, at_burst.duration, 1).tasks
    assert sum(t.submit_s == 3 * 3600 for t in bursts) == 600


def test_slow_provisioning_triples_the_time_to_a_ready_node(small: Path) -> None:
    scenario = load_scenario(small)
    (slow,) = [s for s in find(scenario, ["slow-provisioning"]) if s.name == "slow-provisioning"]
    stressed, _ = apply(scenario, slow)

    def ready_s(run_scenario: object) -> float:
        nodes = simulate(run_scenario, 1).nodes  # type: ignore[arg-type]
        return float(nodes[nodes["state"].isin(["idle", "running"])]["start_s"].min())

    def first_billed_s(run_scenario: object) -> float:
        nodes = simulate(run_scenario, 1).nodes  # type: ignore[arg-type]
        return float(nodes[nodes["state"] == "creating"]["start_s"].min())

    # Allocation at the first evaluation (t≈0): 2 min to idle, the last 60 s of it billed.
    assert ready_s(scenario) == pytest.approx(120, abs=1)
    assert ready_s(stressed) == pytest.approx(360, abs=1)
    assert first_billed_s(stressed) == pytest.approx(360 - 180, abs=1)


def test_sample_loss_drops_thirty_percent_of_samples(small: Path) -> None:
    scenario = load_scenario(small)
    (loss,) = [s for s in find(scenario, ["sample-loss"]) if s.name == "sample-loss"]
    stressed, parameters = apply(scenario, loss)
    assert parameters == {"sample_loss": {"fraction": 0.3}}
    metrics = simulate(stressed, 1).metrics
    pending = metrics[metrics["name"] == "$PendingTasks"]["value"]
    assert pending.isna().mean() == pytest.approx(0.3, abs=0.05)  # 720 samples
    assert simulate(scenario, 1).metrics["value"].isna().sum() == 0


def test_user_stresses_come_from_the_scenario_file(small: Path) -> None:
    small.write_text(
        SMALL
        + "stresses:\n"
        + "  - name: rush\n    description: the 9 o'clock rush\n"
        + "    burst: {start: 1h, duration: 30m, factor: 2}\n    slow_provisioning: {factor: 2}\n"
        + "  - name: pricey\n    set: {prices.spot_per_hour: 0.05}\n"
    )
    scenario = load_scenario(small)
    names = [s.name for s in available(scenario)]
    assert names[:6] == ["baseline", "spot-drought", "mass-eviction", "burst", "slow-provisioning", "sample-loss"]
    assert names[6:] == ["rush", "pricey"]
    rush = next(s for s in available(scenario) if s.name == "rush")
    stressed, parameters = apply(scenario, rush)
    assert set(parameters) == {"burst", "slow_provisioning"}
    assert stressed.pool.provisioning_delay.dedicated.mean_s == 240
    pricey, parameters = apply(scenario, next(s for s in available(scenario) if s.name == "pricey"))
    assert pricey.prices is not None and pricey.prices.spot_per_hour == 0.05
    assert parameters == {"set": {"prices.spot_per_hour": 0.05}}
    with pytest.raises(KeyError, match="choose from"):
        find(scenario, ["rushh"])


def test_a_wrong_key_in_a_stress_names_the_line(small: Path) -> None:
    small.write_text(SMALL + "stresses:\n  - name: x\n    burst: {factr: 2}\n")
    with pytest.raises(ScenarioError, match=r"small.yaml:\d+: key 'stresses.0.burst.factr': unknown key"):
        load_scenario(small)
    small.write_text(SMALL + "stresses:\n  - name: x\n    set: {pool.no_such_key: 2}\n")
    with pytest.raises(ScenarioError, match=r"stress 'x': key 'pool\.no_such_key'"):
        apply(load_scenario(small), available(load_scenario(small))[-1])


def test_stress_command_rows_json_text_and_report(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["stress", str(SPOT_FIRST), "--set", "duration=3h", "--seeds", "2", "--workers", "2"]
    args += ["--stress", "burst", "--stress", "slow-provisioning"]
    args += [
        "--formula",
        str(ROOT / "formulas" / "spot-first.formula"),
        "--formula",
        str(ROOT / "formulas" / "pending-tasks.formula"),
    ]
    listed = runner.invoke(app, [*args, "--format", "json", "--out", str(tmp_path)])
    assert listed.exit_code == 0, listed.output
    rows = _strict(listed.stdout)
    assert isinstance(rows, list) and len(rows) == 2 * 3
    for row in rows:
        for key in ("cost_usd", "wait_s_p95", "deadline_met_fraction", "tasks_never_started"):
            assert key in row and f"{key}_ci" in row and f"{key}_change" in row and f"{key}_change_ci" in row
    by = {(r["formula"].split("/")[-1], r["stress"]): r for r in rows}
    assert by[("spot-first.formula", "baseline")]["cost_usd_change"] == 0
    assert by[("spot-first.formula", "burst")]["parameters"]["burst"]["factor"] == 3
    assert by[("spot-first.formula", "burst")]["wait_s_p95_change"] > 0  # three times the work for an hour
    report = (tmp_path / "report.html").read_text()
    assert report.count("<img") == 2 * 2  # per formula: nodes and queue, baseline and worst stress overlaid
    # Every seed the table averages is drawn and labelled, not the first seed only.
    assert "(first seed)" not in report and "2 seed(s) each overlaid" in report
    assert (tmp_path / "runs" / "spot-first.formula" / "baseline-seed-2" / "summary.json").is_file()
    assert not (tmp_path / "runs" / "spot-first.formula" / "baseline-seed-3").exists()
    assert "worst stress" in report
    run = tmp_path / "runs" / "spot-first.formula" / "baseline"
    assert (run / "summary.json").is_file() and json.loads((run / "run.json").read_text())["overrides"] == {
        "stress": "baseline"
    }
    text = runner.invoke(app, ["stress", str(SPOT_FIRST), "--set", "duration=1h", "--seeds", "2", "--stress", "burst"])
    assert text.exit_code == 0 and "arrivals ×3" in text.output and "±" in text.output


def test_stress_command_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    unknown = runner.invoke(app, ["stress", str(SPOT_FIRST), "--stress", "earthquake"])
    assert unknown.exit_code == 2 and "spot-drought" in unknown.output
    broken = tmp_path / "broken.formula"
    broken.write_text("$TargetDedicatedNodes = (1;\n")
    bad = runner.invoke(app, ["stress", str(SPOT_FIRST), "--formula", str(broken)])
    assert bad.exit_code == 1 and "broken.formula:1:" in bad.output
    assert runner.invoke(app, ["stress", str(SPOT_FIRST), "--seeds", "0"]).exit_code == 2
    assert math.isfinite(busiest_hour_s(load_scenario(SPOT_FIRST)))


LIVE = ("creating", "starting", "waitingforstarttask", "idle", "running")


def test_during_a_spot_drought_no_spot_node_is_allocated_or_restored(small: Path) -> None:
    scenario = load_scenario(small, {"pool.spot.eviction_rate_per_hour": 2.0})  # evictions to restore
    (drought,) = [s for s in find(scenario, ["spot-drought"]) if s.name == "spot-drought"]
    stressed, parameters = apply(scenario, drought)
    start, end = 3 * 3600.0, 5 * 3600.0  # two hours from the busiest hour (the burst at 3 h)
    assert parameters["spot_drought"] == {"start_s": start, "duration_s": 7200.0}
    nodes = simulate(stressed, 1).nodes
    spot = nodes[nodes["kind"] == "spot"]
    got_vm = spot[spot["state"] == "creating"]["start_s"]
    assert not ((got_vm >= start) & (got_vm < end)).any()  # neither new nodes nor restores get a VM
    evicted = spot[spot["state"] == "preempted"]["start_s"]
    assert ((evicted >= start) & (evicted < end)).any()  # there was something to restore
    assert (got_vm >= end).any()  # and Spot comes back after the window
    plain = simulate(scenario, 1).nodes
    plain_vm = plain[(plain["kind"] == "spot") & (plain["state"] == "creating")]["start_s"]
    assert ((plain_vm >= start) & (plain_vm < end)).any()  # without the drought, it would have


def test_a_mass_eviction_preempts_half_of_the_live_spot_nodes(small: Path) -> None:
    scenario = load_scenario(small)  # eviction rate 0: only the mass eviction preempts
    (mass,) = [s for s in find(scenario, ["mass-eviction"]) if s.name == "mass-eviction"]
    stressed, parameters = apply(scenario, mass)
    at = 3 * 3600.0 + 1800.0  # the middle of the busiest hour
    assert parameters["mass_eviction"] == {"at_s": at, "fraction": 0.5}
    result = simulate(stressed, 1)
    spot = result.nodes[result.nodes["kind"] == "spot"]
    live = spot[(spot["start_s"] < at) & (spot["end_s"] >= at) & spot["state"].isin(LIVE)]["node_id"].nunique()
    preempted = spot[(spot["state"] == "preempted")]
    assert live == 4 and set(preempted["start_s"]) == {at} and len(preempted) == 2
    samples = result.metrics[result.metrics["name"] == "$PreemptedNodeCount"]
    before = samples[samples["time_s"] < at]["value"].max()
    after = samples[(samples["time_s"] > at) & (samples["time_s"] < at + 60)]["value"].min()
    assert before == 0 and after == 2


def test_sample_loss_without_autoscale_says_so(small: Path) -> None:
    scenario = load_scenario(small, {"pool.autoscale": None})
    _, parameters = apply(scenario, find(scenario, ["sample-loss"])[1])
    assert "no autoscale" in parameters["sample_loss"]["note"]
