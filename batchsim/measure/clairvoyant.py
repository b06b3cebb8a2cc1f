"""A clairvoyant lower bound on cost: a pool that knows the workload in advance.

It runs every task the moment it is submitted, on just enough slots, with nodes ordered ahead by
the provisioning delay so that they are ready in time, at the cheapest allowed price. What it pays
is the busy slot-seconds divided by the slots per node (no idle slot, no idle node, no rounding up
to whole nodes) plus the billed boot of the fewest nodes that must be started to carry the average
load. A real formula pays at least that for the same work, so the gap to it is what is left to gain.
(A formula that leaves work unfinished at the end of the horizon does less work; the bound counts
only the work that falls inside the horizon when every task starts at once, so such a formula
would have to leave more than its waits' worth of work undone to go below it.)
"""

from __future__ import annotations

import math

import numpy as np

from batchsim.pipeline import resolve_prices
from batchsim.scenario import Scenario
from batchsim.workload.generators import build_workload
from batchsim.workload.spec import TaskSpec

__all__ = ["busy_slot_s", "clairvoyant_cost_usd", "demand_nodes"]


def _tasks(scenario: Scenario, seed: int) -> list[TaskSpec]:
    """Every task of the known workload with its absolute submit time (schedules at nominal times)."""
    workload = build_workload(scenario.workload, scenario.duration, seed)
    tasks = list(workload.tasks)
    for schedule in workload.schedules:
        interval = schedule.recurrence_interval_s or math.inf
        for k, occurrence in enumerate(schedule.occurrences):
            start = schedule.do_not_run_until_s + k * interval
            for t in occurrence:
                if start + t.submit_s < scenario.duration:
                    t.submit_s += start
                    tasks.append(t)
    return tasks


def busy_slot_s(scenario: Scenario, seed: int) -> float:
    """Slot-seconds of work inside the horizon when every task starts at its submission."""
    return float(
        sum(
            t.required_slots * max(0.0, min(t.duration_s, scenario.duration - t.submit_s))
            for t in _tasks(scenario, seed)
        )
    )


def demand_nodes(scenario: Scenario, seed: int, *, step_s: float = 60.0) -> np.ndarray:
    """Nodes busy at each `step_s` when every task starts at its submission (for sizing caps)."""
    grid = np.arange(0.0, scenario.duration, step_s)
    slots = np.zeros(len(grid) + 1)
    for t in _tasks(scenario, seed):
        first = np.searchsorted(grid, t.submit_s)
        last = np.searchsorted(grid, min(t.submit_s + t.duration_s, scenario.duration))
        slots[first] += t.required_slots
        slots[last] -= t.required_slots
    return np.ceil(np.cumsum(slots)[: len(grid)] / scenario.pool.task_slots_per_node)


def clairvoyant_cost_usd(scenario: Scenario, seed: int, *, spot_allowed: bool = True) -> float:
    """A lower bound on the cost of the known workload of `scenario` on `seed` (see the module)."""
    node_s = busy_slot_s(scenario, seed) / scenario.pool.task_slots_per_node
    initial = scenario.pool.initial_dedicated + scenario.pool.initial_spot
    starts = max(0, math.ceil(node_s / scenario.duration) - initial)
    boot_s = starts * scenario.pool.provisioning_delay.boot_billed_s
    prices = resolve_prices(scenario)
    price = min(prices.dedicated_per_hour, prices.spot_per_hour) if spot_allowed else prices.dedicated_per_hour
    return (node_s + boot_s) / 3600 * price
