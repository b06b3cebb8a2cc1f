"""A clairvoyant lower bound on cost: a pool that knows the workload in advance.

It runs every task the moment it is submitted, on just enough slots, with nodes ordered ahead so
that they are ready in time (their billed boot time is still paid), all at the cheapest allowed
price. No real formula can do better, so the gap to it is what is left to gain.
"""

from __future__ import annotations

import math

import numpy as np

from batchsim.scenario import Scenario
from batchsim.simulate import resolve_prices
from batchsim.workload.generators import build_workload

__all__ = ["clairvoyant_cost_usd"]


def clairvoyant_cost_usd(scenario: Scenario, seed: int, *, spot_allowed: bool = True, step_s: float = 30.0) -> float:
    """The cost of just-enough nodes for the known workload of `scenario` on `seed`."""
    workload = build_workload(scenario.workload, scenario.duration, seed)
    slots = scenario.pool.task_slots_per_node
    grid = np.arange(0.0, scenario.duration + step_s, step_s)
    demand = np.zeros(len(grid) + 1)
    tasks = list(workload.tasks)
    for schedule in workload.schedules:  # occurrences at their nominal times (a lower bound)
        interval = schedule.recurrence_interval_s or math.inf
        for k, occurrence in enumerate(schedule.occurrences):
            start = schedule.do_not_run_until_s + k * interval
            tasks += [t for t in occurrence if start + t.submit_s < scenario.duration]
            for t in occurrence:
                t.submit_s += start
    for task in tasks:
        first = np.searchsorted(grid, task.submit_s)
        last = np.searchsorted(grid, min(task.submit_s + task.duration_s, scenario.duration))
        demand[first] += task.required_slots
        demand[last] -= task.required_slots
    nodes = np.ceil(np.cumsum(demand)[: len(grid)] / slots)
    node_hours = float(nodes.sum() * step_s / 3600)
    starts = float(np.clip(np.diff(nodes, prepend=0.0), 0, None).sum())
    boot_hours = starts * scenario.pool.provisioning_delay.boot_billed_s / 3600
    prices = resolve_prices(scenario)
    price = min(prices.dedicated_per_hour, prices.spot_per_hour) if spot_allowed else prices.dedicated_per_hour
    return (node_hours + boot_hours) * price
