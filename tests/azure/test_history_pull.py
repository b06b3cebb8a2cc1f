"""`batchsim history pull` through the real azure-batch client against the local Batch service."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from arm_server import IDENTITY_SECRET, FakeArm
from batch_server import FakeBatchService, Running, autoscale_on, make_pool, serve
from cli_runner import Cli
from metrics_server import FakeMetrics, serve_metrics

from batchsim.history.calibrate import calibrate
from batchsim.history.directory import read_history

SINCE = datetime(2026, 3, 1, tzinfo=timezone.utc)
UNTIL = datetime(2026, 3, 2, tzinfo=timezone.utc)
WINDOW = ["--since", "2026-03-01T00:00:00Z", "--until", "2026-03-02T00:00:00Z"]
RESOURCE_ID = "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Batch/batchAccounts/acct"


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"  # the service writes 7 fractional digits


def _task(k: int, created: datetime, *, state: str = "completed", slots: int = 1) -> dict[str, Any]:
    task: dict[str, Any] = {
        "id": f"task-{k:05d}",
        "url": f"https://acct.eastus.batch.azure.com/jobs/j/tasks/task-{k:05d}",
        "creationTime": _stamp(created),
        "state": state,
        "commandLine": "/bin/sh -c 'render frame'",
        "requiredSlots": slots,
        "constraints": {"maxTaskRetryCount": 2},
    }
    if state != "active":
        info: dict[str, Any] = {
            "startTime": _stamp(created + timedelta(seconds=40)),
            "retryCount": int(k % 3 == 0),
            "requeueCount": 0,
        }
        if state == "completed":
            info.update(endTime=_stamp(created + timedelta(seconds=160)), exitCode=1 if k % 17 == 0 else 0)
        task["executionInfo"] = info
        task["nodeInfo"] = {"poolId": "render", "nodeId": f"tvm-{k % 3}"}
    return task


def history_service(tasks_in_job: int = 120) -> FakeBatchService:
    pool = make_pool(
        "render", **autoscale_on("$TargetDedicatedNodes = 2;", "$TargetDedicatedNodes=2;$TargetLowPriorityNodes=0")
    )
    service = FakeBatchService(pools={"render": pool, "other": make_pool("other")})
    service.jobs = {
        "render-1": {
            "id": "render-1",
            "priority": 10,
            "poolInfo": {"poolId": "render"},
            "creationTime": "2026-02-28T23:00:00Z",
            "state": "active",
        },
        "render-2": {
            "id": "render-2",
            "priority": -5,
            "poolInfo": {"autoPoolSpecification": {}},
            "executionInfo": {"poolId": "render", "startTime": "2026-03-01T01:00:00Z"},
            "creationTime": "2026-03-01T01:00:00Z",
            "state": "active",
        },
        "other-1": {
            "id": "other-1",
            "poolInfo": {"poolId": "other"},
            "creationTime": "2026-03-01T01:00:00Z",
            "state": "active",
        },
        "old-1": {
            "id": "old-1",
            "poolInfo": {"poolId": "render"},
            "creationTime": "2026-02-01T00:00:00Z",
            "executionInfo": {"endTime": "2026-02-02T00:00:00Z"},
            "state": "completed",
        },
        "later-1": {
            "id": "later-1",
            "poolInfo": {"poolId": "render"},
            "creationTime": "2026-03-05T00:00:00Z",
            "state": "active",
        },
    }
    first = [_task(k, SINCE + timedelta(minutes=5 * k)) for k in range(tasks_in_job)]
    first[-1] = _task(tasks_in_job - 1, SINCE + timedelta(hours=23), state="running")
    first[-2] = _task(tasks_in_job - 2, SINCE + timedelta(hours=23, minutes=1), state="active")
    first.append(_task(9000, SINCE - timedelta(hours=1)))  # created before the window
    service.tasks = {
        "render-1": first,
        "render-2": [_task(10_000 + k, SINCE + timedelta(hours=2, minutes=k), slots=2) for k in range(30)],
        "other-1": [_task(20_000 + k, SINCE + timedelta(hours=3)) for k in range(10)],
        "old-1": [_task(30_000, datetime(2026, 2, 1, 1, tzinfo=timezone.utc))],
    }
    service.nodes = {
        "render": [
            {
                "id": f"tvm-{k}",
                "state": "idle",
                "isDedicated": k < 2,
                "allocationTime": "2026-03-01T00:05:00.0000000Z",
                "startTaskInfo": {
                    "state": "completed",
                    "startTime": "2026-03-01T00:06:00.0000000Z",
                    "endTime": f"2026-03-01T00:0{7 + k}:30.0000000Z",
                    "retryCount": 0,
                },
            }
            for k in range(3)
        ]
    }
    return service


@pytest.fixture
def pulled(tmp_path: Path) -> Iterator[tuple[Running, Cli]]:
    for running in serve(history_service()):
        yield running, Cli(running)


def test_pull_writes_a_history_calibrate_can_use(pulled: tuple[Running, Cli], tmp_path: Path) -> None:
    running, cli = pulled
    out = tmp_path / "render-history"
    code, output = cli("history", "pull", "render", *WINDOW, "--out", str(out), "--page-size", "50", "--format", "json")
    assert code == 0, output
    summary = json.loads(output)
    history = read_history(out)
    tasks = history.tasks
    # render-1 (poolInfo) and render-2 (executionInfo, an auto pool) are the pool's; the others are not.
    assert set(tasks["job_id"]) == {"render-1", "render-2"} and len(tasks) == 120 + 30
    assert "task-09000" not in set(tasks["task_id"])  # created before the window: filtered by the service
    one = tasks.set_index("task_id")
    assert one.loc["task-00001", "job_priority"] == 10 and one.loc["task-10001", "job_priority"] == -5
    assert one.loc["task-10001", "required_slots"] == 2
    assert one.loc["task-00017", "exit_code"] == 1 and one.loc["task-00003", "retry_count"] == 1
    assert pd.isna(one.loc["task-00118", "started"]) and one.loc["task-00118", "state"] == "active"  # no execution info
    assert pd.isna(one.loc["task-00119", "ended"]) and one.loc["task-00119", "state"] == "running"
    assert history.pool["autoScaleFormula"] == "$TargetDedicatedNodes = 2;" and history.pool["location"] == "eastus"
    assert history.autoscale is not None and len(history.autoscale) == 1
    assert history.nodes is not None and list(history.nodes["dedicated"]) == [True, True, False]
    assert (history.window_start, history.window_end) == (pd.Timestamp(SINCE), pd.Timestamp(UNTIL))
    # Requests: pool, jobs, 2 task counts, render-1 in 3 pages of 50, render-2 in 1, nodes, pools.
    assert summary["requests"] == 1 + 1 + 2 + 3 + 1 + 1 + 1 == len(running.service.requests)
    listing = [r for r in running.service.requests if r.path == "/jobs/render-1/tasks"]
    assert listing[0].query["$filter"] == [
        "creationTime ge DateTime'2026-03-01T00:00:00Z' and creationTime le DateTime'2026-03-02T00:00:00Z'"
    ]
    assert listing[0].query["$select"] == ["id,creationTime,state,executionInfo,nodeInfo,requiredSlots"]
    assert "$skiptoken" in listing[1].query  # the second page came through odata.nextLink
    assert running.service.signature_failures == 0
    cal = calibrate(history)
    assert cal.document["pool"]["task_slots_per_node"] == 4
    assert cal.block()["pool.start_task.duration.median"]["n"] == 3


def test_throttled_lists_wait_for_retry_after(pulled: tuple[Running, Cli], tmp_path: Path) -> None:
    running, cli = pulled
    running.service.throttle = {2, 4}
    code, output = cli("history", "pull", "render", *WINDOW, "--out", str(tmp_path / "h"), "--page-size", "50")
    assert code == 1 and "429" in output  # the test flags ask for no retries
    assert (tmp_path / "h.partial").is_dir()  # kept, to be continued
    runner = cli.runner
    from batchsim.cli import app

    running.service.throttle = {running.service.list_requests + 2}
    flags = [f for f in cli.flags() if f not in ("--retries", "0")]
    result = runner.invoke(
        app,
        [
            "history",
            "pull",
            "render",
            *WINDOW,
            "--out",
            str(tmp_path / "h"),
            "--page-size",
            "50",
            "--retries",
            "2",
            *flags,
        ],
    )
    assert result.exit_code == 0, result.output
    statuses = [r.status for r in running.service.requests]
    throttled = len(statuses) - 1 - statuses[::-1].index(429)
    waited = running.service.arrival_s[throttled + 1] - running.service.arrival_s[throttled]
    assert waited >= running.service.retry_after_s * 0.95  # Retry-After honoured, then the same page again
    assert running.service.requests[throttled + 1].path == running.service.requests[throttled].path


def test_bad_pool_and_empty_window_leave_nothing(pulled: tuple[Running, Cli], tmp_path: Path) -> None:
    _, cli = pulled
    out = tmp_path / "h"
    code, output = cli("history", "pull", "ghost", *WINDOW, "--out", str(out))
    assert code == 1 and "pool 'ghost' was not found" in output
    code, output = cli(
        "history",
        "pull",
        "render",
        "--since",
        "2025-01-01T00:00:00Z",
        "--until",
        "2025-01-02T00:00:00Z",
        "--out",
        str(out),
    )
    assert code == 1 and "no task of pool 'render' was created between" in output and "nothing was written" in output
    code, output = cli(
        "history",
        "pull",
        "render",
        "--since",
        "2026-03-02T00:00:00Z",
        "--until",
        "2026-03-01T00:00:00Z",
        "--out",
        str(out),
    )
    assert code == 2 and "window is empty" in output
    assert not out.exists() and not (tmp_path / "h.partial").exists()


def test_ctrl_c_leaves_a_resumable_pull(tmp_path: Path) -> None:
    service = history_service(tasks_in_job=400)
    service.delay_s = 0.05
    for running in serve(service):
        out = tmp_path / "h"
        command = [
            sys.executable,
            "-m",
            "batchsim",
            "history",
            "pull",
            "render",
            *WINDOW,
            "--out",
            str(out),
            "--page-size",
            "20",
            *Cli(running).flags(),
        ]
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": ""}
        )
        deadline = time.monotonic() + 60
        while service.list_requests < 8 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
        assert process.returncode == 130, err
        assert "run the same command again to continue" in err and "Traceback" not in err
        assert not out.exists() and (tmp_path / "h.partial" / "pull-state.json").is_file()
        state = json.loads((tmp_path / "h.partial" / "pull-state.json").read_text())
        assert state["tasks"] > 0
        # A torn write after the last saved page is cut back on resume.
        part = next((tmp_path / "h.partial" / "parts").glob("*.csv"))
        with part.open("a") as stream:
            stream.write("render-1,task-half-writ")
        before = len(service.requests)
        service.delay_s = 0
        cli = Cli(running)
        code, output = cli("history", "pull", "render", *WINDOW, "--out", str(out), "--page-size", "20")
        assert code == 0 and "continued an interrupted pull" in output, output
        resumed_requests = len(service.requests) - before
        code, output = cli("history", "pull", "render", *WINDOW, "--out", str(tmp_path / "fresh"), "--page-size", "20")
        assert code == 0, output
        fresh_requests = len(service.requests) - before - resumed_requests
    assert resumed_requests < fresh_requests
    got = pd.read_csv(out / "tasks.csv").sort_values(["job_id", "task_id"]).reset_index(drop=True)
    want = pd.read_csv(tmp_path / "fresh" / "tasks.csv").sort_values(["job_id", "task_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)
    in_window = [
        t
        for job in ("render-1", "render-2")
        for t in service.tasks[job]
        if SINCE <= pd.Timestamp(t["creationTime"]) <= UNTIL
    ]
    assert len(got) == len(in_window) > 300


def test_a_different_interrupted_pull_is_not_mixed_in(pulled: tuple[Running, Cli], tmp_path: Path) -> None:
    _, cli = pulled
    partial = tmp_path / "h.partial"
    partial.mkdir()
    (partial / "pull-state.json").write_text(
        json.dumps({"format": "batchsim-pull-state/1", "identity": {"pool_id": "other", "since": "x", "until": "y"}})
    )
    code, output = cli("history", "pull", "render", *WINDOW, "--out", str(tmp_path / "h"))
    assert code == 1 and "interrupted pull of pool 'other'" in output and "--restart" in output
    code, output = cli("history", "pull", "render", *WINDOW, "--out", str(tmp_path / "h"), "--restart")
    assert code == 0, output


def test_node_counts_from_azure_monitor(arm: FakeArm, tmp_path: Path) -> None:
    """--resource-id: node counts through azure-monitor-querymetrics over https, Entra ID via managed identity."""
    import ssl

    from typer.testing import CliRunner

    from batchsim.cli import app

    minutes = pd.date_range(SINCE, UNTIL, freq="1min", inclusive="left")
    counts = pd.DataFrame(
        {
            "time": minutes,
            "dedicated": 2.0,
            "spot": 3.0,
            "preempted": 1.0,
            "idle": 1.0,
            "running": 4.0,
            "starting": 0.0,
            "unusable": 0.0,
        }
    )
    service = history_service()
    del service.pools["other"]  # the account's only pool: its counts are the pool's
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(tmp_path / "arm-cert.pem", tmp_path / "arm-key.pem")
    service.bearer_token = arm.token
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IDENTITY_ENDPOINT", f"{arm.url}/msi/token")
        patch.setenv("IDENTITY_HEADER", IDENTITY_SECRET)
        for metrics in serve_metrics(FakeMetrics(RESOURCE_ID, counts), tmp_path):
            for running in serve(service, tls):
                out = tmp_path / "h"

                def args(target: Path, running: Running = running, metrics: FakeMetrics = metrics) -> list[str]:
                    return [
                        "history",
                        "pull",
                        "render",
                        *WINDOW,
                        "--out",
                        str(target),
                        "--endpoint",
                        running.url,
                        "--resource-id",
                        RESOURCE_ID,
                        "--metrics-endpoint",
                        metrics.url,
                        "--retries",
                        "0",
                    ]

                result = CliRunner().invoke(app, args(out))
                assert result.exit_code == 0, result.output
                service.pools["second"] = make_pool("second")
                result = CliRunner().invoke(app, args(tmp_path / "h2"))
                assert result.exit_code == 0, result.output
    history = read_history(out)
    assert history.node_counts is not None and len(history.node_counts) == 1440
    assert set(history.node_counts["spot"]) == {3.0} and set(history.node_counts["preempted"]) == {1.0}
    assert len(metrics.requests) == 1 and metrics.requests[0][2] == {"resourceids": [RESOURCE_ID]}
    resources = [r[2]["resource"][0] for r in arm.requests if r[1] == "/msi/token"]
    assert "https://metrics.monitor.azure.com" in resources and "https://batch.core.windows.net/" in resources
    assert not (tmp_path / "h2" / "node_counts.csv").exists()
    assert any("has 2 pools" in note for note in json.loads((tmp_path / "h2" / "history.json").read_text())["notes"])


def test_an_account_of_two_pools_gives_the_pools_own_counts_now(tmp_path: Path) -> None:
    """Issue 22 §1: Azure Monitor's node counts have no pool dimension (learn.microsoft.com/azure/
    azure-monitor/reference/supported-metrics/microsoft-batch-batchaccounts-metrics), so with two
    pools the pull says so and counts the pool's own nodes from its node list (Compute Node - List,
    learn.microsoft.com/rest/api/batchservice/compute-node/list: state, stateTransitionTime,
    isDedicated), which it names in `sources`. The other pool's nodes are not counted."""
    service = history_service()  # pools 'render' and 'other'
    now = datetime.now(timezone.utc)
    for k, task in enumerate(service.tasks["render-1"][:20]):
        task["creationTime"] = _stamp(now - timedelta(minutes=60 - k))
    render = service.nodes["render"]
    render[2] |= {"state": "preempted", "stateTransitionTime": "2026-03-01T20:00:00.0000000Z"}
    render.append(render[1] | {"id": "tvm-3", "state": "running"})
    service.nodes["other"] = [render[0] | {"id": f"other-{k}", "isDedicated": True} for k in range(5)]
    for running in serve(service):
        code, output = Cli(running)("history", "pull", "render", "--since", "2h", "--out", str(tmp_path / "h"))
    assert code == 0, output
    assert "the account has 2 pools (also other)" in output and "no pool dimension" in output
    meta = json.loads((tmp_path / "h" / "history.json").read_text())
    note = next(n for n in meta["notes"] if "2 pools" in n)
    assert "window's end: 3 dedicated, 1 Spot, 1 preempted" in note, note
    now_counts = meta["pool_nodes_now"]
    assert (now_counts["dedicated"], now_counts["spot"], now_counts["preempted"]) == (3, 1, 1)
    assert (now_counts["idle"], now_counts["running"]) == (2, 1) and now_counts["window_end"] is True
    assert now_counts["preempted_since"] == ["2026-03-01T20:00:00.0000000Z"]
    assert any("node list" in source["file"] and source["rows"] == 4 for source in meta["sources"])
    assert not (tmp_path / "h" / "node_counts.csv").exists()  # no account-wide counts as the pool's


def test_an_account_of_one_pool_has_no_caveat(pulled: tuple[Running, Cli], tmp_path: Path) -> None:
    running, cli = pulled
    del running.service.pools["other"]
    code, output = cli("history", "pull", "render", *WINDOW, "--out", str(tmp_path / "h"))
    assert code == 0, output
    meta = json.loads((tmp_path / "h" / "history.json").read_text())
    assert "pool_nodes_now" not in meta and not any("pools" in n for n in meta["notes"])
