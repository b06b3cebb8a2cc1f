"""Billing from node-state intervals (batch-behavior §6.1): per second, by kind and state.

Waste is billed time that ran no task: `idle`, and provisioning (`creating`, start task,
`starttaskfailed`); `leavingpool` is shown on its own (draining nodes may still run tasks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import pandas as pd

__all__ = ["PROVISIONING_STATES", "Bill", "bill"]

PROVISIONING_STATES = ("creating", "waitingforstarttask", "starttaskfailed")


class PriceLike(Protocol):
    dedicated_per_hour: float
    spot_per_hour: float


@dataclass(frozen=True)
class Bill:
    """What a run cost. `by_state` has one row per (kind, state): hours and usd."""

    by_state: pd.DataFrame
    total_usd: float
    dedicated_usd: float
    spot_usd: float
    idle_usd: float
    provisioning_usd: float
    node_hours_dedicated: float
    node_hours_spot: float

    def per_completed_task_usd(self, completed: int) -> float:
        return self.total_usd / completed if completed else float("nan")

    def per_core_hour_usd(self, vcpus_per_node: int) -> float:
        hours = (self.node_hours_dedicated + self.node_hours_spot) * vcpus_per_node
        return self.total_usd / hours if hours else float("nan")


def bill(nodes: pd.DataFrame, prices: PriceLike) -> Bill:
    """Price the billed node-state intervals (`billed` column) of a run."""
    billed = nodes[nodes["billed"].astype(bool)]
    hours = ((billed["end_s"] - billed["start_s"]) / 3600).groupby([billed["kind"], billed["state"]]).sum()
    by_state = hours.rename("hours").reset_index()
    price = by_state["kind"].map({"dedicated": prices.dedicated_per_hour, "spot": prices.spot_per_hour}).astype(float)
    by_state["usd"] = by_state["hours"] * price
    by_kind = by_state.groupby("kind")[["hours", "usd"]].sum()

    def pick(kind: str, column: str) -> float:
        return float(by_kind.loc[kind, column]) if kind in by_kind.index else 0.0

    return Bill(
        by_state=by_state,
        total_usd=float(by_state["usd"].sum()),
        dedicated_usd=pick("dedicated", "usd"),
        spot_usd=pick("spot", "usd"),
        idle_usd=float(by_state.loc[by_state["state"] == "idle", "usd"].sum()),
        provisioning_usd=float(by_state.loc[by_state["state"].isin(PROVISIONING_STATES), "usd"].sum()),
        node_hours_dedicated=pick("dedicated", "hours"),
        node_hours_spot=pick("spot", "hours"),
    )
