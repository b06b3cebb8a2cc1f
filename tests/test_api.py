"""The Python API of DESIGN §5, as a planner uses it from a notebook."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

import batchsim as bs


def test_the_notebook_api_end_to_end() -> None:
    program = bs.formula.compile("$TargetDedicatedNodes = 2;")
    assert program.evaluate(bs.formula.EvalContext(now_tick=0)).results.startswith("$TargetDedicatedNodes=2;")
    assert bs.formula.check("x = ;")[0].severity.value == "error"
    scenario = bs.load_scenario("scenarios/default.yaml", overrides={"pool.initial_spot": 4, "duration": "2h"})
    result = bs.simulate(scenario, seed=3)
    assert result.summary["seed"] == 3 and result.summary["simulated_s"] == 7200
    for draw in (
        result.plot.nodes,
        result.plot.queue,
        result.plot.waits,
        result.plot.cost,
        result.plot.preemptions,
        result.plot.cost_rate,
    ):
        fig, ax = plt.subplots()
        assert draw(ax=ax) is ax
        plt.close(fig)


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        bs.no_such_thing  # noqa: B018


def test_simulate_and_load_scenario_are_the_functions_whatever_was_imported_first() -> None:
    import batchsim.pipeline
    import batchsim.scenario

    assert bs.simulate is batchsim.pipeline.simulate
    assert bs.load_scenario is batchsim.scenario.load_scenario
    scenario = bs.load_scenario("scenarios/default.yaml", overrides={"duration": "1h"})
    assert bs.simulate(scenario, seed=1).summary["seed"] == 1
