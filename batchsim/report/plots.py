"""Plots of a run for reports and notebooks; each takes `ax=` and returns the axes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from batchsim.report.runs import Run

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["cost_breakdown", "nodes_over_time", "preemptions", "queue_length", "wait_distribution"]


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(9, 3.2))[1]


def _counts(nodes: pd.DataFrame, grid_s: np.ndarray, kind: str, states: tuple[str, ...]) -> np.ndarray:
    part = nodes[(nodes["kind"] == kind) & nodes["state"].isin(states)]
    starts = np.searchsorted(grid_s, part["start_s"].to_numpy(), side="left")
    ends = np.searchsorted(grid_s, part["end_s"].to_numpy(), side="left")
    delta = np.zeros(len(grid_s) + 1)
    np.add.at(delta, starts, 1)
    np.add.at(delta, ends, -1)
    return np.cumsum(delta)[:-1]


def nodes_over_time(run: Run, ax: Axes | None = None) -> Axes:
    """Ready nodes by kind against the autoscale targets and the demand in slots."""
    ax = _axes(ax)
    horizon = float(run.summary.get("simulated_s", run.nodes["end_s"].max() if len(run.nodes) else 0))
    grid = np.linspace(0, horizon, 600)
    hours = grid / 3600
    ready = ("idle", "running")
    dedicated = _counts(run.nodes, grid, "dedicated", ready)
    spot = _counts(run.nodes, grid, "spot", ready)
    ax.stackplot(
        hours, dedicated, spot, labels=["dedicated ready", "spot ready"], colors=["#4C72B0", "#55A868"], alpha=0.8
    )
    if len(run.evaluations):
        ev = run.evaluations
        ax.step(
            ev["time_s"] / 3600,
            ev["target_dedicated"] + ev["target_spot"],
            where="post",
            color="black",
            lw=1,
            label="target (total)",
        )
    pending = run.metrics[run.metrics["name"] == "$PendingTasks"]
    if len(pending):
        ax.plot(pending["time_s"] / 3600, pending["value"], color="#C44E52", lw=0.8, alpha=0.8, label="pending tasks")
    ax.set_xlabel("hours")
    ax.set_ylabel("nodes / tasks")
    ax.set_title("Nodes against targets and demand")
    ax.legend(loc="upper left", fontsize=8)
    return ax


def queue_length(run: Run, ax: Axes | None = None) -> Axes:
    """Active (queued) and running tasks over time, from the 30 s samples."""
    ax = _axes(ax)
    for name, color in (("$ActiveTasks", "#C44E52"), ("$RunningTasks", "#4C72B0")):
        part = run.metrics[run.metrics["name"] == name]
        ax.plot(part["time_s"] / 3600, part["value"], label=name, color=color, lw=0.9)
    ax.set_xlabel("hours")
    ax.set_ylabel("tasks")
    ax.set_title("Queue")
    ax.legend(fontsize=8)
    return ax


def wait_distribution(run: Run, ax: Axes | None = None) -> Axes:
    """Histogram of task waits (eligible → first start) with the p50 and p95 marked."""
    ax = _axes(ax)
    waits = run.tasks["wait_s"].dropna().to_numpy(dtype=float)
    if waits.size:
        ax.hist(waits, bins=60, color="#8172B2", alpha=0.85)
        for q, style in ((50, "--"), (95, ":")):
            value = float(np.percentile(waits, q))
            ax.axvline(value, color="black", ls=style, lw=1, label=f"p{q} {value:.0f} s")
        ax.legend(fontsize=8)
    ax.set_xlabel("wait (s)")
    ax.set_ylabel("tasks")
    ax.set_title("Task waits")
    return ax


def cost_breakdown(run: Run, ax: Axes | None = None) -> Axes:
    """Billed node-hours by kind and state, priced: where the money went (idle and provisioning = waste)."""
    ax = _axes(ax)
    billed = run.nodes[run.nodes["billed"].astype(bool)]
    hours = ((billed["end_s"] - billed["start_s"]) / 3600).groupby([billed["kind"], billed["state"]]).sum()
    prices = {
        "dedicated": float(run.summary.get("price_dedicated_per_hour", 0.0)),
        "spot": float(run.summary.get("price_spot_per_hour", 0.0)),
    }
    costs = pd.Series({k: v * prices.get(k[0], 0.0) for k, v in hours.items()})
    if len(costs):
        frame = costs.unstack(fill_value=0.0)
        frame.plot.barh(stacked=True, ax=ax, colormap="tab20")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))  # beside the bars, not over them
    ax.set_xlabel("USD")
    ax.set_title("Cost by node kind and state")
    return ax


def preemptions(run: Run, ax: Axes | None = None) -> Axes:
    """Spot evictions per hour, and the preempted nodes counted in the pool over time."""
    ax = _axes(ax)
    preempted = run.nodes[run.nodes["state"] == "preempted"]
    horizon = float(run.summary.get("simulated_s", 0.0)) or 1.0
    bins = list(np.arange(0.0, horizon / 3600 + 1, 1.0))
    ax.hist(preempted["start_s"] / 3600, bins=bins, color="#DD8452", alpha=0.8, label="evictions per hour")
    counted = run.metrics[run.metrics["name"] == "$PreemptedNodeCount"]
    if len(counted):
        ax.plot(counted["time_s"] / 3600, counted["value"], color="black", lw=0.8, label="preempted nodes counted")
    ax.set_xlabel("hours")
    ax.set_ylabel("nodes")
    ax.set_title(f"Preemptions ({len(preempted)} evictions)")
    ax.legend(fontsize=8)
    return ax
