"""Plots of one run or of several overlaid: each takes `ax=` and returns the axes it drew on.

A run is anything with `.summary`, `.tasks`, `.nodes`, `.evaluations`, `.metrics` (a `Run` read
from a run directory, or the `Result` of `bs.simulate`). Given several runs, each plot draws them
on one axis, one colour per run, labelled by `labels`. The x axis is clock time when the runs say
when they started (`run.json`, or the summary's `start`), else hours since the start.

Nothing here touches pyplot's global state when `ax` is given: reports draw on a
`matplotlib.figure.Figure` of their own. Without `ax`, a plot draws on pyplot's current axes, as
pandas and seaborn do, so that `res.plot.nodes()` shows in a notebook.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from batchsim.report.runs import RunLike, start_time

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "RunsLike",
    "cost_breakdown",
    "cost_rate",
    "nodes_over_time",
    "preemptions",
    "queue_length",
    "wait_distribution",
]

RunsLike = RunLike | Sequence[RunLike]
"""One run, or several to overlay."""

DEDICATED = "#4C72B0"
SPOT = "#55A868"
_GRID_POINTS = 600
# Run colours when several are overlaid: matplotlib's default cycle, colour-blind friendly order.
_RUN_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.gca()


def _runs(runs: RunsLike) -> list[RunLike]:
    return list(runs) if isinstance(runs, Sequence) else [runs]


def _labels(runs: list[RunLike], labels: Sequence[str] | None) -> list[str]:
    if labels is not None:
        if len(labels) != len(runs):
            raise ValueError(f"{len(labels)} labels for {len(runs)} runs")
        return list(labels)
    names = [str(getattr(r, "name", "") or r.summary.get("scenario", "")) for r in runs]
    return names if len(set(names)) == len(names) else [f"{n or 'run'} #{i + 1}" for i, n in enumerate(names)]


def _colour(i: int) -> str:
    return _RUN_COLOURS[i % len(_RUN_COLOURS)]


def _horizon_s(run: RunLike) -> float:
    horizon = run.summary.get("simulated_s")
    if horizon:
        return float(horizon)
    return float(run.nodes["end_s"].max()) if len(run.nodes) else 0.0


class _Clock:
    """Seconds since the start → x values: clock time when every run started at the same known time."""

    def __init__(self, runs: list[RunLike]) -> None:
        starts = {start_time(r) for r in runs}
        start = starts.pop() if len(starts) == 1 else None
        self.start: datetime | None = start

    def x(self, seconds: Any) -> Any:
        values = np.asarray(seconds, dtype=float)
        if self.start is None:
            return values / 3600
        origin = np.datetime64(self.start.replace(tzinfo=None), "ms")
        return origin + np.round(values * 1000).astype("timedelta64[ms]")

    def hour_width(self) -> float:
        """The width of one hour in x units (matplotlib dates count days)."""
        return 1 / 24 if self.start is not None else 1.0

    def finish(self, ax: Axes) -> None:
        if self.start is None:
            ax.set_xlabel("hours since the start")
            return
        import matplotlib.dates as mdates

        locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
        ax.set_xlabel("time (UTC)")


def _counts(nodes: pd.DataFrame, grid_s: np.ndarray, kind: str, states: tuple[str, ...] | None) -> np.ndarray:
    """Nodes of `kind` in `states` (None: billed, any state) at each grid time."""
    mask = nodes["kind"] == kind
    mask &= nodes["billed"].astype(bool) if states is None else nodes["state"].isin(states)
    part = nodes[mask]
    starts = np.searchsorted(grid_s, part["start_s"].to_numpy(dtype=float), side="left")
    ends = np.searchsorted(grid_s, part["end_s"].to_numpy(dtype=float), side="left")
    delta = np.zeros(len(grid_s) + 1)
    np.add.at(delta, starts, 1)
    np.add.at(delta, ends, -1)
    counts: np.ndarray = np.cumsum(delta)[:-1]
    return counts


def _grid(run: RunLike) -> np.ndarray:
    horizon = _horizon_s(run)
    grid = np.linspace(0.0, horizon, _GRID_POINTS)
    grid[-1] = np.nextafter(horizon, 0.0)  # the last point still inside the run, where intervals end
    return grid


def _legend(ax: Axes) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="upper left", framealpha=0.85)


_READY = ("idle", "running")


def nodes_over_time(runs: RunsLike, ax: Axes | None = None, labels: Sequence[str] | None = None) -> Axes:
    """Ready nodes against the autoscale target and the demand, all in nodes.

    One run: ready dedicated and Spot nodes stacked, the formula's total target, the demand
    ($PendingTasks ÷ task slots per node) and the preempted Spot nodes the pool still counts.
    Several: each run's ready nodes (solid) and target (dashed), overlaid.
    """
    ax = _axes(ax)
    items = _runs(runs)
    names = _labels(items, labels)
    clock = _Clock(items)
    if len(items) == 1:
        run = items[0]
        grid = _grid(run)
        x = clock.x(grid)
        dedicated = _counts(run.nodes, grid, "dedicated", _READY)
        spot = _counts(run.nodes, grid, "spot", _READY)
        ax.stackplot(x, dedicated, spot, labels=["dedicated ready", "Spot ready"], colors=[DEDICATED, SPOT], alpha=0.75)
        ev = run.evaluations
        if len(ev):
            total = ev["target_dedicated"] + ev["target_spot"]
            ax.step(clock.x(ev["time_s"]), total, where="post", color="black", lw=1, label="target (total)")
        slots = _slots_per_node(run)
        pending = run.metrics[run.metrics["name"] == "$PendingTasks"]
        if len(pending):
            demand = pending["value"].to_numpy(dtype=float) / slots
            ax.plot(clock.x(pending["time_s"]), demand, color="#C44E52", lw=0.8, alpha=0.9, label="demand")
        preempted = _counts(run.nodes, grid, "spot", ("preempted",))
        if preempted.any():
            ax.plot(x, preempted, color="#8C564B", lw=1, ls=":", label="preempted Spot (still counted)")
    else:
        for i, (run, name) in enumerate(zip(items, names, strict=True)):
            grid = _grid(run)
            ready = _counts(run.nodes, grid, "dedicated", _READY) + _counts(run.nodes, grid, "spot", _READY)
            ax.plot(clock.x(grid), ready, color=_colour(i), lw=1.2, label=f"{name}: ready")
            ev = run.evaluations
            if len(ev):
                total = ev["target_dedicated"] + ev["target_spot"]
                ax.step(clock.x(ev["time_s"]), total, where="post", color=_colour(i), lw=0.8, ls="--", alpha=0.8)
        ax.plot([], [], color="grey", ls="--", lw=0.8, label="dashed: target (total)")
    ax.set_ylabel("nodes")
    ax.set_ylim(bottom=0)
    ax.set_title("Nodes against targets and demand")
    clock.finish(ax)
    _legend(ax)
    return ax


def _slots_per_node(run: RunLike) -> float:
    info = getattr(run, "info", None) or {}
    slots = (info.get("pool") or {}).get("task_slots_per_node") or run.summary.get("task_slots_per_node") or 1
    return float(slots)


def queue_length(runs: RunsLike, ax: Axes | None = None, labels: Sequence[str] | None = None) -> Axes:
    """Queued ($ActiveTasks) and running tasks over time, from the service's 30 s samples.

    Several runs: each run's queued tasks, overlaid.
    """
    ax = _axes(ax)
    items = _runs(runs)
    names = _labels(items, labels)
    clock = _Clock(items)
    for i, (run, name) in enumerate(zip(items, names, strict=True)):
        metrics = run.metrics
        active = metrics[metrics["name"] == "$ActiveTasks"]
        if len(items) == 1:
            running = metrics[metrics["name"] == "$RunningTasks"]
            ax.plot(clock.x(active["time_s"]), active["value"], color="#C44E52", lw=0.9, label="queued")
            ax.plot(clock.x(running["time_s"]), running["value"], color=DEDICATED, lw=0.9, label="running")
        else:  # the running tasks of several runs would hide their queues: those follow the nodes plot
            ax.plot(clock.x(active["time_s"]), active["value"], color=_colour(i), lw=1.1, label=f"{name}: queued")
    ax.set_ylabel("tasks")
    ax.set_ylim(bottom=0)
    ax.set_title("Queue")
    clock.finish(ax)
    _legend(ax)
    return ax


def wait_distribution(runs: RunsLike, ax: Axes | None = None, labels: Sequence[str] | None = None) -> Axes:
    """Task waits (eligible → first start): a histogram with p50 and p95 for one run; for several,
    their cumulative distributions overlaid, each with its p95 marked."""
    ax = _axes(ax)
    items = _runs(runs)
    names = _labels(items, labels)
    if len(items) == 1:
        waits = items[0].tasks["wait_s"].dropna().to_numpy(dtype=float)
        if waits.size:
            ax.hist(waits, bins=60, color="#8172B2", alpha=0.85)
            for q, style in ((50, "--"), (95, ":")):
                value = float(np.percentile(waits, q))
                ax.axvline(value, color="black", ls=style, lw=1, label=f"p{q} {value:.0f} s")
        ax.set_ylabel("tasks")
    else:
        for i, (run, name) in enumerate(zip(items, names, strict=True)):
            waits = np.sort(run.tasks["wait_s"].dropna().to_numpy(dtype=float))
            if not waits.size:
                continue
            share = np.arange(1, waits.size + 1) / waits.size
            p95 = float(np.percentile(waits, 95))
            ax.step(waits, share, where="post", color=_colour(i), lw=1.1, label=f"{name} (p95 {p95:.0f} s)")
            ax.plot([p95], [0.95], "o", color=_colour(i), ms=4)
        ax.axhline(0.95, color="grey", lw=0.6, ls=":")
        ax.set_ylabel("share of started tasks")
        ax.set_ylim(0, 1.02)
    ax.set_xlabel("wait (s)")
    ax.set_xlim(left=0)
    ax.set_title("Task waits")
    if ax.get_legend_handles_labels()[0]:  # the curves rise to the upper left: keep the legend below them
        ax.legend(fontsize=8, loc="lower right" if len(items) > 1 else "upper right", framealpha=0.85)
    return ax


_STATE_ORDER = ("running", "idle", "creating", "starting", "leavingpool", "unusable", "starttaskfailed")
_SHADES = {"running": 1.0, "idle": 0.55, "creating": 0.35, "starting": 0.35, "leavingpool": 0.25}


def _costs_by_kind_state(run: RunLike) -> pd.Series:
    billed = run.nodes[run.nodes["billed"].astype(bool)]
    hours = ((billed["end_s"] - billed["start_s"]) / 3600).groupby([billed["kind"], billed["state"]]).sum()
    prices = {
        "dedicated": float(run.summary.get("price_dedicated_per_hour") or 0.0),
        "spot": float(run.summary.get("price_spot_per_hour") or 0.0),
    }
    return pd.Series({key: value * prices.get(key[0], 0.0) for key, value in hours.items()}, dtype=float)


def cost_breakdown(runs: RunsLike, ax: Axes | None = None, labels: Sequence[str] | None = None) -> Axes:
    """Where the money went: one bar per run, split by node kind and state (idle and provisioning
    are what the pool paid for nodes that ran no task)."""
    from matplotlib.colors import to_rgb

    ax = _axes(ax)
    items = _runs(runs)
    names = _labels(items, labels)
    costs = [_costs_by_kind_state(r) for r in items]
    keys = sorted(
        {k for c in costs for k in c.index},
        key=lambda k: (k[0] != "dedicated", _STATE_ORDER.index(k[1]) if k[1] in _STATE_ORDER else 99, k[1]),
    )
    left = np.zeros(len(items))
    rows = np.arange(len(items))[::-1]
    for kind, state in keys:
        values = np.array([float(c.get((kind, state), 0.0)) for c in costs])
        base = np.array(to_rgb(DEDICATED if kind == "dedicated" else SPOT))
        shade = _SHADES.get(state, 0.45)
        colour = tuple(1 - shade * (1 - base))  # lighter for the states that ran no task
        ax.barh(rows, values, left=left, color=colour, edgecolor="white", lw=0.5, label=f"{kind} {state}")
        left += values
    for row, total in zip(rows, left, strict=True):
        ax.annotate(f" ${total:.2f}", (total, row), va="center", fontsize=8)
    if len(items) > 1:
        ax.set_yticks(rows, names)
    else:
        ax.set_yticks([])
    ax.set_xlabel("USD")
    ax.set_xlim(0, max(float(left.max()) if len(left) else 0.0, 1e-9) * 1.12)
    ax.set_title("Cost by node kind and state (light: nodes that ran no task)")
    if keys:  # under the bars, not over them
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=4, frameon=False)
    return ax


def cost_rate(runs: RunsLike, ax: Axes | None = None, labels: Sequence[str] | None = None) -> Axes:
    """What the pool costs per hour over time (billed nodes × their price): dedicated and Spot
    stacked for one run, each run's total for several."""
    ax = _axes(ax)
    items = _runs(runs)
    names = _labels(items, labels)
    clock = _Clock(items)
    for i, (run, name) in enumerate(zip(items, names, strict=True)):
        grid = _grid(run)
        prices = run.summary
        dedicated = _counts(run.nodes, grid, "dedicated", None) * float(prices.get("price_dedicated_per_hour") or 0)
        spot = _counts(run.nodes, grid, "spot", None) * float(prices.get("price_spot_per_hour") or 0)
        if len(items) == 1:
            ax.stackplot(
                clock.x(grid), dedicated, spot, labels=["dedicated", "Spot"], colors=[DEDICATED, SPOT], alpha=0.75
            )
        else:
            total = float(run.summary.get("cost_usd") or 0.0)
            ax.plot(clock.x(grid), dedicated + spot, color=_colour(i), lw=1.1, label=f"{name} (${total:.2f})")
    ax.set_ylabel("USD per hour")
    ax.set_ylim(bottom=0)
    ax.set_title("Cost per hour")
    clock.finish(ax)
    _legend(ax)
    return ax


