"""Plots (`ax=` in, axes out) and HTML/Markdown reports of simulation runs.

The plot functions take one run or several (a `Run` read from a run directory, or a `Result` from
`bs.simulate`); the report builders take loaded runs or run directories.
"""

from __future__ import annotations

from batchsim.report.html import render_report, write_report
from batchsim.report.markdown import write_markdown
from batchsim.report.plots import (
    cost_breakdown,
    cost_rate,
    nodes_over_time,
    preemptions,
    queue_length,
    wait_distribution,
)
from batchsim.report.runs import Run, RunDirError, load_run, run_info, write_run

__all__ = [
    "Run",
    "RunDirError",
    "cost_breakdown",
    "cost_rate",
    "load_run",
    "nodes_over_time",
    "preemptions",
    "queue_length",
    "render_report",
    "run_info",
    "wait_distribution",
    "write_markdown",
    "write_report",
    "write_run",
]
