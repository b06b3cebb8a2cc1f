"""`bs.plan_pool`, the plan as a notebook calls it (notebooks/which-pool-shape.ipynb): the same plan as
`batchsim plan` with the same options, and a root name that importing `batchsim.plan` cannot shadow."""

from __future__ import annotations

import json
from pathlib import Path

import batchsim as bs
from tests.plan.test_plan import run_plan

SIZES = ["Standard_D2s_v3", "Standard_D4s_v3"]


def test_plan_pool_is_the_command_s_plan(tmp_path: Path) -> None:
    # The oracle is the command's own plan.json on the same scenario, options and seeds.
    code, output, out = run_plan(tmp_path, *(a for s in SIZES for a in ("--size", s)), "--p95-wait-target", "900")
    assert code == 0, output
    command = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    result = bs.plan_pool(
        tmp_path / "scenario.yaml",
        SIZES,
        templates=["pending-tasks"],
        budget=6,
        seeds=1,
        final_seeds=2,
        p95_wait_target_s=900,
        workers=1,
    )
    ours = bs.plan_document(result)
    for key in ("vm_size", "task_slots_per_node", "node_fill_type", "params", "cost_usd", "wait_s_p95", "improvement"):
        assert ours[key] == command[key], key
    assert ours["baseline"]["cost_usd"] == command["baseline"]["cost_usd"]
    assert len(result.trials) == command["trials"] == 6
    assert "| pool |" in bs.plan_report(result)


def test_the_root_name_stays_the_function_once_the_subpackage_is_imported() -> None:
    import importlib
    import types

    importlib.import_module("batchsim.plan.search")  # binds `batchsim.plan` to the subpackage, as any use does
    assert isinstance(bs.plan, types.ModuleType)  # why the function's root name is not `plan`
    assert callable(bs.plan_pool) and bs.plan_pool.__name__ == "plan_pool"


def test_multi_instance_tasks_plan_one_slot_and_pool_json_enables_inter_node_communication() -> None:
    # REST Pool - Add (learn.microsoft.com/rest/api/batchservice/pool/add): `enableInterNodeCommunication`
    # is set when the pool is created and cannot change; multi-instance tasks need it and one task slot
    # per node (learn.microsoft.com/azure/batch/batch-mpi). On the old code the planner tried 2 and 4
    # slots on the D4s_v3, which the scenario model refuses, and pool.json never enabled it.
    from azure.batch.models import BatchPoolCreateOptions

    from batchsim.plan.outputs import pool_body

    result = bs.plan_pool(
        Path(__file__).resolve().parents[2] / "scenarios" / "mpi.yaml",
        ["Standard_D2s_v3", "Standard_D4s_v3"],
        templates=["pending-tasks"],
        budget=4,
        seeds=1,
        final_seeds=2,
        p95_wait_target_s=7200,  # a trial per size that meets it, so that each has a planned pool
        workers=1,
        overrides={"duration": "2h", "pool.region": "westeurope"},  # where the catalog prices both
    )
    assert {s.vm_size: (s.slot_choices, s.slots_bound_by) for s in result.sizes} == {
        "Standard_D2s_v3": ((1,), "multi-instance tasks"),
        "Standard_D4s_v3": ((1,), "multi-instance tasks"),
    }
    assert set(result.trials["task_slots_per_node"]) == {1}
    planned = next(p for p in result.per_size.values() if p is not None)
    body = pool_body(planned, "mpi-plan")
    assert body["enableInterNodeCommunication"] is True
    model = BatchPoolCreateOptions(body)  # the SDK's model of the REST body reads it
    assert model.enable_inter_node_communication is True and model.task_slots_per_node == 1
    assert pool_body(result.own, "mpi-plan")["enableInterNodeCommunication"] is True


def test_a_pool_without_inter_node_communication_leaves_the_key_out() -> None:
    from batchsim.plan.outputs import pool_body

    result = bs.plan_pool(
        Path(__file__).resolve().parents[2] / "scenarios" / "memory-bound.yaml",
        ["Standard_E4s_v3"],
        templates=["slot-aware"],
        budget=2,
        seeds=1,
        final_seeds=2,
        workers=1,
        overrides={"duration": "1h"},
    )
    assert "enableInterNodeCommunication" not in pool_body(result.own, "m-plan")  # the service's default: false
