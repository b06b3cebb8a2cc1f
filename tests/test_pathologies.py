"""The known Batch pathologies: each shipped scenario shows the symptom with its faulty formula and
not with the fixed formula from the library (issue 4 §5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchsim.pipeline import simulate
from batchsim.scenario import load_scenario
from batchsim.sim.result import Result

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def both(name: str, fixed: str) -> tuple[Result, Result]:
    path = SCENARIOS / f"pathology-{name}.yaml"
    faulty = simulate(load_scenario(path))
    repaired = simulate(load_scenario(path, [f"pool.autoscale.formula_file=../formulas/{fixed}.formula"]))
    return faulty, repaired


def slot_utilisation(result: Result) -> float:
    cpu = result.metrics[result.metrics["name"] == "$CPUPercent"]["value"]
    return float(cpu.mean())


def idle_hours_after(result: Result, after_s: float) -> float:
    idle = result.nodes[result.nodes["state"] == "idle"]
    overlap = (idle["end_s"] - idle["start_s"].clip(lower=after_s)).clip(lower=0)
    return float(overlap.sum() / 3600)


def test_slot_blind_scaling_leaves_slots_idle() -> None:
    faulty, fixed = both("slot-blind", "slot-aware")
    assert slot_utilisation(faulty) < 0.5 * slot_utilisation(fixed)
    assert fixed.summary["cost_usd"] < 0.6 * faulty.summary["cost_usd"]
    assert fixed.summary["tasks_completed"] >= 0.99 * faulty.summary["tasks_completed"]


def test_preempted_spot_nodes_pile_up_without_replacement() -> None:
    faulty, fixed = both("preempted-spot", "preemption-aware")
    assert faulty.summary["preemptions"] > 50 and fixed.summary["preemptions"] > 50
    assert faulty.summary["tasks_active_at_end"] > 500  # the queue never drains
    assert fixed.summary["tasks_active_at_end"] < 50
    assert fixed.summary["wait_s_p95"] < 0.2 * faulty.summary["wait_s_p95"]


def test_active_tasks_scale_down_with_requeue_kills_running_work() -> None:
    faulty, fixed = both("active-tasks-requeue", "taskcompletion-scale-down")
    assert faulty.summary["task_requeues"] > 20
    assert fixed.summary["task_requeues"] == 0
    assert fixed.summary["tasks_completed"] > faulty.summary["tasks_completed"]


def test_pool_that_scales_up_and_stays_idle() -> None:
    faulty, fixed = both("idle-after-burst", "hysteresis")
    idle = {name: idle_hours_after(r, 3 * 3600) for name, r in (("faulty", faulty), ("fixed", fixed))}
    assert idle["faulty"] > 5 * max(idle["fixed"], 1.0)
    assert fixed.summary["cost_usd"] < 0.5 * faulty.summary["cost_usd"]


@pytest.mark.parametrize("name", ["slot-blind", "active-tasks-requeue"])
def test_the_linter_flags_the_faulty_formulas(name: str) -> None:
    from batchsim.formula import check

    scenario = load_scenario(SCENARIOS / f"pathology-{name}.yaml")
    codes = {d.code for d in check(scenario.formula_text() or "")}
    assert codes & {"BS103", "BS104"}
