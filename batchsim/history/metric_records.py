"""Azure Monitor platform metric records of a Batch account, as `history import` meets them.

Two shapes (record shapes and their sources in docs/history.md):

- **Metrics archived to a storage account** by a diagnostic setting: blobs `PT1H.json` under
  `insights-metrics-pt1m/resourceId=/SUBSCRIPTIONS/.../BATCHACCOUNTS/NAME/y=/m=/d=/h=/m=00/`, one
  record a line: `count`, `total`, `minimum`, `maximum`, `average`, `resourceId`, `time`,
  `metricName`, `timeGrain` (and `dimensions` where the setting exports them).
- **The `AzureMetrics` table** of a Log Analytics workspace: `TimeGenerated`, `ResourceId`,
  `MetricName`, `Total`, `Count`, `Maximum`, `Minimum`, `Average`, `TimeGrain`, `UnitName`
  (`Dimensions` in AzureMetricsV2).

Microsoft's supported-metrics table for Microsoft.Batch/batchaccounts marks the node-count metrics
"DS Export: No": a diagnostic setting exports the event counts (TaskCompleteEvent, PoolResize-
CompleteEvent, ...), which carry a `poolId` dimension. So event counts are checked against the
imported events (a gap in the logs shows as a shortfall), and node counts, where a record has
them (from another exporter), go into node_counts.csv with the account-wide caveat: these
metrics have no pool dimension.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "NODE_COUNT_METRICS",
    "MetricRecord",
    "cross_checks",
    "metric_record",
    "node_counts_from_metrics",
    "steps_as_frame",
]

# node_counts.csv column ← metric name (the REST names of the supported-metrics table).
NODE_COUNT_METRICS = {
    "TotalNodeCount": "dedicated",
    "TotalLowPriorityNodeCount": "spot",
    "PreemptedNodeCount": "preempted",
    "IdleNodeCount": "idle",
    "RunningNodeCount": "running",
    "StartingNodeCount": "starting",
    "UnusableNodeCount": "unusable",
}


@dataclass(frozen=True)
class MetricRecord:
    """One metric value over one time grain: its name, start, aggregates, and pool when dimensioned."""

    name: str
    time: pd.Timestamp
    average: float | None
    total: float | None
    pool: str | None


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _pool(dimensions: Any) -> str | None:
    if isinstance(dimensions, str) and dimensions.strip().startswith(("{", "[")):
        try:
            dimensions = json.loads(dimensions)
        except json.JSONDecodeError:
            return None
    if isinstance(dimensions, list):  # [{"name": "poolId", "value": "render"}]
        dimensions = {str(d.get("name")): d.get("value") for d in dimensions if isinstance(d, dict)}
    if isinstance(dimensions, dict):
        for key, value in dimensions.items():
            if str(key).lower() == "poolid" and value:
                return str(value)
    return None


def metric_record(item: dict[str, Any]) -> MetricRecord | None:
    """A storage-archive metric line or an AzureMetrics row → a record; None when it is neither."""
    keys = {str(k).split(" [")[0]: v for k, v in item.items()}  # the portal writes "TimeGenerated [UTC]"
    lower = {k.lower(): v for k, v in keys.items()}
    name = lower.get("metricname")
    when = lower.get("time") if "time" in lower else lower.get("timegenerated")
    if not isinstance(name, str) or not name or when in (None, ""):
        return None
    try:
        stamp = pd.Timestamp(str(when))
    except ValueError:
        return None
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return MetricRecord(
        name, stamp, _number(lower.get("average")), _number(lower.get("total")), _pool(lower.get("dimensions"))
    )


def node_counts_from_metrics(records: list[MetricRecord]) -> pd.DataFrame | None:
    """node_counts.csv rows from node-count metrics (averages, rounded), None when there are none."""
    rows: dict[pd.Timestamp, dict[str, float]] = {}
    for record in records:
        column = NODE_COUNT_METRICS.get(record.name)
        if column is None or record.average is None:
            continue
        rows.setdefault(record.time, {})[column] = round(record.average)
    if not rows:
        return None
    frame = pd.DataFrame.from_dict(rows, orient="index").sort_index()
    if "dedicated" not in frame and "spot" not in frame:
        return None
    frame.index.name = "time"
    frame = frame.reset_index()
    for column in ("dedicated", "spot"):
        if column not in frame:
            frame[column] = 0.0
    return frame


def cross_checks(records: list[MetricRecord], events: list[tuple[str, datetime]]) -> dict[str, dict[str, Any]]:
    """Each event-count metric's total against the events imported in the minutes it covers.

    events: (event name, time) of the pool's imported events. A metric counts the events of its
    grain (one minute); the logs should hold as many. Fewer imported means missing log blobs.
    """
    grains: dict[str, set[datetime]] = {}
    totals: Counter[str] = Counter()
    for record in records:
        if record.name in NODE_COUNT_METRICS or not record.name.endswith("Event") or record.total is None:
            continue
        grains.setdefault(record.name, set()).add(_minute(record.time))
        totals[record.name] += round(record.total)
    out: dict[str, dict[str, Any]] = {}
    for name, minutes in sorted(grains.items()):
        imported = sum(1 for event, time in events if event == name and _minute(time) in minutes)
        out[name] = {
            "metric_total": totals[name],
            "events_imported": imported,
            "minutes": len(minutes),
            "agrees": totals[name] == imported,
        }
    return out


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def steps_as_frame(times: list[datetime], dedicated: list[float], spot: list[float]) -> pd.DataFrame:
    """Node counts as steps (one row per change), preempted unknown (empty)."""
    frame = pd.DataFrame({"time": times, "dedicated": dedicated, "spot": spot, "preempted": np.nan})
    return frame.sort_values("time", kind="stable").drop_duplicates("time", keep="last").reset_index(drop=True)
