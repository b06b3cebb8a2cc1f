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
from batchsim.units import format_duration

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


_MAX_BINS = 600
_MIN_BIN_S = 60.0  # two of the service's 30 s samples: finer bins would only repeat them
_READY = ("idle", "running")

Binned = tuple[np.ndarray, np.ndarray]
"""Per bin: the time-weighted mean and the maximum of a series."""


def _edges(runs: list[RunLike]) -> np.ndarray:
    """Bin edges over the longest run: at most 600 bins, none shorter than a minute."""
    horizon = max([_horizon_s(r) for r in runs] + [1e-9])
    bins = int(np.clip(np.ceil(horizon / _MIN_BIN_S), 1, _MAX_BINS))
    edges: np.ndarray = np.linspace(0.0, horizon, bins + 1)
    return edges


def _binned(times_s: Any, values: Any, edges: np.ndarray, before: float = 0.0) -> Binned:
    """Per bin, the time-weighted mean and the maximum of a step function.

    The function is `before` until the first of `times_s`, then `values[i]` from `times_s[i]` until
    the next time (at equal times the last value holds). Every series of every plot goes through
    here, so a short peak shows as its bin's maximum on every plot instead of falling between
    sampled instants.
    """
    t = np.asarray(times_s, dtype=float)
    v = np.asarray(values, dtype=float)
    order = np.argsort(t, kind="stable")
    t = np.concatenate(([min(float(edges[0]), float(t.min())) if t.size else float(edges[0])], t[order]))
    v = np.concatenate(([before], v[order]))
    last_at_time = np.append(t[1:] != t[:-1], True)
    t, v = t[last_at_time], v[last_at_time]
    area = np.concatenate(([0.0], np.cumsum(v[:-1] * np.diff(t))))
    at = np.searchsorted(t, edges, side="right") - 1
    integral = area[at] + v[at] * (edges - t[at])
    mean: np.ndarray = np.diff(integral) / np.diff(edges)
    peak: np.ndarray = v[at[:-1]].copy()
    inside = np.searchsorted(edges, t, side="right") - 1
    keep = (inside >= 0) & (inside < len(peak))
    np.fmax.at(peak, inside[keep], v[keep])
    return mean, peak


def _counts(nodes: pd.DataFrame, edges: np.ndarray, kind: str | None, states: tuple[str, ...] | None) -> Binned:
    """Nodes of `kind` (None: both kinds) in `states` (None: billed, in any state), per bin."""
    mask = np.ones(len(nodes), dtype=bool) if kind is None else (nodes["kind"] == kind).to_numpy()
    chosen = nodes["billed"].astype(bool) if states is None else nodes["state"].isin(states)
    part = nodes[mask & chosen.to_numpy()]
    starts = part["start_s"].to_numpy(dtype=float)
    ends = part["end_s"].to_numpy(dtype=float)
    times = np.concatenate((starts, ends))
    steps = np.concatenate((np.ones(len(starts)), -np.ones(len(ends))))
    order = np.argsort(times, kind="stable")
    return _binned(times[order], np.cumsum(steps[order]), edges)


def _metric(run: RunLike, name: str, edges: np.ndarray, scale: float = 1.0) -> Binned | None:
    """A sampled metric ($PendingTasks, ...) per bin, each sample holding until the next."""
    samples = run.metrics[run.metrics["name"] == name]
    if not len(samples):
        return None
    return _binned(samples["time_s"], samples["value"].to_numpy(dtype=float) / scale, edges)


def _targets(run: RunLike, edges: np.ndarray) -> Binned | None:
    """The formula's total target per bin (the initial sizes until its first evaluation)."""
    ev = run.evaluations
    if not len(ev):
        return None
    pool = (getattr(run, "info", None) or {}).get("pool") or {}
    initial = float(pool.get("initial_dedicated") or 0) + float(pool.get("initial_spot") or 0)
    total = (ev["target_dedicated"] + ev["target_spot"]).to_numpy(dtype=float)
    return _binned(ev["time_s"], total, edges, initial)


