"""Node counts once a minute from Azure Monitor platform metrics (`history pull --resource-id`).

The metrics client Microsoft ships is `azure-monitor-querymetrics` (`MetricsClient`): since
azure-monitor-query 2.0.0 (2025-07-30) that package holds logs only and its `MetricsClient` and
`MetricsQueryClient` are gone. `MetricsClient.query_resources` calls the data-plane batch API
(`POST https://REGION.metrics.monitor.azure.com/subscriptions/SUB/metrics:getBatch`) with an Entra
ID token for `https://metrics.monitor.azure.com/.default`; no key is accepted.

The Batch account's node-count metrics (Microsoft.Batch/batchAccounts: TotalNodeCount,
TotalLowPriorityNodeCount, PreemptedNodeCount, IdleNodeCount, RunningNodeCount, StartingNodeCount,
UnusableNodeCount...) are documented with no dimension at all: only the event metrics have a
`poolId` dimension. So they count the whole account, and are the pool's only when the account has
no other pool; `read_node_counts` is told how many pools the account has and says so when not one.
Count metrics are read with the Average aggregation, as the Batch monitoring docs advise.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd

from batchsim.azure.errors import AzureIntegrationError, explain

__all__ = [
    "METRICS",
    "NAMESPACE",
    "MetricsSettings",
    "node_counts_from_results",
    "parse_resource_id",
    "read_node_counts",
]

NAMESPACE = "Microsoft.Batch/batchAccounts"
# node_counts.csv column ← metric (learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/
# microsoft-batch-batchaccounts-metrics).
METRICS = {
    "dedicated": "TotalNodeCount",
    "spot": "TotalLowPriorityNodeCount",
    "preempted": "PreemptedNodeCount",
    "idle": "IdleNodeCount",
    "running": "RunningNodeCount",
    "starting": "StartingNodeCount",
    "unusable": "UnusableNodeCount",
}
_RESOURCE_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Batch/batchAccounts/[^/]+$", re.IGNORECASE
)
_CHUNK = timedelta(days=1)  # 1,440 one-minute points per request


@dataclass(frozen=True)
class MetricsSettings:
    """Where the metrics are: the account's ARM id, the regional endpoint, the token audience."""

    resource_id: str
    endpoint: str
    audience: str
    retries: int = 3
    timeout_s: float = 60.0


def parse_resource_id(text: str) -> str:
    """The Batch account's ARM id, normalised; ValueError naming the expected form."""
    value = text.strip().rstrip("/")
    if not _RESOURCE_ID.match(value):
        raise ValueError(
            f"{text!r} is not a Batch account resource id; expected "
            "/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.Batch/batchAccounts/ACCOUNT"
        )
    return value


def node_counts_from_results(results: list[Any]) -> pd.DataFrame:
    """`MetricsQueryResult`s → node_counts.csv rows (time and one column per metric; averages rounded)."""
    columns: dict[str, dict[pd.Timestamp, float]] = {}
    by_metric = {metric: column for column, metric in METRICS.items()}
    for result in results:
        for metric in result.metrics:
            column = by_metric.get(metric.name)
            if column is None:
                continue
            series = columns.setdefault(column, {})
            for element in metric.timeseries:
                for point in element.data:
                    value = point.average if point.average is not None else point.maximum
                    if value is None:
                        continue
                    stamp = pd.Timestamp(point.timestamp)
                    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
                    series[stamp] = series.get(stamp, 0.0) + float(value)
    if not columns.get("dedicated") and not columns.get("spot"):
        return pd.DataFrame(columns=["time", *METRICS])
    frame = pd.DataFrame(columns).sort_index()
    frame.index.name = "time"
    frame = frame.reset_index()
    for column in METRICS:
        if column not in frame:
            frame[column] = np.nan
        else:
            frame[column] = frame[column].round()
    # A minute with no data for a count is unknown, not zero; the pool had the previous count.
    frame[list(METRICS)] = frame[list(METRICS)].ffill()
    return frame[["time", *METRICS]]


def read_node_counts(
    credential: Any,
    settings: MetricsSettings,
    since: datetime,
    until: datetime,
    *,
    on_chunk: Callable[[int, int], None] | None = None,
    **client_kwargs: Any,
) -> pd.DataFrame:
    """One-minute node counts of the account over [since, until], a day per request."""
    from azure.core.exceptions import AzureError
    from azure.monitor.querymetrics import MetricAggregationType, MetricsClient

    client = MetricsClient(
        settings.endpoint,
        credential,
        audience=settings.audience,
        retry_total=settings.retries,
        connection_timeout=settings.timeout_s,
        read_timeout=settings.timeout_s,
        **client_kwargs,
    )
    results = []
    chunks = []
    start = since.astimezone(timezone.utc)
    while start < until:
        chunks.append((start, min(start + _CHUNK, until)))
        start += _CHUNK
    with client:
        for k, (begin, end) in enumerate(chunks):
            try:
                results.extend(
                    client.query_resources(
                        resource_ids=[settings.resource_id],
                        metric_namespace=NAMESPACE,
                        metric_names=list(METRICS.values()),
                        timespan=(begin, end),
                        granularity=timedelta(minutes=1),
                        aggregations=[MetricAggregationType.AVERAGE],
                    )
                )
            except AzureError as exc:
                raise explain(
                    exc,
                    endpoint=settings.endpoint,
                    action="read the node-count metrics",
                    subject=f"Batch account {settings.resource_id}",
                    auth_hint="give the Entra ID identity the Monitoring Reader role on the subscription",
                ) from None
            if on_chunk is not None:
                on_chunk(k + 1, len(chunks))
    frame = node_counts_from_results(results)
    if not len(frame):
        raise AzureIntegrationError(
            f"Azure Monitor returned no node counts for {settings.resource_id} between "
            f"{since.isoformat()} and {until.isoformat()} (metrics are kept 93 days)"
        )
    return frame
