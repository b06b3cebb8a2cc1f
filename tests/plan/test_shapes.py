"""What fits on a node, how fast a core is, what a quota allows (issue 24 §1, DESIGN §9).

Oracles from outside the code: the service's slot limits (taskSlotsPerNode at most min(4 × vCPUs,
256), batch-behavior §4.1 from the REST reference), the sizes' vCPUs and memory as Microsoft's size
pages give them (Standard_D4s_v3: 4 vCPUs, 16 GiB; Standard_E4s_v3: 4 vCPUs, 32 GiB), and the ACU
per vCPU of Microsoft's ACU page (https://learn.microsoft.com/azure/virtual-machines/acu: Ds_v3 and
Es_v3 160-190, F2s_v2-F72s_v2 195-210; no figure for the v5 series).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batchsim.cost.catalog import find
from batchsim.pipeline import scenario_workload
from batchsim.plan.planned import planned_scenario
from batchsim.plan.shapes import plan_sizes
from batchsim.scenario import Scenario, load_scenario

BASE = """
name: shapes
duration: 2h
pool:
  vm_size: Standard_D2s_v3
  region: westeurope
  task_slots_per_node: 1
  autoscale: {formula: "$TargetDedicatedNodes = 2;", interval: 5m}
workload:
  - kind: poisson
    rate_per_hour: 60
    task_duration: {dist: exponential, mean: 300s}