def _at_edges(values: np.ndarray) -> np.ndarray:
    """Per-bin values at the bin edges, as `step(where="post")` and `fill_between(step="post")` take them."""
    return np.append(values, values[-1:])


def _series(
    ax: Axes,
    x: Any,
    binned: Binned,
    colour: str,
    label: str | None,
    *,
    base: np.ndarray | None = None,
    lw: float = 1.1,
    ls: str = "-",
    band: float = 0.22,
) -> None:
    """One series: its per-bin mean as steps, shaded up to its per-bin max (stacked on `base`)."""
    mean, peak = binned
    offset = np.zeros_like(mean) if base is None else base
    ax.step(x, _at_edges(mean + offset), where="post", color=colour, lw=lw, ls=ls, label=label or "_nolegend_")
    ax.fill_between(x, _at_edges(mean + offset), _at_edges(peak + offset), step="post", color=colour, alpha=band, lw=0)


def _bin_note(ax: Axes, edges: np.ndarray) -> None:
    """Say in the legend what a line and its shading are."""
    width = format_duration(float(edges[1] - edges[0]))
    ax.plot([], [], " ", label=f"lines: mean per {width}; shaded: up to the max")


def _groups(names: list[str]) -> tuple[list[str], list[str | None]]:
    """Overlaid runs with the same label (the seeds of one formula) share a colour and one legend
    entry that counts them: (colour per run, legend label per run, None after the first)."""
    order = list(dict.fromkeys(names))
    colours = [_colour(order.index(n)) for n in names]
    legend: list[str | None] = []
    for i, name in enumerate(names):
        count = names.count(name)
        first = names.index(name) == i
        legend.append((f"{name} ({count} seeds)" if count > 1 else name) if first else None)
    return colours, legend


def _shade(ax: Axes, clock: _Clock, windows: Sequence[tuple[float, float]]) -> None:
    """Shade the stress windows ((start, duration) in seconds) behind the series."""
    for i, (start_s, duration_s) in enumerate(windows):
        left, right = clock.x([start_s, start_s + duration_s])
        ax.axvspan(left, right, color="#999999", alpha=0.18, lw=0, label="stress window" if i == 0 else "_nolegend_")


def _legend(ax: Axes) -> None:
    # Beside the axes, not over the series it names.
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, frameon=False)


