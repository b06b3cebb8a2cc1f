"""`batchsim history import`: Batch service log events in the two shapes users have, built from the
documented event bodies (learn.microsoft.com/azure/batch/batch-*-event, monitor-batch)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from batchsim.cli import app
from batchsim.history.calibrate import calibrate
from batchsim.history.directory import read_history

runner = CliRunner()
RESOURCE = "/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.BATCH/BATCHACCOUNTS/ACCT/"
FORMULA = "$TargetDedicatedNodes = min(4, $PendingTasks.GetSample(1));"


def _task(name: str, task: str, node: str, info: dict[str, Any], pool: str = "render") -> dict[str, Any]:
    """A task event body as batch-task-{start,complete,fail,requeue}-event documents it."""
    body: dict[str, Any] = {
        "jobId": "render-17",
        "id": task,
        "taskType": "User",
        "systemTaskVersion": 0,
        "nodeInfo": {"poolId": pool, "nodeId": node},
        "multiInstanceSettings": {"numberOfInstances": 1},
        "constraints": {"maxTaskRetryCount": 2},
        "executionInfo": info,
    }
    if name != "TaskStartEvent":
        body["requiredSlots"] = 1
    return body


def documented_events() -> list[tuple[str, str, dict[str, Any]]]:
    """(operationName, record time, body) in the documented shapes, for pool 'render'."""
    a, b = "tvm-257509324_1-20160908t162728z", "tvm-257509324_2-20160908t162728z"
    return [
        (
            "PoolCreateEvent",
            "2026-03-02T09:59:00.1000000Z",
            {
                "id": "render",
                "displayName": "Render",
                "vmSize": "STANDARD_D2S_V3",
                "imageType": "VirtualMachineConfiguration",
                "virtualMachineConfiguration": {
                    "imageReference": {"publisher": "Canonical"},
                    "nodeAgentId": "batch.node.ubuntu 22.04",
                },
                "resizeTimeout": "900000",
                "targetDedicatedNodes": 0,
                "targetLowPriorityNodes": 0,
                "taskSlotsPerNode": 2,
                "vmFillType": "Spread",
                "enableAutoScale": True,
                "isAutoPool": False,
            },
        ),
        (
            "PoolResizeStartEvent",
            "2026-03-02T10:00:01.0000000Z",
            {
                "id": "render",
                "nodeDeallocationOption": "Invalid",
                "currentDedicatedNodes": 0,
                "targetDedicatedNodes": 2,
                "currentLowPriorityNodes": 0,
                "targetLowPriorityNodes": 3,
                "enableAutoScale": True,
                "isAutoPool": False,
            },
        ),
        (
            "PoolAutoScaleEvent",
            "2026-03-02T10:00:00.5000000Z",
            {
                "id": "render",
                "timestamp": "2026-03-02T10:00:00.204Z",
                "formula": FORMULA,
                "results": "$TargetDedicatedNodes=2;$TargetLowPriorityNodes=3;$NodeDeallocationOption=requeue",
            },
        ),
        (
            "PoolResizeCompleteEvent",
            "2026-03-02T10:06:13.5698778Z",
            {
                "id": "render",
                "nodeDeallocationOption": "invalid",
                "currentDedicatedNodes": 2,
                "targetDedicatedNodes": 2,
                "currentLowPriorityNodes": 3,
                "targetLowPriorityNodes": 3,
                "enableAutoScale": True,
                "isAutoPool": False,
                "startTime": "2026-03-02 10:00:00.522",
                "endTime": "2026-03-02 10:06:12.489",
                "resultCode": "Success",
                "resultMessage": "The operation succeeded",
            },
        ),
        (
            "PoolAutoScaleEvent",
            "2026-03-02T10:05:00.5000000Z",
            {
                "id": "render",
                "timestamp": "2026-03-02T10:05:00.204Z",
                "formula": FORMULA,
                "results": "...",
                "error": {
                    "code": "InsufficientSampleData",
                    "message": "Autoscale evaluation failed due to insufficient sample data",
                    "values": [
                        {
                            "name": "Message",
                            "value": "Line 1, Col 44: Insufficient data from data set: $PendingTasks wanted 70%, received 50%",
                        }
                    ],
                },
            },
        ),
        ("TaskStartEvent", "2026-03-02T10:07:00.0000000Z", _task("TaskStartEvent", "t1", a, {"retryCount": 0})),
        ("TaskStartEvent", "2026-03-02T10:07:01.0000000Z", _task("TaskStartEvent", "t2", b, {"retryCount": 0})),
        (
            "TaskCompleteEvent",
            "2026-03-02T10:09:00.0000000Z",
            _task(
                "TaskCompleteEvent",
                "t1",
                a,
                {
                    "startTime": "2026-03-02T10:07:00.799Z",
                    "endTime": "2026-03-02T10:09:00.666Z",
                    "exitCode": 0,
                    "retryCount": 0,
                    "requeueCount": 0,
                    "result": "Success",
                    "schedulingError": {"category": "", "code": "", "message": "", "details": []},
                },
            ),
        ),
        ("TaskStartEvent", "2026-03-02T10:10:00.0000000Z", _task("TaskStartEvent", "t2", b, {"retryCount": 1})),
        (
            "TaskFailEvent",
            "2026-03-02T10:12:00.0000000Z",
            _task(
                "TaskFailEvent",
                "t2",
                b,
                {
                    "startTime": "2026-03-02T10:10:00.100Z",
                    "endTime": "2026-03-02T10:12:00.000Z",
                    "exitCode": 1,
                    "retryCount": 1,
                    "requeueCount": 0,
                },
            ),
        ),
        (
            "TaskCompleteEvent",
            "2026-03-02T10:12:00.1000000Z",
            _task(
                "TaskCompleteEvent",
                "t2",
                b,
                {
                    "startTime": "2026-03-02T10:10:00.100Z",
                    "endTime": "2026-03-02T10:12:00.000Z",
                    "exitCode": 1,
                    "retryCount": 1,
                    "requeueCount": 0,
                },
            ),
        ),
        ("TaskStartEvent", "2026-03-02T10:13:00.0000000Z", _task("TaskStartEvent", "t3", a, {"retryCount": 0})),
        (
            "TaskRequeueEvent",
            "2026-03-02T10:14:00.0000000Z",
            _task(
                "TaskRequeueEvent",
                "t3",
                a,
                {
                    "startTime": "2026-03-02T10:13:00.000Z",
                    "endTime": "2026-03-02T10:14:00.000Z",
                    "retryCount": 0,
                    "requeueCount": 1,
                },
            ),
        ),
        ("TaskStartEvent", "2026-03-02T10:15:00.0000000Z", _task("TaskStartEvent", "t3", b, {"retryCount": 0})),
        # Not this pool's, not needed, not known, and a task event without execution info.
        (
            "TaskStartEvent",
            "2026-03-02T10:16:00.0000000Z",
            _task("TaskStartEvent", "x1", a, {"retryCount": 0}, pool="other"),
        ),
        ("PoolDeleteStartEvent", "2026-03-02T10:17:00.0000000Z", {"id": "old"}),
        ("PoolFrobnicateEvent", "2026-03-02T10:18:00.0000000Z", {"id": "render"}),
        (
            "TaskCompleteEvent",
            "2026-03-02T10:19:00.0000000Z",
            {"jobId": "render-17", "id": "t9", "nodeInfo": {"poolId": "render", "nodeId": a}},
        ),
        (
            "PoolAutoScaleEvent",
            "2026-03-02T10:20:00.5000000Z",
            {
                "id": "render",
                "timestamp": "2026-03-02T10:20:00.204Z",
                "formula": FORMULA,
                "results": "$TargetDedicatedNodes=1;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue",
            },
        ),
    ]


def resource_log(name: str, time: str, body: dict[str, Any]) -> dict[str, Any]:
    """A record in the resource-log common schema, as archived to storage (monitor-batch's example)."""
    return {
        "Tenant": "65298bc2729a4c93b11c00ad7e660501",
        "time": time,
        "resourceId": RESOURCE,
        "category": "ServiceLog",
        "operationName": name,
        "operationVersion": "2017-06-01",
        "properties": body,
    }


def _suffix(value: Any) -> str:
    if isinstance(value, bool):
        return "b"
    if isinstance(value, (int, float)):
        return "d"
    if isinstance(value, str) and len(value) > 18 and value[4] == "-" and value[10] == "T":
        return "t"
    return "s"


def flatten(body: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """An event body as AzureDiagnostics columns: path joined by '_', type suffix (_s, _d, _b, _t)."""
    columns: dict[str, Any] = {}
    for key, value in body.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            columns.update(flatten(value, name + "_"))
        elif isinstance(value, list):
            columns[f"{name}_s"] = json.dumps(value)
        else:
            columns[f"{name}_{_suffix(value)}"] = value
    return columns


def diagnostics_row(name: str, time: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "TenantId": "65298bc2-729a-4c93-b11c-00ad7e660501",
        "TimeGenerated": time,
        "ResourceId": RESOURCE.rstrip("/"),
        "Category": "ServiceLog",
        "OperationName": name,
        "SourceSystem": "Azure",
        "Type": "AzureDiagnostics",
        **flatten(body),
    }


def write_storage(root: Path, *, old_format: bool = False) -> Path:
    blob = root / "insights-logs-servicelog" / f"resourceId={RESOURCE}y=2026" / "m=03" / "d=02" / "h=10" / "m=00"
    blob.mkdir(parents=True)
    records = [resource_log(*event) for event in documented_events()]
    if old_format:
        (blob / "PT1H.json").write_text(json.dumps({"records": records}))
    else:
        lines = [json.dumps(r) for r in records]
        lines.insert(3, "{not json at all")
        (blob / "PT1H.json").write_text("\n".join(lines) + "\n")
    return root / "insights-logs-servicelog"


def write_log_analytics_csv(path: Path) -> Path:
    rows = [diagnostics_row(*event) for event in documented_events()]
    names = list(dict.fromkeys(k for row in rows for k in row))
    with path.open("w", newline="", encoding="utf-8-sig") as stream:
        writer = csv.DictWriter(
            stream, fieldnames=[("TimeGenerated [UTC]" if n == "TimeGenerated" else n) for n in names]
        )
        writer.writeheader()
        for row in rows:
            writer.writerow({("TimeGenerated [UTC]" if k == "TimeGenerated" else k): v for k, v in row.items()})
    return path


def _tables(out: Path) -> dict[str, pd.DataFrame]:
    return {
        name: pd.read_csv(out / name, dtype=str, keep_default_na=False)
        for name in ("tasks.csv", "resizes.csv", "autoscale.csv")
    }


@pytest.fixture
def storage_history(tmp_path: Path) -> Path:
    logs = write_storage(tmp_path / "logs")
    out = tmp_path / "from-storage"
    result = runner.invoke(
        app, ["history", "import", str(logs), "--out", str(out), "--pool", "render", "--region", "westeurope"]
    )
    assert result.exit_code == 0, result.output
    return out


def test_storage_archive_becomes_a_history(storage_history: Path) -> None:
    history = read_history(storage_history)
    tasks = history.tasks.set_index("task_id")
    assert list(tasks.index) == ["t1", "t2", "t3"]
    assert tasks.loc["t1", "state"] == "completed" and tasks.loc["t1", "exit_code"] == 0
    assert tasks.loc["t2", "exit_code"] == 1 and tasks.loc["t2", "retry_count"] == 1
    assert tasks.loc["t3", "state"] == "running" and tasks.loc["t3", "requeue_count"] == 1
    assert str(tasks.loc["t3", "started"]) == "2026-03-02 10:15:00+00:00" and pd.isna(tasks.loc["t3", "ended"])
    assert tasks["created"].isna().all()  # service logs do not record it
    resizes = history.resizes
    assert resizes is not None and len(resizes) == 1
    row = resizes.iloc[0]
    assert (row["from_dedicated"], row["target_dedicated"], row["from_spot"], row["target_spot"]) == (0, 2, 0, 3)
    assert (row["end"] - row["start"]).total_seconds() == pytest.approx(371.967)
    autoscale = history.autoscale
    assert autoscale is not None and list(autoscale["error_code"].fillna("")) == ["", "InsufficientSampleData", ""]
    assert autoscale["error_message"].iloc[1].startswith("Line 1, Col 44")
    pool = history.pool
    assert pool["autoScaleFormula"] == FORMULA and pool["taskSlotsPerNode"] == 2 and pool["resizeTimeout"] == "PT15M"
    assert pool["location"] == "westeurope"
    meta = history.meta["import"]
    assert meta["lines_not_json"] == 1 and meta["first_line_not_json"].endswith(
        "PT1H.json:4: not JSON (Expecting property name enclosed in double quotes)"
    )
    assert meta["unknown_event_types"] == {"PoolFrobnicateEvent": 1}
    assert meta["ignored"] == {"PoolDeleteStartEvent": 1}
    assert meta["events_of_other_pools"] == {"other": 1}
    assert meta["task_events_without_execution_info"] == 1


def test_log_analytics_exports_give_the_same_history(storage_history: Path, tmp_path: Path) -> None:
    expected = _tables(storage_history)
    exports = {
        "portal.csv": write_log_analytics_csv(tmp_path / "portal.csv"),
    }
    rows = [diagnostics_row(*event) for event in documented_events()]
    cli_json = tmp_path / "az-cli.json"
    cli_json.write_text(json.dumps(rows))
    exports["az-cli.json"] = cli_json
    names = list(dict.fromkeys(k for row in rows for k in row))
    api = tmp_path / "api.json"
    api.write_text(
        json.dumps(
            {
                "tables": [
                    {
                        "name": "PrimaryResult",
                        "columns": [{"name": n, "type": "string"} for n in names],
                        "rows": [[row.get(n) for n in names] for row in rows],
                    }
                ]
            }
        )
    )
    exports["api.json"] = api
    for label, path in exports.items():
        out = tmp_path / label.replace(".", "-")
        result = runner.invoke(
            app, ["history", "import", str(path), "--out", str(out), "--pool", "render", "--region", "westeurope"]
        )
        assert result.exit_code == 0, (label, result.output)
        got = _tables(out)
        for name, frame in expected.items():
            pd.testing.assert_frame_equal(got[name], frame, obj=f"{label} {name}")


def test_old_records_document_and_an_imported_history_calibrates(tmp_path: Path) -> None:
    logs = write_storage(tmp_path / "logs", old_format=True)
    out = tmp_path / "h"
    result = runner.invoke(app, ["history", "import", str(logs), "--out", str(out)])
    assert (
        result.exit_code == 1
        and "several pools; choose one with --pool: render (16 events), other (1 events)" in result.output
    )
    result = runner.invoke(
        app, ["history", "import", str(logs), "--out", str(out), "--format", "json", "--pool", "render"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["pool_id"] == "render" and summary["lines_not_json"] == 0
    cal = calibrate(read_history(out))
    assert cal.document["pool"]["autoscale"]["formula"] == FORMULA
    assert any("no creation time" in note for note in cal.notes)


def test_bad_logs(tmp_path: Path) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text("not json\nnor this\n")
    result = runner.invoke(app, ["history", "import", str(junk), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and "no Batch service log event: 2 line(s) are not JSON (first: " in result.output
    assert f"{junk}:1: not JSON" in result.output and "are JSON but" not in result.output
    assert not (tmp_path / "o").exists() and not (tmp_path / "o.partial").exists()
    # A PT1H.json whose first line parses but is no event, and whose later lines do not parse.
    blob = tmp_path / "PT1H.json"
    blob.write_text('{"time": "2026-01-01T00:00:00Z", "category": "ServiceLog"}\n{bad\n{bad\n')
    result = runner.invoke(app, ["history", "import", str(blob), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1, result.output
    assert "no line of the logs is JSON" not in result.output
    assert "no Batch service log event: 2 line(s) are not JSON" in result.output
    assert f"{blob}:2: not JSON" in result.output
    assert "the other 1 line(s) are JSON but no service log event" in result.output
    assert not (tmp_path / "o").exists() and not (tmp_path / "o.partial").exists()
    result = runner.invoke(app, ["history", "import", str(tmp_path / "missing.json"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and "no such file" in result.output
    logs = write_storage(tmp_path / "logs")
    result = runner.invoke(app, ["history", "import", str(logs), "--out", str(tmp_path / "o"), "--pool", "ghost"])
    assert result.exit_code == 1 and "no event of pool 'ghost'" in result.output and "render" in result.output
    result = runner.invoke(
        app,
        [
            "history",
            "import",
            str(logs),
            "--out",
            str(tmp_path / "o"),
            "--since",
            "2026-03-03T00:00:00Z",
            "--pool",
            "render",
        ],
    )
    assert result.exit_code == 1 and "in the window" in result.output
    result = runner.invoke(app, ["history", "import", str(logs), "--out", str(tmp_path / "o"), "--since", "yesterday"])
    assert result.exit_code == 2
    (tmp_path / "exists").mkdir()
    result = runner.invoke(app, ["history", "import", str(logs), "--out", str(tmp_path / "exists"), "--pool", "render"])
    assert result.exit_code == 1 and "--force" in result.output
