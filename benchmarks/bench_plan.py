"""A plan against optimize with the same budget, in one run (issue 24 §3): wall time and cores busy.

The 50-node day (`scenarios/azure-llm-trace.yaml`, as bench_candidates runs it), priced in
westeurope (eastus's shipped prices cover one size), its tasks needing half a vCPU so that 1, 2 and
4 slots fit every size. The trace's durations are measured on Standard_D2s_v3, so only sizes of the
same speed can replay it: the four Ds_v3 sizes. Both commands run as a user runs them, in their
own processes; CPU is the whole process tree's user + system time (psutil), polled until it ends.

Target: the plan's cores busy ≥ 1.7 on 2 workers.
Run: python benchmarks/bench_plan.py [--budget 200] [--seeds 3] [--workers 2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "azure-llm-trace.yaml"
SIZES = ("Standard_D2s_v3", "Standard_D4s_v3", "Standard_D8s_v3", "Standard_D16s_v3")
SETS = ("--set", "pool.region=westeurope", "--set", "workload.0.resources.vcpus=0.5")


def tree_cpu_s(process: psutil.Process, seen: dict[int, float]) -> float:
    """CPU of `process` and its descendants, each counted once from its own user + system time (not
    the `children_*` fields, which would count the waited-for children twice), remembering each
    one's last reading: a child that ends between polls keeps what it was last seen using."""
    for member in [process, *process.children(recursive=True)]:
        try:
            times = member.cpu_times()
            seen[member.pid] = times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return sum(seen.values())


def timed(command: list[str]) -> tuple[float, float]:
    """(wall s, CPU s of the whole process tree) of one command."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    process = psutil.Process(child.pid)
    seen: dict[int, float] = {}
    cpu = 0.0
    while child.poll() is None:
        cpu = tree_cpu_s(process, seen)
        time.sleep(0.2)
    wall = time.perf_counter() - started
    if child.returncode not in (0, 1):  # 1: the verdict found nothing better, still a finished search
        sys.exit(f"{command[1]} failed ({child.returncode}): {child.stderr.read() if child.stderr else ''}")
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    common = ["--template", "pending-tasks", "--budget", str(args.budget), "--seeds", str(args.seeds)]
    common += ["--workers", str(args.workers), *SETS]
    with tempfile.TemporaryDirectory() as out:
        plan = [sys.executable, "-m", "batchsim", "plan", str(SCENARIO), *common, "--out", f"{out}/plan"]
        for size in SIZES:
            plan += ["--size", size]
        plan += ["--slots", "1,2,4", "--fill", "pack,spread"]
        optimize = [sys.executable, "-m", "batchsim", "optimize", str(SCENARIO), *common, "--out", f"{out}/opt"]
        rows = [("plan", *timed(plan)), ("optimize", *timed(optimize))]
    print(f"budget {args.budget}, {args.seeds} seeds, {args.workers} workers; plan: 4 sizes × 3 slots × 2 fills")
    for name, wall, cpu in rows:
        print(f"{name:9s} wall {wall:7.1f} s  CPU {cpu:7.1f} s  cores busy {cpu / wall:.2f}")
    print(f"plan / optimize wall: {rows[0][1] / rows[1][1]:.2f}")


if __name__ == "__main__":
    main()
