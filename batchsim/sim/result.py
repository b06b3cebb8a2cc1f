"""What a run produces: the summary (DESIGN §4 keys) and long-format tables, built once at the end."""

from __future__ import annotations

import io
import math
from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mypy_extensions import mypyc_attr

from batchsim import jsonio
from batchsim.files import write_atomically
from batchsim.sim.records import (
    Attempt,
    Attempts,
    Evaluation,
    JobAction,
    NodeInterval,
    NodeIntervals,
    Records,
    ResizeError,
    TaskRow,
)

__all__ = ["SUMMARY_KEYS", "Result"]

SUMMARY_KEYS = (
    "tasks_submitted",
    "tasks_completed",
    "tasks_failed",
    "wait_s_mean",
    "wait_s_p50",
    "wait_s_p95",
    "wait_s_p99",
    "wait_s_max",
    "cost_usd",
    "cost_dedicated_usd",
    "cost_spot_usd",
    "node_hours_dedicated",
    "node_hours_spot",
    "preemptions",
    "task_requeues",
    "autoscale_evaluations",
    "simulated_s",
    "events",
    "wall_s",
    "seed",
)
"""The fixed summary keys (DESIGN §4). The cost and node-hour keys are the pipeline's, from the bill."""

# The extensions after the fixed keys, in the order a summary lists them.
_EXTENSION_KEYS = (
    "tasks_active_at_end",
    "tasks_running_at_end",
    "tasks_never_started",
    "wait_censored",
    "autoscale_errors",
    "deadline_met_fraction",
    "cost_idle_usd",
    "cost_provisioning_usd",
    "cost_per_completed_task_usd",
    "cost_per_core_hour_usd",
    "price_dedicated_per_hour",
    "price_spot_per_hour",
)
_KEY_RANK = {key: rank for rank, key in enumerate((*SUMMARY_KEYS, *_EXTENSION_KEYS))}

_METRIC_COLUMNS = ["time_s", "name", "value"]


# Picklable when compiled too (the compiled build, README): a sweep or a stress sends whole results back
# from its worker processes. mypyc's native classes pickle only with both attributes set.
@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Result:
    """A simulation's records.

    summary: the DESIGN §4 keys, plus extensions (`tasks_never_started`, `wait_censored`: the wait
    figures are lower bounds because some tasks never started, `deadline_met_fraction`, ...).
    tasks: one row per task. nodes: node-state intervals. evaluations: autoscale runs.
    metrics: every sampled variable, long format (time_s, name, value). attempts: one row per
    attempt. resize_errors: resizes that fell short. job_actions: jobs disabled or terminated by their tasks.

    The engine fills the summary's task, wait and event keys from its records; the pipeline
    (`batchsim.simulate`) adds the cost keys from the bill and binds `plot`. Each table becomes a
    DataFrame the first time it is read, since a sweep or an optimizer trial reads only the summary.
    """

    def __init__(self, summary: dict[str, Any], records: Records) -> None:
        self.summary = summary
        self.records = records
        self._frames: dict[str, pd.DataFrame] = {}
        self._plots: Callable[[Result], Any] | None = None

    @classmethod
    def from_records(cls, records: Records, *, wall_s: float) -> Result:
        return cls(_engine_summary(records, wall_s), records)

    def add_to_summary(self, values: dict[str, Any]) -> None:
        """Merge `values` into the summary, keeping the documented key order (others last)."""
        merged = {**self.summary, **values}
        order = {key: i for i, key in enumerate(merged)}
        self.summary = dict(
            sorted(merged.items(), key=lambda item: (_KEY_RANK.get(item[0], len(_KEY_RANK)), order[item[0]]))
        )

    def _rows(self, name: str) -> tuple[Sequence[Any] | NodeIntervals | Attempts, list[str]]:
        records = self.records
        if name == "tasks":
            return records.task_rows(), list(TaskRow._fields)
        if name == "nodes":
            return records.node_intervals, list(NodeInterval._fields)
        if name == "evaluations":
            return records.evaluations, list(Evaluation._fields)
        if name == "resize_errors":
            return records.resize_errors, list(ResizeError._fields)
        if name == "attempts":
            return records.attempts, list(Attempt._fields)
        if name == "job_actions":
            return records.job_actions, list(JobAction._fields)
        times = records.sample_times
        rows = [
            (time_s, metric, float(value))
            for metric, series in records.samples.items()
            for time_s, value in zip(times, series.values[: len(times)], strict=True)
        ]
        return rows, _METRIC_COLUMNS

    def _frame(self, name: str) -> pd.DataFrame:
        if name not in self._frames:
            rows, columns = self._rows(name)
            if isinstance(rows, NodeIntervals | Attempts) and len(rows):  # kept by column (records.py)
                columns_of = rows.columns()
                frame = pd.DataFrame({n: np.asarray(c) if isinstance(c, array) else c for n, c in columns_of.items()})
            else:
                frame = pd.DataFrame(list(rows), columns=columns)
            self._frames[name] = _finish_frame(name, frame)
        return self._frames[name]

    @property
    def tasks(self) -> pd.DataFrame:
        return self._frame("tasks")

    @property
    def nodes(self) -> pd.DataFrame:
        return self._frame("nodes")

    @property
    def evaluations(self) -> pd.DataFrame:
        return self._frame("evaluations")

    @property
    def metrics(self) -> pd.DataFrame:
        return self._frame("metrics")

    @property
    def resize_errors(self) -> pd.DataFrame:
        return self._frame("resize_errors")

    @property
    def attempts(self) -> pd.DataFrame:
        return self._frame("attempts")

    @property
    def job_actions(self) -> pd.DataFrame:
        return self._frame("job_actions")

    @property
    def plot(self) -> Any:
        """The report's plots of this run: `res.plot.nodes(ax=ax)`, `.queue`, `.waits`, `.cost`, `.preemptions`.

        Bound by the pipeline (`batchsim.simulate`), since the engine does not import the report.
        """
        if self._plots is None:
            raise AttributeError("plot: a Result from batchsim.simulate(...) has plots; this one came from the engine")
        return self._plots(self)

    def bind_plots(self, plots: Callable[[Result], Any]) -> None:
        """What `plot` returns: `plots(self)`, made on each use, so that the result holds no object
        that holds it back (a cycle would keep a run's records alive until the cycle collector ran)."""
        self._plots = plots

    def tables(self) -> dict[str, pd.DataFrame]:
        """The run's tables; `job_actions` only when some task's exit options or a job's
        `onAllTasksComplete` acted, so that a run without them writes the files it always wrote."""
        tables = {
            "tasks": self.tasks,
            "nodes": self.nodes,
            "evaluations": self.evaluations,
            "metrics": self.metrics,
            "resize_errors": self.resize_errors,
            "attempts": self.attempts,
        }
        if self.records.job_actions:
            tables["job_actions"] = self.job_actions
        return tables

    def write(self, out_dir: str | Path) -> Path:
        """Write `summary.json` and the tables as Parquet, each file whole or not at all."""
        out = Path(out_dir)
        write_atomically(out / "summary.json", jsonio.dumps(self.summary) + "\n")
        for name, frame in self.tables().items():
            buffer = io.BytesIO()
            frame.to_parquet(buffer, index=False)
            write_atomically(out / f"{name}.parquet", buffer.getvalue())
        return out


