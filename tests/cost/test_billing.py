"""Billing: per second, billed states only, parts add up, monotone in node-hours."""

from __future__ import annotations

import math

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from batchsim.cost.billing import bill
from batchsim.scenario import Prices
from batchsim.sim.records import BILLED_STATES

PRICES = Prices(dedicated_per_hour=0.096, spot_per_hour=0.0192)
STATES = ["pending", "creating", "idle", "running", "preempted", "leavingpool", "starttaskfailed"]

intervals = st.lists(
    st.tuples(st.sampled_from(["dedicated", "spot"]), st.sampled_from(STATES), st.floats(0, 1e5), st.floats(0, 7200)),
    max_size=40,
)


def frame(rows: list[tuple[str, str, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            (f"n{i}", kind, state, start, start + length, state in BILLED_STATES)
            for i, (kind, state, start, length) in enumerate(rows)
        ],
        columns=["node_id", "kind", "state", "start_s", "end_s", "billed"],
    )


def test_one_hour_of_each_kind() -> None:
    nodes = frame([("dedicated", "running", 0, 3600), ("spot", "idle", 0, 1800), ("spot", "preempted", 0, 3600)])
    costs = bill(nodes, PRICES)
    assert math.isclose(costs.dedicated_usd, 0.096) and math.isclose(costs.spot_usd, 0.0096)
    assert math.isclose(costs.idle_usd, 0.0096) and costs.provisioning_usd == 0
    assert math.isclose(costs.per_core_hour_usd(2), costs.total_usd / 3)


@given(intervals, st.floats(1, 3600))
def test_parts_add_up_and_cost_grows_with_node_hours(rows: list[tuple[str, str, float, float]], extra_s: float) -> None:
    costs = bill(frame(rows), PRICES)
    assert math.isclose(costs.total_usd, costs.dedicated_usd + costs.spot_usd, abs_tol=1e-9)
    assert math.isclose(costs.total_usd, costs.by_state["usd"].sum(), abs_tol=1e-9)
    assert costs.idle_usd + costs.provisioning_usd <= costs.total_usd + 1e-9
    more = bill(frame([*rows, ("spot", "running", 0.0, extra_s)]), PRICES)
    assert more.total_usd > costs.total_usd
    unbilled = bill(frame([*rows, ("spot", "preempted", 0.0, extra_s)]), PRICES)
    assert math.isclose(unbilled.total_usd, costs.total_usd, abs_tol=1e-12)
