"""The scenario a plan runs: the scenario's workload on another pool shape.

The pool gets the size (its catalog vCPUs, prices and per-family core quota), the slots per node
and the fill type; every task duration a node runs (tasks, task lists, job preparation and release)
is multiplied by the size's `duration_factor`. Scaling a distribution's scale parameter scales each
draw by the same factor, so the planned workload is the scenario's own, task for task and seed for
seed (common random numbers across sizes).
"""

from __future__ import annotations

from typing import Any

from batchsim.plan.shapes import Size
from batchsim.scenario import Scenario

__all__ = ["planned_scenario", "scaled_distribution"]

_SCALE_KEYS = {"constant": ("value",), "exponential": ("mean",), "uniform": ("low", "high"), "lognormal": ("median",)}


def scaled_distribution(dist: dict[str, Any], factor: float) -> dict[str, Any]:
    """A distribution (as its scenario mapping) whose every draw is `factor` × the original's."""
    keys = _SCALE_KEYS[dist["dist"]]
    return {k: (v * factor if k in keys else v) for k, v in dist.items()}


def _scale_entry(entry: dict[str, Any], factor: float) -> None:
    if "task_duration" in entry:
        entry["task_duration"] = scaled_distribution(entry["task_duration"], factor)
    for task in entry.get("tasks") or []:
        if task.get("duration") is not None:
            task["duration"] = scaled_distribution(task["duration"], factor)
    for prep in ("preparation", "release"):
        if entry.get(prep) is not None:
            entry[prep]["duration"] = entry[prep]["duration"] * factor


def planned_scenario(scenario: Scenario, size: Size, slots: int, fill: str) -> Scenario:
    """`scenario` on `size` with `slots` per node and `fill`, durations scaled to the size's speed."""
    data = scenario.model_dump(mode="json", exclude={"origin"})
    pool = data["pool"]
    same = size.vm_size == scenario.pool.vm_size
    pool.update({"vm_size": size.vm_size, "task_slots_per_node": slots, "node_fill_type": fill})
    if not same or pool.get("vcpus_per_node") is None:
        pool["vcpus_per_node"] = size.vcpus
    if size.quota_cores is not None:
        # One size is one family: its family quota is the pool's dedicated quota, which the engine holds.
        pool["quota"]["dedicated_cores"] = size.quota_cores
    if size.max_dedicated_nodes is not None:
        pool["initial_dedicated"] = min(pool["initial_dedicated"], size.max_dedicated_nodes)
    if size.max_spot_nodes is not None:
        pool["initial_spot"] = min(pool["initial_spot"], size.max_spot_nodes)
    data["prices"] = size.prices.model_dump(mode="json")
    if size.duration_factor != 1.0:
        for entry in data["workload"]:
            _scale_entry(entry, size.duration_factor)
    data["name"] = f"{scenario.name} on {size.vm_size}, {slots} slots, {fill}"
    planned = Scenario.model_validate(data)
    planned.base_dir = scenario.base_dir
    return planned
