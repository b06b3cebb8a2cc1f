"""Billing from node-state intervals (batch-behavior §6.1): per second, by kind and state.

Waste is billed time that ran no task: `idle`, and provisioning (`creating`, start task,
`starttaskfailed`); `leavingpool` is shown on its own (draining nodes may still run tasks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from batchsim.cost.prices import PriceLike

__all__ = ["PROVISIONING_STATES", "Bill", "bill", "bill_seconds", "billed_seconds"]

PROVISIONING_STATES = ("creating", "waitingforstarttask", "starttaskfailed")


@dataclass(frozen=True)
class Bill:
    """What a run cost. `by_state` has one row per (kind, state): hours and usd.

    `by_state` is built when read, from `rows` (kind, state, hours, usd by sorted key): a search
    prices every run and reads only the totals, and the frame cost 0.4 ms of each run.
    """

    rows: tuple[tuple[str, str, float, float], ...]
    total_usd: float
    dedicated_usd: float
    spot_usd: float
    idle_usd: float
    provisioning_usd: float
    node_hours_dedicated: float
    node_hours_spot: float

    @property
    def by_state(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "kind": [row[0] for row in self.rows],
                "state": [row[1] for row in self.rows],
                "hours": [row[2] for row in self.rows],
                "usd": [row[3] for row in self.rows],
            },
            columns=["kind", "state", "hours", "usd"],
        )

    def per_completed_task_usd(self, completed: int) -> float:
        return self.total_usd / completed if completed else float("nan")

    def per_core_hour_usd(self, vcpus_per_node: int) -> float:
        hours = (self.node_hours_dedicated + self.node_hours_spot) * vcpus_per_node
        return self.total_usd / hours if hours else float("nan")


def billed_seconds(rows: Iterable[tuple[str, str, str, float, float, bool]]) -> dict[tuple[str, str], float]:
    """Billed seconds by (kind, state) from the `nodes` table's rows (node_id, kind, state, start_s,
    end_s, billed), each key's seconds added in row order.

    A plain loop over the engine's own record tuples: building a DataFrame, or even a tuple per row
    for this, costs more than the rest of a short run's summary (the optimizer's inner loop needs
    only the summary; on the 50-node day's 12,500 rows the loop is 3.5 ms, with a tuple a row 4.9).
    """
    seconds: dict[tuple[str, str], float] = {}
    get = seconds.get
    for _node_id, kind, state, start_s, end_s, billed in rows:
        if billed:
            key = (kind, state)
            seconds[key] = get(key, 0.0) + (end_s - start_s)
    return seconds


def bill(nodes: pd.DataFrame, prices: PriceLike) -> Bill:
    """Price the billed node-state intervals (`billed` column) of a run."""
    columns = ("node_id", "kind", "state", "start_s", "end_s", "billed")
    return bill_seconds(billed_seconds(zip(*(nodes[c].tolist() for c in columns), strict=True)), prices)


def bill_seconds(seconds: Mapping[tuple[str, str], float], prices: PriceLike) -> Bill:
    """Price billed seconds by (kind, state)."""
    per_hour = {"dedicated": prices.dedicated_per_hour, "spot": prices.spot_per_hour}
    keys = sorted(seconds)
    hours = [seconds[key] / 3600 for key in keys]
    usd = [h * per_hour[kind] for h, (kind, _) in zip(hours, keys, strict=True)]

    def total(values: list[float], keep: Callable[[str, str], bool]) -> float:
        return float(sum(v for v, (kind, state) in zip(values, keys, strict=True) if keep(kind, state)))

    return Bill(
        rows=tuple((kind, state, h, u) for (kind, state), h, u in zip(keys, hours, usd, strict=True)),
        total_usd=total(usd, lambda k, s: True),
        dedicated_usd=total(usd, lambda k, s: k == "dedicated"),
        spot_usd=total(usd, lambda k, s: k == "spot"),
        idle_usd=total(usd, lambda k, s: s == "idle"),
        provisioning_usd=total(usd, lambda k, s: s in PROVISIONING_STATES),
        node_hours_dedicated=total(hours, lambda k, s: k == "dedicated"),
        node_hours_spot=total(hours, lambda k, s: k == "spot"),
    )