def _finish_frame(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    if name == "tasks":
        for column in ("eligible_s", "start_s", "end_s", "deadline_s"):
            frame[column] = frame[column].astype(float)  # None → NaN
        frame["wait_s"] = frame["start_s"] - frame["eligible_s"]
    elif name == "metrics":
        frame["value"] = frame["value"].astype(float)
    return frame


def _percentile(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if values.size else 0.0


def _task_figures(records: Records) -> tuple[np.ndarray, bool, Counter[str], int, int, int]:
    """In one pass over the tasks: every eligible task's wait (DESIGN §4: from eligibility to its
    first start) and whether some are censored; the tasks by state; how many never started; how
    many have a deadline and how many of those completed by it.

    A task that never started counts with the wait it had: until it failed unstarted (its job
    ended), or until the end of the run if it is still queued. The latter is only a lower bound,
    so the statistics are too (`wait_censored`): a queue that never drained reports the time its
    tasks have waited so far, not 0.
    """
    horizon_s = records.duration_s
    waits = []
    censored = False
    states: Counter[str] = Counter()
    never_started = with_deadline = met = 0
    for t in records.tasks:
        state = t.state
        states[state] += 1
        deadline_s = t.spec.deadline_s
        if deadline_s is not None:
            with_deadline += 1
            if state == "completed" and t.end_s is not None and t.end_s <= deadline_s:
                met += 1
        first_start_s = t.first_start_s
        if first_start_s is None:
            never_started += 1
        if t.eligible_s is None:
            continue  # never eligible (dependencies unmet, or its job ended first): no wait
        if first_start_s is not None:
            waits.append(first_start_s - t.eligible_s)
        elif t.end_s is not None:
            waits.append(t.end_s - t.eligible_s)
        else:
            waits.append(horizon_s - t.eligible_s)
            censored = True
    return np.array(waits), censored, states, never_started, with_deadline, met


def _engine_summary(records: Records, wall_s: float) -> dict[str, Any]:
    """The summary keys that come from the engine's own records (the cost keys come from the bill)."""
    tasks = records.tasks
    waits, censored, states, never_started, with_deadline, met = _task_figures(records)
    return {
        "tasks_submitted": len(tasks),
        "tasks_completed": states["completed"],
        "tasks_failed": states["failed"],
        "wait_s_mean": float(waits.mean()) if waits.size else 0.0,
        "wait_s_p50": _percentile(waits, 50),
        "wait_s_p95": _percentile(waits, 95),
        "wait_s_p99": _percentile(waits, 99),
        "wait_s_max": float(waits.max()) if waits.size else 0.0,
        "preemptions": records.preemptions,
        "task_requeues": records.requeues,
        "autoscale_evaluations": len(records.evaluations),
        "simulated_s": records.duration_s,
        "events": records.events,
        "wall_s": wall_s,
        "seed": records.seed,
        # Extensions.
        "tasks_active_at_end": states["active"] + states["waiting"],
        "tasks_running_at_end": states["running"],
        "tasks_never_started": never_started,
        "wait_censored": censored,
        "autoscale_errors": sum(1 for e in records.evaluations if e.error_code is not None),
        "deadline_met_fraction": met / with_deadline if with_deadline else math.nan,
    }
