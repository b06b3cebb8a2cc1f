"""What a run produces: the summary (DESIGN §4 keys) and long-format tables, built once at the end."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from batchsim.sim.engine import Engine, PriceLike

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
# The fixed scenario defaults (DESIGN §4 example, batch-behavior §6.3) when no price is given.
DEFAULT_DEDICATED_PER_HOUR = 0.096
DEFAULT_SPOT_PER_HOUR = 0.0192


@dataclass
class Result:
    """A simulation's records.

    summary: the DESIGN §4 keys, plus extensions (`tasks_active_at_end`, `deadline_met_fraction`, ...).
    tasks: one row per task. nodes: node-state intervals. evaluations: autoscale runs.
    metrics: every sampled variable, long format (time_s, name, value).
    """

    summary: dict[str, Any]
    tasks: pd.DataFrame
    nodes: pd.DataFrame
    evaluations: pd.DataFrame
    metrics: pd.DataFrame
    resize_errors: pd.DataFrame = field(default_factory=pd.DataFrame)
    attempts: pd.DataFrame = field(default_factory=pd.DataFrame)

    @classmethod
    def from_engine(cls, engine: Engine, *, prices: PriceLike | None, wall_s: float) -> Result:
        tasks = _tasks_frame(engine)
        nodes = pd.DataFrame(engine.node_intervals, columns=["node_id", "kind", "state", "start_s", "end_s", "billed"])
        evaluations = pd.DataFrame(
            engine.evaluations,
            columns=[
                "time_s",
                "results",
                "target_dedicated",
                "target_spot",
                "node_deallocation_option",
                "error_code",
                "error_message",
            ],
        )
        metrics = _metrics_frame(engine)
        resize_errors = pd.DataFrame(engine.resize_errors, columns=["time_s", "kind", "code"])
        attempts = pd.DataFrame(
            engine.attempt_log,
            columns=["task_id", "job_id", "node_id", "kind", "start_s", "end_s", "slots", "outcome"],
        )
        summary = _summary(engine, tasks, nodes, prices, wall_s)
        return cls(summary, tasks, nodes, evaluations, metrics, resize_errors, attempts)

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
        (out / "summary.json").write_text(json.dumps(self.summary, indent=2) + "\n", encoding="utf-8")
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


def _tasks_frame(engine: Engine) -> pd.DataFrame:
    rows = [
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
    frame = pd.DataFrame(
        rows,
        columns=[
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
        ],
    )
    for column in ("eligible_s", "start_s", "end_s", "deadline_s"):
        frame[column] = frame[column].astype(float)  # None → NaN
    frame["wait_s"] = frame["start_s"] - frame["eligible_s"]
    return frame


def _metrics_frame(engine: Engine) -> pd.DataFrame:
    times = np.asarray(engine.sample_times)
    parts = [
        pd.DataFrame({"time_s": times, "name": name, "value": np.asarray(series.values[: len(times)], dtype=float)})
        for name, series in engine.samples.items()
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["time_s", "name", "value"])


def _percentile(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if values.size else 0.0


def _summary(
    engine: Engine, tasks: pd.DataFrame, nodes: pd.DataFrame, prices: PriceLike | None, wall_s: float
) -> dict[str, Any]:
    from batchsim.cost.billing import bill
    from batchsim.scenario import Prices

    waits = tasks["wait_s"].dropna().to_numpy(dtype=float)
    dedicated_price = prices.dedicated_per_hour if prices is not None else DEFAULT_DEDICATED_PER_HOUR
    spot_price = prices.spot_per_hour if prices is not None else DEFAULT_SPOT_PER_HOUR
    costs = bill(nodes, Prices(dedicated_per_hour=dedicated_price, spot_per_hour=spot_price))
    hours_dedicated, hours_spot = costs.node_hours_dedicated, costs.node_hours_spot
    cost_dedicated, cost_spot = costs.dedicated_usd, costs.spot_usd
    completed = tasks["state"] == "completed"
    with_deadline = tasks["deadline_s"].notna()
    met = completed & with_deadline & (tasks["end_s"] <= tasks["deadline_s"])
    summary: dict[str, Any] = {
        "tasks_submitted": len(tasks),
        "tasks_completed": int(completed.sum()),
        "tasks_failed": int((tasks["state"] == "failed").sum()),
        "wait_s_mean": float(waits.mean()) if waits.size else 0.0,
        "wait_s_p50": _percentile(waits, 50),
        "wait_s_p95": _percentile(waits, 95),
        "wait_s_p99": _percentile(waits, 99),
        "wait_s_max": float(waits.max()) if waits.size else 0.0,
        "cost_usd": cost_dedicated + cost_spot,
        "cost_dedicated_usd": cost_dedicated,
        "cost_spot_usd": cost_spot,
        "node_hours_dedicated": hours_dedicated,
        "node_hours_spot": hours_spot,
        "preemptions": engine.preemptions,
        "task_requeues": engine.requeues,
        "autoscale_evaluations": len(engine.evaluations),
        "simulated_s": engine.duration_s,
        "events": engine.events,
        "wall_s": wall_s,
        "seed": engine.seed,
        # Extensions.
        "tasks_active_at_end": int((tasks["state"] == "active").sum() + (tasks["state"] == "waiting").sum()),
        "tasks_running_at_end": int((tasks["state"] == "running").sum()),
        "tasks_never_started": int(tasks["start_s"].isna().sum()),
        "autoscale_errors": int(sum(1 for e in engine.evaluations if e[5] is not None)),
        "deadline_met_fraction": float(met.sum() / with_deadline.sum()) if with_deadline.any() else math.nan,
        "cost_idle_usd": costs.idle_usd,
        "cost_provisioning_usd": costs.provisioning_usd,
        "cost_per_completed_task_usd": costs.per_completed_task_usd(int(completed.sum())),
        "cost_per_core_hour_usd": costs.per_core_hour_usd(engine.vcpus),
        "price_dedicated_per_hour": dedicated_price,
        "price_spot_per_hour": spot_price,
    }
    return summary
