"""Plots (`ax=` in, axes out) and HTML reports of simulation runs."""

from __future__ import annotations

from batchsim.report.html import render_report, write_report
from batchsim.report.plots import cost_breakdown, nodes_over_time, preemptions, queue_length, wait_distribution
from batchsim.report.runs import Run, RunDirError, load_run

__all__ = [
    "Run",
    "RunDirError",
    "cost_breakdown",
    "load_run",
    "nodes_over_time",
    "preemptions",
    "queue_length",
    "render_report",
    "wait_distribution",
    "write_report",
]
