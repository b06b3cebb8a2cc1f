"""`batchsim pool pull` against the local Batch service: the skeleton loads as a scenario."""

from __future__ import annotations

import json
from pathlib import Path

from batch_server import Running, autoscale_on
from cli_runner import Cli

from batchsim.scenario import load_scenario

FORMULA = "// queue depth\n$TargetDedicatedNodes = min(10, $PendingTasks.GetSample(1) / $TaskSlotsPerNode);\n"
RESULTS = "$TargetDedicatedNodes=2;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue"


def test_pull_an_autoscale_pool(cli: Cli, batch: Running, tmp_path: Path) -> None:
    batch.service.pools["render"].update(autoscale_on(FORMULA, RESULTS, interval="PT10M"))
    out = tmp_path / "plan" / "render.yaml"
    code, output = cli("pool", "pull", "render", "--out", str(out))
    assert code == 0, output
    formula = tmp_path / "plan" / "formulas" / "render.formula"
    assert formula.read_text(encoding="utf-8") == FORMULA
    scenario = load_scenario(out)
    pool = scenario.pool
    assert (pool.vm_size, pool.region, pool.os) == ("Standard_D2s_v3", "eastus", "linux")
    assert (pool.task_slots_per_node, pool.node_fill_type) == (4, "pack")
    assert (pool.initial_dedicated, pool.initial_spot, pool.resize_timeout) == (2, 3, 900.0)
    assert pool.autoscale is not None and pool.autoscale.formula_file == "formulas/render.formula"
    assert pool.autoscale.interval == 600.0
    assert scenario.formula_text() == FORMULA
    assert scenario.origin is not None and scenario.origin.pool_id == "render"
    assert (scenario.origin.target_dedicated, scenario.origin.target_spot) == (2, 3)
    run = scenario.origin.last_autoscale_run
    assert run is not None and run.results == RESULTS and run.timestamp is not None
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Scenario skeleton pulled from pool 'render'")
    assert f"# Last autoscale run (2026-11-30T10:00:00.123456Z): {RESULTS}" in text
    assert [r.method for r in batch.service.requests] == ["GET"] and batch.service.signature_failures == 0


def test_pulled_scenario_simulates(cli: Cli, batch: Running, tmp_path: Path) -> None:
    from batchsim import simulate

    batch.service.pools["render"].update(autoscale_on("$TargetDedicatedNodes = 1;", RESULTS))
    out = tmp_path / "render.yaml"
    assert cli("pool", "pull", "render", "--out", str(out))[0] == 0
    result = simulate(load_scenario(out, overrides={"duration": "1h"}), seed=1)
    assert result.summary["autoscale_evaluations"] >= 1


def test_pull_a_fixed_pool_keeps_its_targets(cli: Cli, batch: Running, tmp_path: Path) -> None:
    batch.service.pools["render"].update(currentDedicatedNodes=1, targetDedicatedNodes=4, allocationState="resizing")
    out = tmp_path / "fixed.yaml"
    code, output = cli("pool", "pull", "render", "--out", str(out))
    assert code == 0, output
    assert "no autoscale formula" in output
    scenario = load_scenario(out)
    assert scenario.pool.autoscale is None
    assert (scenario.pool.initial_dedicated, scenario.pool.initial_spot) == (4, 3)
    assert scenario.origin is not None and scenario.origin.allocation_state == "resizing"
    assert not (tmp_path / "formulas").exists()


def test_pull_keeps_inter_node_communication(cli: Cli, batch: Running, tmp_path: Path) -> None:
    # enableInterNodeCommunication is set at creation only, and multi-instance tasks need it
    # (learn.microsoft.com/azure/batch/batch-mpi): a pulled scenario that dropped it would refuse them.
    batch.service.pools["render"].update(enableInterNodeCommunication=True, taskSlotsPerNode=1)
    out = tmp_path / "mpi.yaml"
    code, output = cli("pool", "pull", "render", "--out", str(out))
    assert code == 0, output
    assert load_scenario(out).pool.inter_node_communication
    batch.service.pools["render"].update(enableInterNodeCommunication=False)
    assert cli("pool", "pull", "render", "--out", str(tmp_path / "plain.yaml"))[0] == 0
    assert not load_scenario(tmp_path / "plain.yaml").pool.inter_node_communication


def test_pull_with_a_skus_file_sets_vcpus_quota_and_prices(cli: Cli, batch: Running, tmp_path: Path) -> None:
    skus = tmp_path / "skus.json"
    row = {
        "vm_size": "Standard_D2s_v3",
        "region": "eastus",
        "os": "linux",
        "vcpus": 2,
        "memory_gib": 8,
        "gpus": 0,
        "family": "standardDSv3Family",
        "dedicated_per_hour": 0.1,
        "spot_per_hour": 0.02,
        "source": "test prices",
        "date": "2026-12-01",
        "quota": {"dedicated_cores": 40, "spot_cores": 100},
    }
    skus.write_text(json.dumps({"format": "batchsim-price-catalog/1", "currency": "USD", "rows": [row]}))
    out = tmp_path / "q.yaml"
    code, output = cli("pool", "pull", "render", "--out", str(out), "--skus", str(skus))
    assert code == 0, output
    scenario = load_scenario(out)
    assert scenario.pool.vcpus_per_node == 2
    assert (scenario.pool.quota.dedicated_cores, scenario.pool.quota.spot_cores) == (40, 100)
    assert scenario.prices is not None and scenario.prices.dedicated_per_hour == 0.1


def test_pull_refuses_to_overwrite(cli: Cli, batch: Running, tmp_path: Path) -> None:
    out = tmp_path / "s.yaml"
    out.write_text("keep me")
    code, output = cli("pool", "pull", "render", "--out", str(out))
    assert code == 1 and "--force" in output and out.read_text() == "keep me"
    assert cli("pool", "pull", "render", "--out", str(out), "--force")[0] == 0


def test_pull_unknown_pool_and_region(cli: Cli, batch: Running, tmp_path: Path) -> None:
    code, output = cli("pool", "pull", "ghost", "--out", str(tmp_path / "g.yaml"))
    assert code == 1 and "pool 'ghost' was not found" in output
    batch.service.pools["render"]["url"] = f"{batch.url}/pools/render"
    code, output = cli("pool", "pull", "render", "--out", str(tmp_path / "r.yaml"))
    assert code == 1 and "give --region" in output
    code, output = cli("pool", "pull", "render", "--out", str(tmp_path / "r.yaml"), "--region", "westeurope")
    assert code == 0 and load_scenario(tmp_path / "r.yaml").pool.region == "westeurope"