def nodes_over_time(
    runs: RunsLike,
    ax: Axes | None = None,
    labels: Sequence[str] | None = None,
    windows: Sequence[tuple[float, float]] = (),
) -> Axes:
    """Ready nodes against the autoscale target and the demand, all in nodes, per time bin.

    One run: ready dedicated and Spot nodes stacked, the formula's total target, the demand
    ($PendingTasks ÷ task slots per node) and the preempted Spot nodes the pool still counts.
    Several: each run's ready nodes (solid), target (dashed) and demand (dotted); runs with the
    same label (seeds) share a colour. Every line is the bin's mean, shaded up to the bin's max.
    `windows` ((start, duration) in seconds) are shaded, as the stress report marks its stress.
    """
    ax = _axes(ax)
    items = _runs(runs)
    names = _labels(items, labels)
    clock = _Clock(items)
    edges = _edges(items)
    x = clock.x(edges)
    _shade(ax, clock, windows)
    if len(items) == 1:
        run = items[0]
        dedicated = _counts(run.nodes, edges, "dedicated", _READY)
        spot = _counts(run.nodes, edges, "spot", _READY)
        _series(ax, x, dedicated, DEDICATED, "dedicated ready", band=0.0)
        ax.fill_between(x, 0, _at_edges(dedicated[0]), step="post", color=DEDICATED, alpha=0.6, lw=0)
        _series(ax, x, spot, SPOT, "Spot ready", base=dedicated[0], band=0.0)
        ax.fill_between(
            x, _at_edges(dedicated[0]), _at_edges(dedicated[0] + spot[0]), step="post", color=SPOT, alpha=0.6, lw=0
        )
        ready = _counts(run.nodes, edges, None, _READY)
        ax.fill_between(
            x, _at_edges(ready[0]), _at_edges(ready[1]), step="post", color=SPOT, alpha=0.25, lw=0,
            label="ready: up to the max",
        )  # fmt: skip
        target = _targets(run, edges)
        if target is not None:
            _series(ax, x, target, "black", "target (total)", lw=1.0)
        demand = _metric(run, "$PendingTasks", edges, _slots_per_node(run))
        if demand is not None:
            _series(ax, x, demand, "#C44E52", "demand", lw=0.9)
        preempted = _counts(run.nodes, edges, "spot", ("preempted",))
        if preempted[1].any():
            _series(ax, x, preempted, "#8C564B", "preempted Spot (still counted)", ls=":")
    else:
        colours, legend = _groups(names)
        for run, colour, name in zip(items, colours, legend, strict=True):
            _series(ax, x, _counts(run.nodes, edges, None, _READY), colour, name and f"{name}: ready", band=0.15)
            target = _targets(run, edges)
            if target is not None:
                _series(ax, x, target, colour, None, lw=0.8, ls="--", band=0.08)
            demand = _metric(run, "$PendingTasks", edges, _slots_per_node(run))
            if demand is not None:
                _series(ax, x, demand, colour, None, lw=0.8, ls=":", band=0.08)
        ax.plot([], [], color="grey", ls="--", lw=0.8, label="dashed: target (total)")
        ax.plot([], [], color="grey", ls=":", lw=0.8, label="dotted: demand")
    _bin_note(ax, edges)
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


def queue_length(
    runs: RunsLike,
    ax: Axes | None = None,
    labels: Sequence[str] | None = None,
    windows: Sequence[tuple[float, float]] = (),
) -> Axes:
    """Queued ($ActiveTasks) and running tasks over time, from the service's 30 s samples, per bin.

    Several runs: each run's queued tasks, overlaid (seeds of one label share a colour).
    """
    ax = _axes(ax)
    items = _runs(runs)
    names = _labels(items, labels)
    clock = _Clock(items)
    edges = _edges(items)
    x = clock.x(edges)
    _shade(ax, clock, windows)
    colours, legend = _groups(names)
    for run, colour, name in zip(items, colours, legend, strict=True):
        active = _metric(run, "$ActiveTasks", edges)
        if len(items) == 1:
            running = _metric(run, "$RunningTasks", edges)
            if active is not None:
                _series(ax, x, active, "#C44E52", "queued", lw=0.9)
            if running is not None:
                _series(ax, x, running, DEDICATED, "running", lw=0.9)
        elif active is not None:  # the running tasks of several runs would hide their queues
            _series(ax, x, active, colour, name and f"{name}: queued", band=0.15)
    _bin_note(ax, edges)
    ax.set_ylabel("tasks")
    ax.set_ylim(bottom=0)
    ax.set_title("Queue")
    clock.finish(ax)
    _legend(ax)
    return ax


