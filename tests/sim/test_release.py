"""A finished run holds no reference cycles: dropping its result frees it by reference counting,
so a worker running thousands of runs never waits for the cycle collector to walk them."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from batchsim.pipeline import simulate
from batchsim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["spot-first.yaml", "hourly-schedule.yaml", "default.yaml"])
def test_a_dropped_run_leaves_nothing_for_the_cycle_collector(name: str) -> None:
    scenario = load_scenario(ROOT / "scenarios" / name, ["duration=6h"])
    gc.collect()
    gc.disable()
    try:
        result = simulate(scenario, 1)
        tasks = result.summary["tasks_submitted"]
        assert tasks > 100 and result.plot is not None  # plots bound, tasks still running or queued
        del result
        found = gc.collect()
    finally:
        gc.enable()
    # Before: every task, attempt and record of the run (tens of thousands of objects).
    assert found < 100, f"{found} objects in reference cycles after a run of {tasks} tasks"
