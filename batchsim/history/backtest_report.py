"""The backtest report: the record drawn over the report's own plots of the simulated window.

Each figure is a `matplotlib.figure.Figure` (no pyplot, so a notebook's backend is left alone);
the simulated curves come from `batchsim.report.plots` (called with `ax=`), the recorded ones are
drawn on the same axes in orange.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from batchsim.files import write_atomically
from batchsim.history.backtest import Backtest, score_rows

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from batchsim.report.runs import Run

__all__ = ["FIGURES", "draw_nodes", "draw_queue", "draw_targets", "draw_waits", "render", "write_report"]


def _run(backtest: Backtest) -> Run:
    from batchsim.report.runs import Run

    result = backtest.runs[0]
    # With its clock start: the report's plots draw the run in clock time, and `_x` puts the record there too.
    return Run(
        f"simulated (seed {result.summary.get('seed')})",
        result.summary,
        result.tasks,
        result.nodes,
        result.evaluations,
        result.metrics,
    )


def _x(backtest: Backtest, seconds: np.ndarray) -> np.ndarray:
    """Seconds since the window's start on the axis the report's plots draw the run on: clock time
    when the run has a start (a calibrated scenario always has), else hours."""
    from batchsim.report.runs import start_time

    start = start_time(_run(backtest))
    if start is None:
        hours: np.ndarray = np.asarray(seconds, dtype=float) / 3600
        return hours
    origin = np.datetime64(start.replace(tzinfo=None), "ms")
    clock: np.ndarray = origin + np.round(np.asarray(seconds, dtype=float) * 1000).astype("timedelta64[ms]")
    return clock


def _run_start(backtest: Backtest) -> object:
    from batchsim.report.runs import start_time

    return start_time(_run(backtest))


def draw_nodes(backtest: Backtest, ax: Axes) -> Axes:
    """Simulated nodes against targets (the report's plot), with the recorded node counts over it."""
    from batchsim.report import plots

    plots.nodes_over_time(_run(backtest), ax=ax)
    recorded = backtest.recorded
    hours = _x(backtest, recorded.grid_s)
    if recorded.dedicated is not None and recorded.spot is not None:
        ax.step(hours, recorded.dedicated, where="post", color="#D55E00", lw=1.4, ls="--", label="recorded dedicated")
        ax.step(hours, recorded.spot, where="post", color="#D55E00", lw=1.4, label="recorded spot")
    ax.set_title("Nodes: simulated (filled) and recorded (orange)")
    ax.legend(loc="upper left", fontsize=7)
    return ax


def draw_targets(backtest: Backtest, ax: Axes) -> Axes:
    """Autoscale targets (dedicated + Spot): every recorded evaluation against the simulated ones."""
    recorded = backtest.recorded
    for k, result in enumerate(backtest.runs):
        evaluations = result.evaluations
        if len(evaluations):
            total = evaluations["target_dedicated"] + evaluations["target_spot"]
            label = "simulated targets" if k == 0 else None
            times = _x(backtest, evaluations["time_s"].to_numpy(float))
            ax.step(times, total, where="post", color="#4C72B0", alpha=0.6, lw=1, label=label)
    if len(recorded.target_times_s):
        ax.step(
            _x(backtest, recorded.target_times_s),
            recorded.targets.sum(axis=1),
            where="post",
            color="#D55E00",
            lw=1.4,
            label="recorded targets",
        )
    ax.set_xlabel("hours since the start" if _run_start(backtest) is None else "time (UTC)")
    ax.set_ylabel("target nodes")
    ax.set_title("Autoscale targets (dedicated + Spot)")
    ax.legend(fontsize=8)
    return ax


def draw_queue(backtest: Backtest, ax: Axes) -> Axes:
    """Queued and running tasks: the simulated samples (the report's plot) and the record."""
    from batchsim.report import plots

    plots.queue_length(_run(backtest), ax=ax)
    recorded = backtest.recorded
    hours = _x(backtest, recorded.grid_s)
    ax.plot(hours, recorded.queued, color="#D55E00", lw=1, ls="--", label="recorded queued")
    ax.plot(hours, recorded.running, color="#D55E00", lw=1, label="recorded running")
    ax.set_title("Queue: simulated and recorded (orange)")
    ax.legend(fontsize=8)
    return ax


def draw_waits(backtest: Backtest, ax: Axes) -> Axes:
    """Simulated waits (the report's histogram) with the recorded distribution outlined."""
    from batchsim.report import plots

    plots.wait_distribution(_run(backtest), ax=ax)
    waits = backtest.recorded.waits_s
    if len(waits):
        ax.hist(waits, bins=60, histtype="step", color="#D55E00", lw=1.2, label="recorded")
        p95 = float(np.percentile(waits, 95))
        ax.axvline(p95, color="#D55E00", lw=1.5, label=f"recorded p95 {p95:.0f} s")
        ax.legend(fontsize=8)
    ax.set_title("Task waits: simulated (filled) and recorded (outline)")
    return ax


FIGURES: dict[str, Callable[[Backtest, Axes], Axes]] = {
    "Nodes": draw_nodes,
    "Targets": draw_targets,
    "Queue": draw_queue,
    "Waits": draw_waits,
}


def _png(draw: Callable[[Backtest, Axes], Axes], backtest: Backtest) -> str:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.4))
    draw(backtest, fig.subplots())
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def render(backtest: Backtest) -> str:
    """One self-contained HTML page."""
    document = backtest.document
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in score_rows(document)
    )
    verdict = document["verdict"]
    notes = "".join(f"<li>{html.escape(note)}</li>" for note in document.get("notes", []))
    missing = "".join(f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in backtest.unavailable.items())
    label = backtest.history.meta.get("label")
    figures = "".join(
        f'<h2>{html.escape(name)}</h2><img alt="{html.escape(name)}" '
        f'src="data:image/png;base64,{_png(draw, backtest)}">'
        for name, draw in FIGURES.items()
    )
    window = document["window"]
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>batchsim backtest</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}td,th{padding:2px 10px}"
        "table{border-collapse:collapse}tr:nth-child(even){background:#f3f3f3}</style></head><body>"
        f"<h1>Backtest of pool {html.escape(backtest.history.pool_id)}</h1>"
        f"<p>Window {html.escape(window['start'])} .. {html.escape(window['end'])}; scenario "
        f"<b>{html.escape(str(document['scenario']))}</b>, {document['seeds']} seed(s); "
        f"history {html.escape(str(backtest.history.path))}.</p>"
        + (f"<p><b>{html.escape(str(label))}</b></p>" if label else "")
        + f"<p><b>Verdict: {html.escape(verdict['summary'])}</b></p>"
        + "<table><tr><th>metric</th><th>recorded</th><th>simulated (mean)</th><th>simulated 95 % interval</th>"
        "<th>record</th></tr>"
        + rows
        + "</table>"
        + (f"<p>Replay:</p><ul>{notes}</ul>" if notes else "")
        + (f"<p>Not computed:</p><ul>{missing}</ul>" if missing else "")
        + figures
        + "</body></html>\n"
    )


def write_report(backtest: Backtest, out_dir: Path) -> Path:
    """`out_dir/report.html`."""
    return write_atomically(out_dir / "report.html", render(backtest))