def wait_distribution(runs: RunsLike, ax: Axes | None = None, labels: Sequence[str] | None = None) -> Axes:
    """Task waits (eligible → first start): a histogram with p50 and p95 for one run; for several,
    their cumulative distributions overlaid, each with its p95 marked (seeds of one label share a colour)."""
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
        colours, legend = _groups(names)
        for run, colour, name in zip(items, colours, legend, strict=True):
            waits = np.sort(run.tasks["wait_s"].dropna().to_numpy(dtype=float))
            if not waits.size:
                continue
            share = np.arange(1, waits.size + 1) / waits.size
            p95 = float(np.percentile(waits, 95))
            if name is not None and names.count(names[items.index(run)]) == 1:
                name = f"{name} (p95 {p95:.0f} s)"
            ax.step(waits, share, where="post", color=colour, lw=1.1, label=name or "_nolegend_")
            ax.plot([p95], [0.95], "o", color=colour, ms=4)
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
    """What the pool costs per hour over time (billed nodes × their price), per bin: dedicated and
    Spot stacked for one run, each run's total for several (seeds of one label share a colour)."""
    ax = _axes(ax)
    items = _runs(runs)
    names = _labels(items, labels)
    clock = _Clock(items)
    edges = _edges(items)
    x = clock.x(edges)
    colours, legend = _groups(names)
    for run, colour, name in zip(items, colours, legend, strict=True):
        prices = {kind: float(run.summary.get(f"price_{kind}_per_hour") or 0) for kind in ("dedicated", "spot")}
        # Dollars per hour is a sum over kinds at different prices: bin it as one step function.
        billed = run.nodes[run.nodes["billed"].astype(bool)]
        price = billed["kind"].map(prices).fillna(0.0).to_numpy(dtype=float)
        times = np.concatenate((billed["start_s"].to_numpy(dtype=float), billed["end_s"].to_numpy(dtype=float)))
        steps = np.concatenate((price, -price))
        order = np.argsort(times, kind="stable")
        total = _binned(times[order], np.cumsum(steps[order]), edges)
        if len(items) == 1:
            dedicated = _counts(run.nodes, edges, "dedicated", None)[0] * prices["dedicated"]
            spot = _counts(run.nodes, edges, "spot", None)[0] * prices["spot"]
            ax.fill_between(
                x, 0, _at_edges(dedicated), step="post", color=DEDICATED, alpha=0.6, lw=0, label="dedicated"
            )
            ax.fill_between(
                x, _at_edges(dedicated), _at_edges(dedicated + spot), step="post", color=SPOT, alpha=0.6, lw=0,
                label="Spot",
            )  # fmt: skip
            _series(ax, x, total, "#333333", "total", lw=0.8)
        else:
            cost = float(run.summary.get("cost_usd") or 0.0)
            label = (
                None
                if name is None
                else (name if names.count(name) > 1 or "seeds)" in name else f"{name} (${cost:.2f})")
            )
            _series(ax, x, total, colour, label, band=0.15)
    _bin_note(ax, edges)
    ax.set_ylabel("USD per hour")
    ax.set_ylim(bottom=0)
    ax.set_title("Cost per hour")
    clock.finish(ax)
    _legend(ax)
    return ax


def preemptions(runs: RunsLike, ax: Axes | None = None, labels: Sequence[str] | None = None) -> Axes:
    """Spot evictions per hour of the run (the preempted nodes the pool still counts are on the
    nodes plot, in nodes); seeds of one label share a colour."""
    from matplotlib.ticker import MaxNLocator

    ax = _axes(ax)
    items = _runs(runs)
    names = _labels(items, labels)
    clock = _Clock(items)
    colours, legend = _groups(names)
    total = 0
    for run, colour, name in zip(items, colours, legend, strict=True):
        evicted = run.nodes[run.nodes["state"] == "preempted"]["start_s"].to_numpy(dtype=float)
        total += len(evicted)
        hours = max(1, int(np.ceil(_horizon_s(run) / 3600)))
        counts, edges = np.histogram(evicted, bins=np.arange(hours + 1) * 3600.0)
        if len(items) == 1:
            ax.bar(clock.x(edges[:-1]), counts, width=clock.hour_width(), align="edge", color="#DD8452", alpha=0.85)
        else:
            label = name if name is None or "seeds)" in name else f"{name} ({len(evicted)})"
            ax.step(clock.x(edges), _at_edges(counts), where="post", color=colour, lw=1.1, label=label or "_nolegend_")
    ax.set_ylabel("evictions per hour")
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Spot evictions" if len(items) > 1 else f"Spot evictions ({total})")
    clock.finish(ax)
    _legend(ax)
    return ax
