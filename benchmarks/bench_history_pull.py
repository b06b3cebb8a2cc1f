"""`history pull` of 100,000 tasks from the local Batch service (issue 12 §5): requests and wall time.

The service (tests/azure/batch_server.py, run in this process on 127.0.0.1) holds one pool with
10 jobs of 10,000 tasks created over a week; the pull goes through the real azure-batch client with
shared-key signing (every request's signature is checked), 1,000 tasks a page.
Run: python benchmarks/bench_history_pull.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "azure"))

from batch_server import FakeBatchService, make_pool, serve

SINCE = datetime(2026, 3, 1, tzinfo=timezone.utc)
JOBS, PER_JOB = 10, 10_000


def _task(job: int, k: int) -> dict[str, object]:
    created = SINCE + timedelta(seconds=(job * PER_JOB + k) * 6)
    stamp = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"  # noqa: E731
    return {
        "id": f"task-{k:06d}",
        "url": f"https://acct.eastus.batch.azure.com/jobs/job-{job}/tasks/task-{k:06d}",
        "creationTime": stamp(created),
        "state": "completed",
        "commandLine": "/bin/sh -c 'render'",
        "requiredSlots": 1,
        "executionInfo": {
            "startTime": stamp(created + timedelta(seconds=30)),
            "endTime": stamp(created + timedelta(seconds=150)),
            "exitCode": 0,
            "retryCount": 0,
            "requeueCount": 0,
        },
        "nodeInfo": {"poolId": "render", "nodeId": f"tvm-{k % 40}"},
    }


def main() -> None:
    from typer.testing import CliRunner

    from batchsim.cli import app

    service = FakeBatchService(pools={"render": make_pool("render")})
    service.jobs = {
        f"job-{j}": {
            "id": f"job-{j}",
            "priority": j,
            "poolInfo": {"poolId": "render"},
            "creationTime": "2026-03-01T00:00:00Z",
        }
        for j in range(JOBS)
    }
    service.tasks = {f"job-{j}": [_task(j, k) for k in range(PER_JOB)] for j in range(JOBS)}
    service.nodes = {"render": [{"id": f"tvm-{k}", "state": "idle", "isDedicated": k < 10} for k in range(40)]}
    for running in serve(service):
        with tempfile.TemporaryDirectory() as work:
            args = [
                "history",
                "pull",
                "render",
                "--since",
                "2026-03-01T00:00:00Z",
                "--until",
                "2026-03-08T00:00:00Z",
                "--out",
                str(Path(work) / "h"),
                "--endpoint",
                running.url,
                "--account-name",
                service.account,
                "--account-key",
                service.key,
                "--retries",
                "0",
                "--format",
                "json",
            ]
            began = time.perf_counter()
            result = CliRunner().invoke(app, args)
            wall = time.perf_counter() - began
            assert result.exit_code == 0, result.output
            tasks_csv = (Path(work) / "h" / "tasks.csv").stat().st_size
    import json

    summary = json.loads(result.stdout)
    print(
        f"history pull: {summary['tasks']:,} tasks of {summary['jobs']} jobs in {summary['requests']} requests, "
        f"{wall:.1f} s wall ({summary['tasks'] / wall:,.0f} tasks/s; tasks.csv {tasks_csv / 2**20:.1f} MiB)"
    )
    print(
        f"of which the local service's own work (filtering, JSON, signature checks): {service.busy_s:.1f} s; "
        f"the client's share: {wall - service.busy_s:.1f} s"
    )
    print(f"signature failures at the service: {service.signature_failures}")


if __name__ == "__main__":
    main()