def preemptions(runs: RunsLike, ax: Axes | None = None, labels: Sequence[str] | None = None) -> Axes:
    """Spot evictions per hour of the run (the preempted nodes the pool still counts are on the
    nodes plot, in nodes)."""
    from matplotlib.ticker import MaxNLocator

    ax = _axes(ax)
    items = _runs(runs)
    names = _labels(items, labels)
    clock = _Clock(items)
    total = 0
    for i, (run, name) in enumerate(zip(items, names, strict=True)):
        evicted = run.nodes[run.nodes["state"] == "preempted"]["start_s"].to_numpy(dtype=float)
        total += len(evicted)
        hours = max(1, int(np.ceil(_horizon_s(run) / 3600)))
        counts, edges = np.histogram(evicted, bins=np.arange(hours + 1) * 3600.0)
        if len(items) == 1:
            ax.bar(clock.x(edges[:-1]), counts, width=clock.hour_width(), align="edge", color="#DD8452", alpha=0.85)
        else:
            ax.step(clock.x(edges), np.append(counts, counts[-1:]), where="post", color=_colour(i), lw=1.1,
                    label=f"{name} ({len(evicted)})")  # fmt: skip
    ax.set_ylabel("evictions per hour")
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Spot evictions" if len(items) > 1 else f"Spot evictions ({total})")
    clock.finish(ax)
    _legend(ax)
    return ax
