"""What a run produces: the summary (DESIGN §4 keys) and long-format tables, built once at the end."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from batchsim import jsonio

if TYPE_CHECKING:
    from collections.abc import Callable

    from matplotlib.axes import Axes

    from batchsim.sim.engine import Engine, PriceLike

__all__ = ["SUMMARY_KEYS", "Plots", "Result"]

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
# The fixed scenario defaults (DESIGN §4 example, batch-behavior §6.3) when no price is given.
DEFAULT_DEDICATED_PER_HOUR = 0.096
DEFAULT_SPOT_PER_HOUR = 0.0192


_TASK_COLUMNS = [
    "task_id",
    "job_id",
    "submit_s",
    "eligible_s",
    "start_s",
    "end_s",
    "state",
    "attempts",
    "requeues",
    "required_slots",
    "duration_s",
    "deadline_s",
]
_NODE_COLUMNS = ["node_id", "kind", "state", "start_s", "end_s", "billed"]
_EVALUATION_COLUMNS = [
    "time_s",
    "results",
    "target_dedicated",
    "target_spot",
    "node_deallocation_option",
    "error_code",
    "error_message",
]
_ATTEMPT_COLUMNS = ["task_id", "job_id", "node_id", "kind", "start_s", "end_s", "slots", "outcome"]


class Plots:
    """`Result.plot`: the functions of `batchsim.report.plots` bound to one run; each takes `ax=`."""

    def __init__(self, result: Result) -> None:
        self._result = result

    def _draw(self, name: str, ax: Axes | None) -> Axes:
        from batchsim.report import plots
        from batchsim.report.runs import Run

        r = self._result
        run = Run(str(r.summary.get("scenario", "run")), r.summary, r.tasks, r.nodes, r.evaluations, r.metrics)
        draw: Callable[..., Axes] = getattr(plots, name)
        return draw(run, ax=ax)

    def nodes(self, ax: Axes | None = None) -> Axes:
        return self._draw("nodes_over_time", ax)

    def queue(self, ax: Axes | None = None) -> Axes:
        return self._draw("queue_length", ax)

    def waits(self, ax: Axes | None = None) -> Axes:
        return self._draw("wait_distribution", ax)

    def cost(self, ax: Axes | None = None) -> Axes:
        return self._draw("cost_breakdown", ax)

    def preemptions(self, ax: Axes | None = None) -> Axes:
        return self._draw("preemptions", ax)


class Result:
    """A simulation's records.

    summary: the DESIGN §4 keys, plus extensions (`tasks_active_at_end`, `deadline_met_fraction`, ...).
    tasks: one row per task. nodes: node-state intervals. evaluations: autoscale runs.
    metrics: every sampled variable, long format (time_s, name, value).

    The summary is computed from the engine's plain records; each table becomes a DataFrame the
    first time it is read, since a sweep or an optimizer trial reads only the summary.
    """

    def __init__(self, summary: dict[str, Any], records: dict[str, tuple[list[Any], list[str]]]) -> None:
        self.summary = summary
        self._records = records
        self._frames: dict[str, pd.DataFrame] = {}

    def _frame(self, name: str) -> pd.DataFrame:
        if name not in self._frames:
            rows, columns = self._records[name]
            self._frames[name] = _finish_frame(name, pd.DataFrame(rows, columns=columns))
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
    def plot(self) -> Plots:
        """The report's plots of this run: `res.plot.nodes(ax=ax)`, `.queue`, `.waits`, `.cost`, `.preemptions`."""
        return Plots(self)

    @classmethod
    def from_engine(cls, engine: Engine, *, prices: PriceLike | None, wall_s: float) -> Result:
        task_rows = [
            (
                t.spec.task_id,
                t.job.spec.job_id,
                t.spec.submit_s,
                t.eligible_s,
                t.first_start_s,
                t.end_s,
                t.state,
                t.attempts,
                t.requeues,
                t.spec.required_slots,
                t.spec.duration_s,
                t.spec.deadline_s,
            )
            for t in engine.tasks
        ]
        times = list(engine.sample_times)
        metric_rows = [
            (time_s, name, float(value))
            for name, series in engine.samples.items()
            for time_s, value in zip(times, series.values[: len(times)], strict=True)
        ]
        records: dict[str, tuple[list[Any], list[str]]] = {
            "tasks": (task_rows, _TASK_COLUMNS),
            "nodes": (engine.node_intervals, _NODE_COLUMNS),
            "evaluations": (engine.evaluations, _EVALUATION_COLUMNS),
            "metrics": (metric_rows, ["time_s", "name", "value"]),
            "resize_errors": (engine.resize_errors, ["time_s", "kind", "code"]),
            "attempts": (engine.attempt_log, _ATTEMPT_COLUMNS),
        }
        return cls(_summary(engine, task_rows, prices, wall_s), records)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "tasks": self.tasks,
            "nodes": self.nodes,
            "evaluations": self.evaluations,
            "metrics": self.metrics,
            "resize_errors": self.resize_errors,
            "attempts": self.attempts,
        }

    def write(self, out_dir: str | Path) -> Path:
        """Write `summary.json` and the tables (Parquet when pyarrow is installed, else CSV)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.json").write_text(jsonio.dumps(self.summary) + "\n", encoding="utf-8")
        try:
            import pyarrow  # noqa: F401

            parquet = True
        except ImportError:
            parquet = False
        for name, frame in self.tables().items():
            if parquet:
                frame.to_parquet(out / f"{name}.parquet", index=False)
            else:
                frame.to_csv(out / f"{name}.csv", index=False)
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


def _summary(
    engine: Engine, task_rows: list[tuple[Any, ...]], prices: PriceLike | None, wall_s: float
) -> dict[str, Any]:
    from batchsim.cost.billing import bill_seconds, billed_seconds
    from batchsim.scenario import Prices

    # Row positions in _TASK_COLUMNS.
    eligible, start, end, state, deadline = 3, 4, 5, 6, 11
    waits = np.array([r[start] - r[eligible] for r in task_rows if r[start] is not None and r[eligible] is not None])
    states = Counter(r[state] for r in task_rows)
    with_deadline = [r for r in task_rows if r[deadline] is not None]
    met = sum(1 for r in with_deadline if r[state] == "completed" and r[end] <= r[deadline])
    completed = states["completed"]
    dedicated_price = prices.dedicated_per_hour if prices is not None else DEFAULT_DEDICATED_PER_HOUR
    spot_price = prices.spot_per_hour if prices is not None else DEFAULT_SPOT_PER_HOUR
    seconds = billed_seconds((k, st, s0, s1, b) for _, k, st, s0, s1, b in engine.node_intervals)
    costs = bill_seconds(seconds, Prices(dedicated_per_hour=dedicated_price, spot_per_hour=spot_price))
    summary: dict[str, Any] = {
        "tasks_submitted": len(task_rows),
        "tasks_completed": completed,
        "tasks_failed": states["failed"],
        "wait_s_mean": float(waits.mean()) if waits.size else 0.0,
        "wait_s_p50": _percentile(waits, 50),
        "wait_s_p95": _percentile(waits, 95),
        "wait_s_p99": _percentile(waits, 99),
        "wait_s_max": float(waits.max()) if waits.size else 0.0,
        "cost_usd": costs.dedicated_usd + costs.spot_usd,
        "cost_dedicated_usd": costs.dedicated_usd,
        "cost_spot_usd": costs.spot_usd,
        "node_hours_dedicated": costs.node_hours_dedicated,
        "node_hours_spot": costs.node_hours_spot,
        "preemptions": engine.preemptions,
        "task_requeues": engine.requeues,
        "autoscale_evaluations": len(engine.evaluations),
        "simulated_s": engine.duration_s,
        "events": engine.events,
        "wall_s": wall_s,
        "seed": engine.seed,
        # Extensions.
        "tasks_active_at_end": states["active"] + states["waiting"],
        "tasks_running_at_end": states["running"],
        "tasks_never_started": sum(1 for r in task_rows if r[start] is None),
        "autoscale_errors": int(sum(1 for e in engine.evaluations if e[5] is not None)),
        "deadline_met_fraction": met / len(with_deadline) if with_deadline else math.nan,
        "cost_idle_usd": costs.idle_usd,
        "cost_provisioning_usd": costs.provisioning_usd,
        "cost_per_completed_task_usd": costs.per_completed_task_usd(completed),
        "cost_per_core_hour_usd": costs.per_core_hour_usd(engine.vcpus),
        "price_dedicated_per_hour": dedicated_price,
        "price_spot_per_hour": spot_price,
    }
    return summary
