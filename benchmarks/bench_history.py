"""Calibrate and backtest at scale (issue 12 §5): a 7-day history of about 1,000,000 tasks.

Figures printed:
- calibrate (read_history + calibrate + writing the scenario and its trace): wall seconds and peak
  resident memory, measured in a fresh process (aim ≤ 20 s, ≤ 2 GiB);
- backtest with 1 seed against a plain `simulate` of the calibrated scenario (aim ≤ 2×).

The history is generated once (a simulated week of a 4-slot pool at ~6,000 tasks an hour, labelled
GENERATED) and kept in $BATCHSIM_BENCH_DIR (default /tmp/batchsim-bench-history) for later runs.
Run: python benchmarks/bench_history.py
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCENARIO = """\
name: bench-week
duration: 7d
seed: 5
start: 2026-03-02T00:00:00Z
pool:
  vm_size: Standard_D2s_v3
  region: eastus
  task_slots_per_node: 4
  provisioning_delay:
    dedicated: {dist: lognormal, median: 5m, sigma: 0.3}
    spot: {dist: lognormal, median: 7m, sigma: 0.45}
  spot: {eviction_rate_per_hour: 0.1}
  autoscale:
    interval: 5m
    formula: |
      percent = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 3);
      tasks = percent < 70 ? max(0, $PendingTasks.GetSample(1)) : avg($PendingTasks.GetSample(TimeInterval_Minute * 3));
      nodes = (tasks + $TaskSlotsPerNode - 1) / $TaskSlotsPerNode;
      $TargetDedicatedNodes = nodes > 60 ? 20 : (nodes > 30 ? 10 : 4);
      $TargetLowPriorityNodes = min(200, max(0, nodes - $TargetDedicatedNodes));
      $NodeDeallocationOption = taskcompletion;
workload:
  - {kind: diurnal, job: render, mean_per_hour: 4200, amplitude: 0.6, peak_hour: 14, priority: 5,
     failure_probability: 0.02, max_retry_count: 2, task_duration: {dist: lognormal, median: 2m, sigma: 0.6}}
  - {kind: diurnal, job: etl, mean_per_hour: 1750, amplitude: 0.4, peak_hour: 3,
     task_duration: {dist: lognormal, median: 1m, sigma: 0.4}}
"""

CALIBRATE = """
import resource, sys, time
from pathlib import Path
from batchsim.history.calibrate import calibrate
from batchsim.history.directory import read_history
from batchsim.history.scenario_file import trace_path_for, write_calibration
began = time.perf_counter()
history = read_history(sys.argv[1])
out = Path(sys.argv[2])
cal = calibrate(history, workload="trace", trace_path=trace_path_for(out).name)
write_calibration(cal, out, Path(sys.argv[1]), force=True)
wall = time.perf_counter() - began
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"{wall} {peak_kib} {len(history.tasks)}")
"""


def history(root: Path) -> Path:
    out = root / "history"
    if (out / "tasks.csv").is_file():
        return out
    from batchsim.history.synthetic import write_synthetic_history
    from batchsim.scenario import load_scenario

    root.mkdir(parents=True, exist_ok=True)
    (root / "week.yaml").write_text(SCENARIO, encoding="utf-8")
    began = time.perf_counter()
    write_synthetic_history(load_scenario(root / "week.yaml"), out, pool_id="bench", force=True)
    print(f"generated the history in {time.perf_counter() - began:.1f} s (simulating the week)")
    return out


def main() -> None:
    import batchsim
    from batchsim.history.backtest import backtest
    from batchsim.history.directory import read_history
    from batchsim.scenario import load_scenario

    root = Path(os.environ.get("BATCHSIM_BENCH_DIR", "/tmp/batchsim-bench-history"))
    directory = history(root)
    with tempfile.TemporaryDirectory() as work:
        scenario_file = Path(work) / "calibrated.yaml"
        done = subprocess.run(
            [sys.executable, "-c", CALIBRATE, str(directory), str(scenario_file)],
            capture_output=True,
            text=True,
            check=True,
        )
        wall, peak_kib, tasks = done.stdout.split()
        print(
            f"calibrate: {int(tasks):,} tasks over 7 days in {float(wall):.1f} s, peak RSS {int(peak_kib) / 2**20:.2f} GiB"
            " (aim <= 20 s, <= 2 GiB)"
        )
        scenario = load_scenario(scenario_file)
        began = time.perf_counter()
        batchsim.simulate(scenario, seed=1)
        plain = time.perf_counter() - began
        began = time.perf_counter()
        result = backtest(read_history(directory), seeds=1)
        replay = time.perf_counter() - began
    print(f"simulate (calibrated scenario, 1 seed): {plain:.1f} s")
    print(f"backtest (1 seed, calibration included): {replay:.1f} s = {replay / plain:.2f}x simulate (aim <= 2x)")
    print(
        json.dumps({k: result.document[k] for k in ("nodes_dedicated_mae", "nodes_spot_mae", "wait_ks", "targets_mae")})
    )
    print(f"this process's peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


if __name__ == "__main__":
    main()