"""


def scenario(tmp_path: Path, overrides: dict[str, Any] | None = None) -> Scenario:
    path = tmp_path / "s.yaml"
    path.write_text(BASE, encoding="utf-8")
    return load_scenario(path, overrides or {})


def test_catalog_acu_is_the_acu_page_range_midpoint() -> None:
    assert find("Standard_D2s_v3", "westeurope")["acu_range"] == [160, 190]
    assert find("Standard_D2s_v3", "westeurope")["acu"] == 175
    assert find("Standard_F4s_v2", "westeurope")["acu_range"] == [195, 210]
    assert find("Standard_E4s_v3", "westeurope")["acu_range"] == [160, 190]
    assert find("Standard_D4s_v5", "westeurope")["acu"] is None  # the page lists no v5 series


def test_slots_are_held_to_4_per_vcpu_and_256(tmp_path: Path) -> None:
    tiny = scenario(tmp_path, {"workload.0.resources": {"vcpus": 0.001}})
    sizes, excluded = plan_sizes(tiny, ["Standard_D2s_v3", "Standard_F72s_v2"])
    assert not excluded
    by_name = {s.vm_size: s for s in sizes}
    assert by_name["Standard_D2s_v3"].slots_max == 8  # 4 × 2 vCPUs
    assert by_name["Standard_F72s_v2"].slots_max == 256  # 4 × 72 = 288, above the service's 256
    assert by_name["Standard_F72s_v2"].slots_bound_by == "service limit"
    assert by_name["Standard_D2s_v3"].slot_choices == (1, 2, 4, 8)


def test_memory_not_cores_bounds_the_slots(tmp_path: Path) -> None:
    s = scenario(tmp_path, {"workload.0.resources": {"vcpus": 1, "memory_gib": 6}})
    sizes, _ = plan_sizes(s, ["Standard_D4s_v3", "Standard_E4s_v3"])
    d4, e4 = sizes
    assert (d4.slots_max, d4.slots_bound_by) == (2, "memory")  # 16 GiB / 6 GiB: 2 tasks, though 4 vCPUs
    assert (e4.slots_max, e4.slots_bound_by) == (4, "vCPUs")  # 32 GiB holds 5; 4 vCPUs hold 4


def test_the_shipped_memory_bound_scenario_is_bound_by_memory() -> None:
    shipped = load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "memory-bound.yaml")
    sizes, _ = plan_sizes(shipped, ["Standard_D4s_v3", "Standard_E4s_v3"])
    assert [(s.slots_max, s.slots_bound_by) for s in sizes] == [(2, "memory"), (4, "vCPUs")]
    assert sizes[0].slots_max == shipped.pool.task_slots_per_node  # its own pool is as full as memory allows


def test_a_task_larger_than_a_node_excludes_the_size(tmp_path: Path) -> None:
    s = scenario(tmp_path, {"workload.0.resources": {"vcpus": 1, "memory_gib": 20}})
    sizes, excluded = plan_sizes(s, ["Standard_D4s_v3", "Standard_E4s_v3"])
    assert [x.vm_size for x in sizes] == ["Standard_E4s_v3"]
    assert (
        excluded[0].vm_size == "Standard_D4s_v3" and "20 GiB" in excluded[0].reason and "16 GiB" in excluded[0].reason
    )


def test_durations_scale_by_the_acu_ratio_or_the_speed_override(tmp_path: Path) -> None:
    s = scenario(tmp_path)
    sizes, _ = plan_sizes(s, ["Standard_D4s_v3", "Standard_F4s_v2"])
    assert sizes[0].duration_factor == 1.0  # one family, one speed
    assert math.isclose(sizes[1].duration_factor, 175 / 202.5)
    faster = scenario(tmp_path, {"pool.speed": {"Standard_F4s_v2": 350}})
    sizes, _ = plan_sizes(faster, ["Standard_F4s_v2"])
    assert math.isclose(sizes[0].duration_factor, 0.5)


def test_a_size_without_a_speed_is_excluded_until_pool_speed_names_it(tmp_path: Path) -> None:
    s = scenario(tmp_path)
    sizes, excluded = plan_sizes(s, ["Standard_D4s_v5"])
    assert not sizes and "pool.speed.Standard_D4s_v5" in excluded[0].reason
    given_speed = scenario(tmp_path, {"pool.speed": {"Standard_D4s_v5": 210}})
    sizes, _ = plan_sizes(given_speed, ["Standard_D4s_v5"])
    assert math.isclose(sizes[0].duration_factor, 175 / 210)


def test_family_quota_below_one_node_excludes_and_bounds_the_nodes(tmp_path: Path) -> None:
    quota = {"dedicated_cores_per_family": {"standardDSv3Family": 12}, "per_family_enforced": True}
    s = scenario(tmp_path, {"pool.quota": quota})
    sizes, excluded = plan_sizes(s, ["Standard_D4s_v3", "Standard_D16s_v3", "Standard_F4s_v2"])
    assert [x.vm_size for x in sizes] == ["Standard_D4s_v3"]
    assert sizes[0].max_dedicated_nodes == 3  # 12 cores / 4
    reasons = {x.vm_size: x.reason for x in excluded}
    assert "12 cores, below one 16-vCPU node" in reasons["Standard_D16s_v3"]
    assert "standardFSv2Family is 0 cores" in reasons["Standard_F4s_v2"]  # no entry: no cores, as the service reads it
    not_enforced = scenario(tmp_path, {"pool.quota": {**quota, "per_family_enforced": False}})
    sizes, excluded = plan_sizes(not_enforced, ["Standard_D16s_v3", "Standard_F4s_v2"])
    assert len(sizes) == 2 and sizes[0].max_dedicated_nodes is None


@settings(max_examples=40, deadline=None)
@given(
    vcpus=st.floats(0.1, 8),
    memory=st.floats(0.5, 40),
    required=st.integers(1, 3),
    size=st.sampled_from(["Standard_D2s_v3", "Standard_D8s_v3", "Standard_E16s_v3", "Standard_F72s_v2"]),
)
def test_the_slots_never_hold_more_tasks_than_the_node_has_resources(
    tmp_path_factory: pytest.TempPathFactory, vcpus: float, memory: float, required: int, size: str
) -> None:
    s = scenario(
        tmp_path_factory.mktemp("h"),
        {"workload.0.resources": {"vcpus": vcpus, "memory_gib": memory}, "workload.0.required_slots": required},
    )
    sizes, excluded = plan_sizes(s, [size])
    row = find(size, "westeurope")
    if excluded:
        assert vcpus > row["vcpus"] or memory > row["memory_gib"] or required > min(256, 4 * row["vcpus"])
        return
    slots = sizes[0].slots_max
    tasks = slots // required
    assert required <= slots <= min(256, 4 * row["vcpus"])
    assert tasks * vcpus <= row["vcpus"] + 1e-6 and tasks * memory <= row["memory_gib"] + 1e-6


def test_the_planned_workload_is_the_same_tasks_at_the_size_s_speed(tmp_path: Path) -> None:
    s = scenario(tmp_path)
    f4 = plan_sizes(s, ["Standard_F4s_v2"])[0][0]
    planned = planned_scenario(s, f4, 2, "pack")
    assert (planned.pool.vm_size, planned.pool.task_slots_per_node, planned.pool.node_fill_type) == (
        "Standard_F4s_v2",
        2,
        "pack",
    )
    assert (
        planned.prices is not None
        and planned.prices.dedicated_per_hour == find("Standard_F4s_v2", "westeurope")["dedicated_per_hour"]
    )
    own = scenario_workload(s, 3).tasks
    there = scenario_workload(planned, 3).tasks
    assert [t.submit_s for t in own] == [t.submit_s for t in there]
    ratios = {round(b.duration_s / a.duration_s, 9) for a, b in zip(own, there, strict=True)}
    assert ratios == {round(175 / 202.5, 9)}
