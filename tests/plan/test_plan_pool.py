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
