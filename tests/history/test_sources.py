"""Issue 22 §1: one complete history from several sources.

Record shapes, as Microsoft documents them:
- service log events: learn.microsoft.com/azure/batch/batch-pool-resize-start-event,
  batch-pool-resize-complete-event, batch-pool-create-event, batch-task-*-event (test_import builds them);
- metrics archived to storage (insights-metrics-pt1m, one JSON record a line with count, total,
  minimum, maximum, average, resourceId, time, metricName, timeGrain):
  learn.microsoft.com/azure/azure-monitor/essentials/resource-logs#send-to-azure-storage;
- the AzureMetrics table (TimeGenerated, ResourceId, MetricName, Total, Count, Maximum, Minimum,
  Average, TimeGrain, UnitName): learn.microsoft.com/azure/azure-monitor/reference/tables/azuremetrics;
- Batch's metrics and which are exportable (event counts with a poolId dimension; node counts "DS
  Export: No"): learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/microsoft-batch-batchaccounts-metrics.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
from test_import import RESOURCE, documented_events, write_storage
from typer.testing import CliRunner

from batchsim.cli import app
from batchsim.history.calibrate import calibrate
from batchsim.history.directory import TASK_COLUMNS, read_history

runner = CliRunner()
# The AzureMetrics table's columns (tables/azuremetrics), as the portal exports them.
AZURE_METRICS_COLUMNS = [
    "TimeGenerated [UTC]",
    "ResourceId",
    "MetricName",
    "Total",
    "Count",
    "Maximum",
    "Minimum",
    "Average",
    "TimeGrain",
    "UnitName",
]


def _import(logs: list[Path] | Path, out: Path, *extra: str) -> Any:
    paths = [str(p) for p in (logs if isinstance(logs, list) else [logs])]
    return runner.invoke(app, ["history", "import", *paths, "--out", str(out), "--pool", "render", *extra])


def test_a_blob_delivered_twice_is_counted_once(tmp_path: Path) -> None:
    logs = write_storage(tmp_path / "logs")
    (blob,) = logs.rglob("PT1H.json")
    again = tmp_path / "again" / "PT1H.json"  # the same blob delivered a second time
    again.parent.mkdir()
    shutil.copy(blob, again)
    once, twice = tmp_path / "once", tmp_path / "twice"
    assert _import(logs, once).exit_code == 0
    result = _import([logs, again.parent], twice)
    assert result.exit_code == 0, result.output
    for name in ("tasks.csv", "resizes.csv", "autoscale.csv"):
        a = pd.read_csv(once / name, dtype=str, keep_default_na=False)
        b = pd.read_csv(twice / name, dtype=str, keep_default_na=False)
        pd.testing.assert_frame_equal(a, b, obj=name)
    assert len(read_history(twice).resizes) == 1  # type: ignore[arg-type]


def test_a_body_left_in_properties_s_is_read(tmp_path: Path) -> None:
    rows = []
    for name, time, body in documented_events():
        rows.append(
            {
                "TimeGenerated": time,
                "ResourceId": RESOURCE.rstrip("/"),
                "Category": "ServiceLog",
                "OperationName": name,
                "properties_s": json.dumps(body),
            }
        )
    export = tmp_path / "unflattened.json"
    export.write_text(json.dumps(rows))
    out = tmp_path / "h"
    result = _import(export, out)
    assert result.exit_code == 0, result.output
    assert list(read_history(out).tasks["task_id"]) == ["t1", "t2", "t3"]
    # Nothing usable: the message says what it found.
    other = tmp_path / "other.json"
    other.write_text(json.dumps([{"TimeGenerated": "2026-03-02T10:00:00Z", "OperationName": "JobStartEvent"}]))
    result = runner.invoke(app, ["history", "import", str(other), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and "found: JobStartEvent ×1" in result.output


def test_import_reconstructs_node_counts_from_resizes_and_says_preemptions_are_unknown(tmp_path: Path) -> None:
    out = tmp_path / "h"
    result = _import(write_storage(tmp_path / "logs"), out)
    assert result.exit_code == 0, result.output
    assert "preemptions are unknown" in result.output
    counts = pd.read_csv(out / "node_counts.csv", dtype=str, keep_default_na=False)
    # The pool is created empty (09:59:00.1), the resize starts from 0 + 0 (10:00:01) and completes
    # with 2 dedicated and 3 Spot at its endTime (2026-03-02 10:06:12.489).
    assert counts.to_dict("records") == [
        {"time": "2026-03-02T09:59:00.100Z", "dedicated": "0.0", "spot": "0.0", "preempted": ""},
        {"time": "2026-03-02T10:00:01Z", "dedicated": "0.0", "spot": "0.0", "preempted": ""},
        {"time": "2026-03-02T10:06:12.489Z", "dedicated": "2.0", "spot": "3.0", "preempted": ""},
    ]
    row = calibrate(read_history(out)).block()["pool.spot.eviction_rate_per_hour"]
    assert row["estimate"] is None and "no preempted counts" in row["source"]


def _metric_line(name: str, time: str, total: float, average: float | None = None, **dims: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "count": 1,
        "total": total,
        "minimum": average if average is not None else total,
        "maximum": average if average is not None else total,
        "average": average if average is not None else total,
        "resourceId": RESOURCE.rstrip("/"),
        "time": time,
        "metricName": name,
        "timeGrain": "PT1M",
    }
    if dims:
        record["dimensions"] = dims
    return record


def test_metric_records_are_read_as_cross_checks_and_node_counts(tmp_path: Path) -> None:
    logs = write_storage(tmp_path / "logs")
    metrics = tmp_path / "insights-metrics-pt1m" / f"resourceId={RESOURCE}y=2026" / "m=03" / "d=02" / "h=10" / "m=00"
    metrics.mkdir(parents=True)
    lines = [
        # Two TaskStartEvents at 10:07 (t1 and t2): the logs have both.
        _metric_line("TaskStartEvent", "2026-03-02T10:07:00.0000000Z", 2, poolId="render"),
        # The metric counts two task completions at 10:09; the logs hold one (a blob missing).
        _metric_line("TaskCompleteEvent", "2026-03-02T10:09:00.0000000Z", 2, poolId="render"),
        _metric_line("TaskCompleteEvent", "2026-03-02T10:09:00.0000000Z", 5, poolId="other"),
    ]
    (metrics / "PT1H.json").write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    rows = tmp_path / "azuremetrics.csv"  # node counts, as another exporter writes AzureMetrics rows
    with rows.open("w", newline="") as stream:
        writer = csv.DictWriter(
            stream,
            AZURE_METRICS_COLUMNS,
        )
        writer.writeheader()
        for minute, (dedicated, spot, preempted) in enumerate([(0, 0, 0), (2, 3, 0), (2, 3, 1)]):
            time = f"2026-03-02T10:0{minute * 3}:00Z"
            for name, value in (
                ("TotalNodeCount", dedicated),
                ("TotalLowPriorityNodeCount", spot),
                ("PreemptedNodeCount", preempted),
            ):
                writer.writerow(
                    {
                        "TimeGenerated [UTC]": time,
                        "ResourceId": RESOURCE.rstrip("/"),
                        "MetricName": name,
                        "Total": value,
                    }
                    | {
                        "Count": 1,
                        "Maximum": value,
                        "Minimum": value,
                        "Average": value,
                        "TimeGrain": "PT1M",
                        "UnitName": "Count",
                    }
                )
    out = tmp_path / "h"
    result = _import([logs, metrics.parents[5], rows], out)
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "history.json").read_text())
    checks = meta["metric_cross_checks"]
    assert checks["TaskStartEvent"] == {"metric_total": 2, "events_imported": 2, "minutes": 1, "agrees": True}
    assert checks["TaskCompleteEvent"]["metric_total"] == 2 and checks["TaskCompleteEvent"]["events_imported"] == 1
    assert "log blobs may be missing" in result.output and "whole account" in result.output
    counts = read_history(out).node_counts
    assert counts is not None and list(counts["spot"]) == [0, 3, 3] and list(counts["preempted"]) == [0, 0, 1]
    assert sorted(s["kind"] for s in meta["sources"]) == ["platform metrics", "platform metrics", "service logs"]


def _pulled(root: Path) -> Path:
    """What `history pull` writes for the same pool: creation times and priorities, no resizes."""
    root.mkdir()
    (root / "pool.json").write_text(
        json.dumps({"id": "render", "vmSize": "standard_d2s_v3", "location": "westeurope", "enableAutoScale": True})
    )
    rows = [
        {"job_id": "render-17", "task_id": t, "created": c, "state": "running", "job_priority": 5}
        for t, c in (("t1", "2026-03-02T10:06:30Z"), ("t2", "2026-03-02T10:06:40Z"), ("t4", "2026-03-02T10:20:00Z"))
    ]
    pd.DataFrame(rows).reindex(columns=TASK_COLUMNS).to_csv(root / "tasks.csv", index=False)
    (root / "history.json").write_text(
        json.dumps(
            {
                "source": "history pull",
                "window": {"start": "2026-03-02T09:00:00Z", "end": "2026-03-02T11:00:00Z"},
                "sources": [
                    {
                        "file": "https://acct.westeurope.batch.azure.com (azure-batch)",
                        "kind": "pool, tasks and nodes",
                        "rows": 3,
                    }
                ],
                "notes": ["the account has 2 pools (also other) ..."],
                "pool_nodes_now": {"time": "2026-03-02T11:00:00Z", "dedicated": 2, "spot": 1, "preempted": 1},
            }
        )
    )
    return root


def test_import_into_a_pulled_history_merges_and_lists_sources(tmp_path: Path) -> None:
    pulled = _pulled(tmp_path / "pulled")
    merged = tmp_path / "merged"
    result = runner.invoke(app, ["history", "merge", str(pulled), str(pulled), "--out", str(merged)])
    assert result.exit_code == 0 and "tasks.csv: 3 row(s) seen twice, kept once" in result.output
    result = _import(write_storage(tmp_path / "logs"), pulled)  # into the existing pull: merged, not refused
    assert result.exit_code == 0, result.output
    history = read_history(pulled)
    tasks = history.tasks.set_index("task_id")
    assert list(tasks.index) == ["t1", "t2", "t4", "t3"]
    # t1: the pull's creation time and priority, the logs' completion; t4 only the pull saw.
    assert str(tasks.loc["t1", "created"]) == "2026-03-02 10:06:30+00:00" and tasks.loc["t1", "job_priority"] == 5
    assert tasks.loc["t1", "state"] == "completed" and tasks.loc["t1", "exit_code"] == 0
    assert tasks.loc["t4", "state"] == "running"
    assert history.resizes is not None and len(history.resizes) == 1
    assert history.pool["location"] == "westeurope" and history.pool["taskSlotsPerNode"] == 2
    kinds = [s["kind"] for s in history.meta["sources"]]
    assert kinds == ["pool, tasks and nodes", "service logs"]
    assert history.meta["window"] == {"start": "2026-03-02T09:00:00Z", "end": "2026-03-02T11:00:00Z"}
    # A pull's own node counts and its account caveat outlive the merge (issue 22 §1, several pools).
    assert history.meta["pool_nodes_now"]["preempted"] == 1
    assert any("2 pools" in note for note in history.meta["notes"])
    # Importing the same logs again changes nothing: every row is keyed.
    before = {n: (pulled / n).read_text() for n in ("tasks.csv", "resizes.csv", "autoscale.csv")}
    assert _import(write_storage(tmp_path / "logs2"), pulled).exit_code == 0
    assert {n: (pulled / n).read_text() for n in before} == before
    result = runner.invoke(app, ["history", "merge", str(pulled), "--out", str(merged)])
    assert result.exit_code == 2
