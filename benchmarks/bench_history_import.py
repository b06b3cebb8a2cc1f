"""`history import` of 1,000,000 task events (issue 22 §4): wall time and peak memory.

The logs: 500,000 tasks over a week, each a TaskStartEvent and a TaskCompleteEvent in the
documented bodies (learn.microsoft.com/azure/batch/batch-task-start-event, batch-task-complete-event),
one resource-log record a line as archived to storage (`PT1H.json`, 24 × 7 hourly blobs), plus a
resize pair an hour. Written once into $BATCHSIM_BENCH_DIR (default /tmp/batchsim-bench-import);
the import runs in a fresh process so its peak resident memory is its own. Aim: ≤ 60 s, ≤ 2 GiB.
Run: python benchmarks/bench_history_import.py [--tasks N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TextIO

import numpy as np

RESOURCE = "/SUBSCRIPTIONS/0/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.BATCH/BATCHACCOUNTS/ACCT/"
IMPORT = """
import resource, sys, time
from pathlib import Path
from batchsim.history.logs import import_logs
began = time.perf_counter()
report = import_logs([Path(sys.argv[1])], Path(sys.argv[2]), pool_id="bench", force=True)
wall = time.perf_counter() - began
usage = resource.getrusage(resource.RUSAGE_SELF)
print(wall, usage.ru_maxrss, sum(report.used.values()), usage.ru_utime + usage.ru_stime)
"""


def _stamp(seconds: float) -> str:
    whole = int(seconds)
    day, rest = divmod(whole, 86400)
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    millis = int((seconds - whole) * 1000)
    return f"2026-03-{2 + day:02d}T{hour:02d}:{minute:02d}:{second:02d}.{millis:03d}Z"


def _record(name: str, seconds: float, body: dict[str, object]) -> str:
    return json.dumps(
        {
            "time": _stamp(seconds),
            "resourceId": RESOURCE,
            "category": "ServiceLog",
            "operationName": name,
            "operationVersion": "2017-06-01",
            "properties": body,
        }
    )


def write_logs(root: Path, tasks: int) -> Path:
    logs = root / f"logs-{tasks}"
    if (logs / "done").is_file():
        return logs
    rng = np.random.default_rng(1)
    week_s = 7 * 86400.0
    starts = np.sort(rng.uniform(0, week_s - 3600, tasks))
    durations = rng.lognormal(np.log(120), 0.6, tasks)
    hour_of = (starts // 3600).astype(int)
    handles: dict[int, TextIO] = {}
    for k in range(tasks):
        hour = int(hour_of[k])
        if hour not in handles:
            folder = logs / f"h={hour:03d}"
            folder.mkdir(parents=True, exist_ok=True)
            handles[hour] = (folder / "PT1H.json").open("w", encoding="utf-8")
        stream = handles[hour]
        info = {"retryCount": 0}
        common = {"jobId": f"job-{k // 1000}", "id": f"t{k}", "taskType": "User", "systemTaskVersion": 0}
        node = {"poolId": "bench", "nodeId": f"tvm-{k % 200}"}
        start, end = float(starts[k]), float(starts[k] + durations[k])
        stream.write(_record("TaskStartEvent", start, {**common, "nodeInfo": node, "executionInfo": info}) + "\n")
        done = {"startTime": _stamp(start), "endTime": _stamp(end), "exitCode": 0, "retryCount": 0, "requeueCount": 0}
        body = {**common, "nodeInfo": node, "requiredSlots": 1, "executionInfo": done}
        stream.write(_record("TaskCompleteEvent", end, body) + "\n")
    for stream in handles.values():
        stream.close()
    (logs / "done").write_text("")
    return logs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=500_000, help="tasks (two events each)")
    args = parser.parse_args()
    root = Path(os.environ.get("BATCHSIM_BENCH_DIR", "/tmp/batchsim-bench-import"))
    logs = write_logs(root, args.tasks)
    out = subprocess.run(
        [sys.executable, "-c", IMPORT, str(logs), str(root / "history")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    wall, peak_kib, events, cpu = float(out[0]), int(out[1]), int(out[2]), float(out[3])
    load = os.getloadavg()[0]
    print(
        f"history import of {events:,} task events: {wall:.1f} s wall ({cpu:.1f} s CPU, load average {load:.1f} "
        f"on {os.cpu_count()} cores), peak RSS {peak_kib / 2**20:.2f} GiB (aim ≤ 60 s, ≤ 2 GiB)"
    )


if __name__ == "__main__":
    main()
