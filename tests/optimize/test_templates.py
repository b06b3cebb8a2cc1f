"""Templates: every formula rendered from in-bounds parameters passes `check` (Hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batchsim.formula import check
from batchsim.formula.diagnostics import Severity
from batchsim.optimize.templates import TemplateError, find_template, list_templates

NAMES = list_templates()


def test_six_templates_ship() -> None:
    assert set(NAMES) >= {"pending-tasks", "spot-share", "hysteresis", "time-of-day", "preemption-aware", "slot-aware"}


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_rendered_formulas_check_clean(name: str, data: st.DataObject) -> None:
    template = find_template(name)
    values = {
        p.name: data.draw(st.integers(int(p.low), int(p.high)) if p.kind == "int" else st.floats(p.low, p.high))
        for p in template.parameters
    }
    text = template.render(values)
    errors = [d for d in check(text) if d.severity is Severity.ERROR]
    assert errors == [], (text, errors)


def test_out_of_bounds_and_unknown_parameters_are_refused() -> None:
    template = find_template("pending-tasks")
    with pytest.raises(TemplateError, match="outside"):
        template.render({"maxNodes": 1000})
    with pytest.raises(TemplateError, match="no parameter"):
        template.render({"nodes": 3})
    with pytest.raises(TemplateError, match="no template"):
        find_template("nonexistent")


def _targets(text: str, pool: dict[str, object], pending: list[float], preempted: float = 0) -> dict[str, float]:
    """The targets a formula sets in the DESIGN §3 context: `pending` samples 30 s apart, newest last."""
    from batchsim.formula import compile
    from batchsim.formula.context_file import parse_context

    context = parse_context(
        {
            "time": "2026-01-05T12:00:00Z",
            "pool": {"taskSlotsPerNode": 1, **pool},
            "samples": {
                "$PendingTasks": {"interval_s": 30, "values": pending},
                "$PreemptedNodeCount": {"interval_s": 30, "values": [preempted] * len(pending)},
            },
        }
    )
    run = compile(text).evaluate(context)
    assert run.error is None, run.error
    values = dict(item.split("=") for item in run.results.split(";"))
    return {k: float(v) for k, v in values.items() if k.startswith("$Target")}


@pytest.mark.parametrize("name", ["spot-share", "spot-hysteresis", "spot-fallback"])
def test_the_dedicated_floor_is_a_floor(name: str) -> None:
    """An empty queue keeps the floor (it used to be min(floor, demand): 0 when the queue emptied)."""
    text = find_template(name).render({"dedicatedFloor": 3})
    idle = _targets(text, {}, [0.0] * 40)
    assert idle["$TargetDedicatedNodes"] == 3 and idle["$TargetLowPriorityNodes"] == 0
    busy = _targets(text, {}, [10.0] * 40)
    assert busy["$TargetDedicatedNodes"] == 3 and busy["$TargetLowPriorityNodes"] == 7


def test_spot_fallback_stands_in_for_spot_it_cannot_get() -> None:
    """Ten Spot nodes asked for, none obtained (a drought): half of them as dedicated stand-ins."""
    text = find_template("spot-fallback").render({"dedicatedFloor": 1, "standIn": 0.5, "headroom": 1})
    drought = {"targetLowPriorityNodes": 10, "currentLowPriorityNodes": 0, "targetDedicatedNodes": 1}
    targets = _targets(text, drought, [11.0] * 40)
    assert targets["$TargetLowPriorityNodes"] == 10 and targets["$TargetDedicatedNodes"] == 1 + 5
    served = {"targetLowPriorityNodes": 10, "currentLowPriorityNodes": 10, "targetDedicatedNodes": 1}
    assert _targets(text, served, [11.0] * 40)["$TargetDedicatedNodes"] == 1
    # Preempted Spot nodes count as missing, and are asked for again.
    evicted = {"targetLowPriorityNodes": 10, "currentLowPriorityNodes": 10, "preemptedNodeCount": 4}
    targets = _targets(text, evicted, [11.0] * 40, preempted=4)
    assert targets["$TargetLowPriorityNodes"] == 14 and targets["$TargetDedicatedNodes"] == 1 + 2


def test_spot_floor_keeps_its_base_and_follows_the_queue_above_it() -> None:
    from batchsim.formula import compile
    from batchsim.formula.context_file import parse_context

    text = find_template("spot-floor").render({"maxSpot": 20, "floorShare": 0.5, "waitingShare": 0.5, "spareNodes": 1})

    def targets(running: float, active: float, preempted: float = 0) -> tuple[float, float]:
        context = parse_context(
            {
                "time": "2026-01-05T12:00:00Z",
                "pool": {"taskSlotsPerNode": 2},
                "samples": {
                    name: {"interval_s": 30, "values": [value] * 10}
                    for name, value in (
                        ("$RunningTasks", running),
                        ("$ActiveTasks", active),
                        ("$PendingTasks", running + active),
                        ("$PreemptedNodeCount", preempted),
                    )
                },
            }
        )
        run = compile(text).evaluate(context)
        assert run.error is None, run.error
        values = dict(item.split("=") for item in run.results.split(";"))
        return float(values["$TargetDedicatedNodes"]), float(values["$TargetLowPriorityNodes"])

    assert targets(0, 0) == (0, 10)  # the base: half of maxSpot, with an empty queue
    assert targets(24, 10) == (0, (24 + 0.5 * 10 + 1) / 2 + 1)  # 16 nodes: above the base
    assert targets(60, 40) == (0, 20)  # capped at maxSpot
    assert targets(0, 0, preempted=3) == (0, 13)  # preempted nodes asked for again
