"""Engine speed (issues 4 §7 and 26). Run: python benchmarks/bench_engine.py [--quick] [--baseline DIR]

Parts, each measured in a fresh Python process (so each one's peak memory is its own):

- `spot`: the full engine against `spot-simpy`, a minimal simpy reference model written here: 1000
  Spot nodes pulling tasks of mean 60 s at utilisation 0.8, per-node eviction once an hour on
  average, 120 s re-provisioning, requeue; 200,000 tasks. Reported as time(engine) / time(simpy).
- `mixed`: the full engine against `mixed-simpy`: 200 dedicated and up to 800 Spot nodes (the Spot
  ones evicted as above), a sample of the pending tasks every 30 s, and an autoscale every 5 minutes
  that sets the Spot target from the last sample, removing nodes at task completion.
- `day`: a 50-node pool for 24 hours with 50,000 tasks (the optimizer's inner loop).
- `week`: a 1000-node mixed pool for one week, 1 million tasks, autoscale every 5 minutes.

Times are the CPU time of the run alone inside the child (`time.process_time`, the workload built
before), so that other processes on a shared machine do not count; the engine is single-threaded,
so on an idle machine it equals wall time. Peak memory is the child's `ru_maxrss`, workload included.
With `--baseline DIR` every part also runs on the code at DIR (PYTHONPATH=DIR), alternating with
this code round by round, best of `--rounds` each, and the ratios are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import simpy

ROOT = Path(__file__).resolve().parents[1]

NODES = 1000
MEAN_S = 60.0
UTILISATION = 0.8
EVICTIONS_PER_HOUR = 1.0
REPROVISION_S = 120.0
MIXED_DEDICATED = 200
SAMPLE_S = 30.0
AUTOSCALE_S = 300.0

MIXED_FORMULA = f"""
  $TargetDedicatedNodes = {MIXED_DEDICATED};
  $TargetLowPriorityNodes = min({NODES - MIXED_DEDICATED}, max(0, val($PendingTasks.GetSample(1), 0) - {MIXED_DEDICATED}));
  $NodeDeallocationOption = taskcompletion;"""

WEEK_FORMULA = """
  percent = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 5);
  tasks = percent < 70 ? val($PendingTasks.GetSample(1), 0) : avg($PendingTasks.GetSample(TimeInterval_Minute * 5));
  nodes = (tasks + $TaskSlotsPerNode - 1) / $TaskSlotsPerNode;
  $TargetDedicatedNodes = min(200, nodes);
  $TargetLowPriorityNodes = min(800, max(0, nodes - 200));
  $NodeDeallocationOption = taskcompletion;"""


def arrivals(tasks: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    rate = UTILISATION * NODES / MEAN_S
    return np.cumsum(rng.exponential(1 / rate, tasks)), rng.exponential(MEAN_S, tasks)


def spot_simpy(submit: np.ndarray, duration: np.ndarray, seed: int) -> dict[str, Any]:
    """The least a simpy model of this pool must do: a queue, node processes, evictions, requeue."""
    env = simpy.Environment()
    queue: simpy.Store = simpy.Store(env)
    rng = np.random.default_rng(seed + 1)
    completed = [0]

    def source() -> simpy.events.ProcessGenerator:
        for t, d in zip(submit, duration, strict=True):
            yield env.timeout(t - env.now)
            queue.put(d)

    def node(up: list[bool]) -> simpy.events.ProcessGenerator:
        while True:
            task = None
            get = queue.get()
            try:
                task = yield get
                yield env.timeout(task)
                completed[0] += 1
            except simpy.Interrupt:
                if task is None:
                    get.cancel()
                else:
                    queue.put(task)  # requeue the evicted task
                up[0] = False
                yield env.timeout(REPROVISION_S)
                up[0] = True

    def evictor(process: simpy.Process, up: list[bool]) -> simpy.events.ProcessGenerator:
        while True:
            yield env.timeout(rng.exponential(3600 / EVICTIONS_PER_HOUR))
            if up[0]:
                process.interrupt()

    env.process(source())
    for _ in range(NODES):
        up = [True]
        env.process(evictor(env.process(node(up)), up))
    started = time.process_time()
    env.run(until=float(submit[-1]) + 600)
    return {"cpu_s": time.process_time() - started, "done": completed[0]}


def mixed_simpy(submit: np.ndarray, duration: np.ndarray, seed: int) -> dict[str, Any]:
    """The least a simpy model of the mixed pool must do: `spot_simpy` for the Spot nodes, plus
    dedicated nodes, a sampler and an autoscale that adds Spot nodes (after the re-provisioning
    delay) or removes them (an idle one at once, a busy one once its task completes)."""
    env = simpy.Environment()
    queue: simpy.Store = simpy.Store(env)
    rng = np.random.default_rng(seed + 1)
    completed = [0]
    busy = [0]
    samples: list[int] = []
    spot = NODES - MIXED_DEDICATED
    target = [spot]
    state = ["idle"] * spot  # idle | busy | down (evicted or provisioning) | off (removed)
    wake: list[simpy.Event | None] = [None] * spot
    processes: list[simpy.Process] = []

    def source() -> simpy.events.ProcessGenerator:
        for t, d in zip(submit, duration, strict=True):
            yield env.timeout(t - env.now)
            queue.put(d)

    def dedicated() -> simpy.events.ProcessGenerator:
        while True:
            task = yield queue.get()
            busy[0] += 1
            yield env.timeout(task)
            busy[0] -= 1
            completed[0] += 1

    def spot_node(i: int) -> simpy.events.ProcessGenerator:
        while True:
            if i >= target[0]:  # removed: wait to be added again, then provision
                state[i] = "off"
                event = wake[i] = env.event()
                yield event
                state[i] = "down"
                yield env.timeout(REPROVISION_S)
                continue
            task = None
            get = queue.get()
            state[i] = "idle"
            try:
                task = yield get
                state[i] = "busy"
                busy[0] += 1
                yield env.timeout(task)
                busy[0] -= 1
                completed[0] += 1
            except simpy.Interrupt as stop:
                if task is None:
                    get.cancel()
                else:
                    busy[0] -= 1
                    queue.put(task)  # requeue the evicted task
                if stop.cause == "evict":
                    state[i] = "down"
                    yield env.timeout(REPROVISION_S)

    def evictor(i: int) -> simpy.events.ProcessGenerator:
        while True:
            yield env.timeout(rng.exponential(3600 / EVICTIONS_PER_HOUR))
            if state[i] in ("idle", "busy"):
                processes[i].interrupt("evict")

    def sampler() -> simpy.events.ProcessGenerator:
        while True:
            samples.append(len(queue.items) + busy[0])
            yield env.timeout(SAMPLE_S)

    def autoscale() -> simpy.events.ProcessGenerator:
        while True:
            yield env.timeout(AUTOSCALE_S)
            old, new = target[0], min(spot, max(0, samples[-1] - MIXED_DEDICATED))
            target[0] = new
            for i in range(new, old):  # shrinking: idle nodes go now, busy ones after their task
                if state[i] == "idle":
                    processes[i].interrupt("remove")
            for i in range(old, new):
                event = wake[i]
                if state[i] == "off" and event is not None and not event.triggered:
                    event.succeed()

    env.process(sampler())
    env.process(source())
    for _ in range(MIXED_DEDICATED):
        env.process(dedicated())
    for i in range(spot):
        processes.append(env.process(spot_node(i)))
        env.process(evictor(i))
    env.process(autoscale())
    started = time.process_time()
    env.run(until=float(submit[-1]) + 600)
    return {"cpu_s": time.process_time() - started, "done": completed[0]}


def _tasks(submit: np.ndarray, duration: np.ndarray) -> Any:
    from batchsim.workload.spec import TaskSpec, Workload

    return Workload(
        tasks=[
            TaskSpec(str(i), "job", float(t), float(d)) for i, (t, d) in enumerate(zip(submit, duration, strict=True))
        ]
    )


def _timed_run(pool: Any, work: Any, duration_s: float, seed: int, formula: str | None = None) -> dict[str, Any]:
    from batchsim.formula import compile
    from batchsim.sim.engine import run

    program = compile(formula) if formula is not None else None
    started = time.process_time()
    result = run(pool, work, duration_s, seed, formula=program)
    cpu_s = time.process_time() - started
    summary = result.summary
    return {
        "cpu_s": cpu_s,
        "done": int(summary["tasks_completed"]),
        "tasks": int(summary["tasks_submitted"]),
        "events": int(summary["events"]),
        "evaluations": int(summary["autoscale_evaluations"]),
    }


def spot_engine(submit: np.ndarray, duration: np.ndarray, seed: int) -> dict[str, Any]:
    from batchsim.sim.config import PoolConfig

    pool = PoolConfig(
        initial_spot=NODES,
        provisioning_delay={
            "dedicated": {"dist": "constant", "value": 0},
            "spot": {"dist": "constant", "value": 0},
            "boot_billed_s": 0,
        },
        spot={
            "eviction_rate_per_hour": EVICTIONS_PER_HOUR,
            "restore_wait": {"dist": "constant", "value": REPROVISION_S},
        },
    )
    return _timed_run(pool, _tasks(submit, duration), float(submit[-1]) + 600, seed)


def mixed_engine(submit: np.ndarray, duration: np.ndarray, seed: int) -> dict[str, Any]:
    from batchsim.sim.config import PoolConfig

    pool = PoolConfig(
        initial_dedicated=MIXED_DEDICATED,
        initial_spot=NODES - MIXED_DEDICATED,
        provisioning_delay={
            "dedicated": {"dist": "constant", "value": REPROVISION_S},
            "spot": {"dist": "constant", "value": REPROVISION_S},
            "boot_billed_s": 0,
        },
        spot={
            "eviction_rate_per_hour": EVICTIONS_PER_HOUR,
            "restore_wait": {"dist": "constant", "value": REPROVISION_S},
        },
        autoscale={"formula": MIXED_FORMULA, "interval": "5m"},
    )
    return _timed_run(pool, _tasks(submit, duration), float(submit[-1]) + 600, seed, MIXED_FORMULA)


def week(tasks: int) -> dict[str, Any]:
    from batchsim.sim.config import PoolConfig

    days = 7
    rng = np.random.default_rng(7)
    submit = np.sort(rng.uniform(0, days * 86400, tasks))
    duration = rng.exponential(0.8 * 1000 * days * 86400 / tasks, tasks)
    pool = PoolConfig(initial_dedicated=200, initial_spot=600, autoscale={"formula": WEEK_FORMULA, "interval": "5m"})
    return _timed_run(pool, _tasks(submit, duration), days * 86400, 7, WEEK_FORMULA)


def day(tasks: int) -> dict[str, Any]:
    from batchsim.sim.config import PoolConfig

    rng = np.random.default_rng(3)
    submit = np.sort(rng.uniform(0, 86400, tasks))
    duration = rng.exponential(0.8 * 50 * 86400 / tasks, tasks)
    return _timed_run(PoolConfig(initial_dedicated=50), _tasks(submit, duration), 86400, 3)


def measure_part(part: str, tasks: int) -> dict[str, Any]:
    """One part, in this process; with its peak memory."""
    if part in ("spot", "spot-simpy", "mixed", "mixed-simpy"):
        submit, duration = arrivals(tasks, 1)
        model = {"spot": spot_engine, "spot-simpy": spot_simpy, "mixed": mixed_engine, "mixed-simpy": mixed_simpy}[part]
        out = model(submit, duration, 1)
    elif part == "day":
        out = day(tasks)
    else:
        out = week(tasks)
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return out


def in_child(part: str, tasks: int, code: Path) -> dict[str, Any]:
    """`measure_part` in a fresh process on the package at `code`."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    args = [sys.executable, __file__, "--part", part, "--tasks", str(tasks)]
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench_engine: {part} on {code} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _line(label: str, figures: dict[str, Any]) -> str:
    text = f"{figures['cpu_s']:.3f} s CPU, peak {figures['peak_mb']:.0f} MB"
    if "events" in figures:
        text += f", {figures['events']:,} events ({figures['events'] / figures['cpu_s']:,.0f} events/s)"
    return f"   {label:<9} {text}, {figures['done']:,} tasks done"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Engine speed: the engine against minimal simpy models, a day, a week."
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, one round: a few seconds")
    parser.add_argument("--only-ratio", action="store_true", help="only the two engine / simpy ratios")
    parser.add_argument("--baseline", type=Path, help="also run every part on the code at this directory")
    parser.add_argument(
        "--code",
        type=Path,
        default=ROOT,
        help="the package measured as 'this' (default this tree; e.g. a compiled wheel's site-packages directory)",
    )
    parser.add_argument("--rounds", type=int, help="rounds per part, best kept (default 3, quick 1)")
    parser.add_argument("--parts", default="spot,mixed,day,week", help="comma-separated: spot,mixed,day,week")
    parser.add_argument("--part", help=argparse.SUPPRESS)  # a child process: one part, JSON out
    parser.add_argument("--tasks", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.part:
        print(json.dumps(measure_part(args.part, args.tasks)))
        return
    if args.baseline is not None and not (args.baseline / "batchsim" / "sim" / "engine.py").is_file():
        parser.error(f"--baseline {args.baseline}: no batchsim/sim/engine.py there")
    if not (args.code / "batchsim" / "sim").is_dir():
        parser.error(f"--code {args.code}: no batchsim/sim there")
    quick = args.quick
    rounds = args.rounds or (1 if quick else 3)
    sizes = {
        "spot": 10_000 if quick else 200_000,
        "mixed": 10_000 if quick else 200_000,
        "day": 10_000 if quick else 50_000,
        "week": 20_000 if quick else 1_000_000,
    }
    parts = ["spot", "mixed"] if args.only_ratio else args.parts.split(",")
    codes = {"this": args.code.resolve(), **({"base": args.baseline.resolve()} if args.baseline is not None else {})}
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}; best of {rounds}")
    for part in parts:
        runs = [part, f"{part}-simpy"] if part in ("spot", "mixed") else [part]
        best: dict[tuple[str, str], dict[str, Any]] = {}
        for _ in range(rounds):  # alternate, so that load during one round tilts no ratio
            for name in runs:
                for label, code in codes.items():
                    if name.endswith("-simpy") and label == "base":
                        continue  # the simpy model is the same code for both
                    figures = in_child(name, sizes[part], code)
                    if (name, label) not in best or figures["cpu_s"] < best[(name, label)]["cpu_s"]:
                        best[(name, label)] = figures
        print(f"{part}: {sizes[part]:,} tasks")
        if part in ("spot", "mixed"):
            simpy_s = best[(f"{part}-simpy", "this")]["cpu_s"]
            print(_line("simpy", best[(f"{part}-simpy", "this")]))
            for label in codes:
                figures = best[(part, label)]
                print(_line(label, figures) + f"; engine / simpy {figures['cpu_s'] / simpy_s:.2f}")
        else:
            for label in codes:
                print(_line(label, best[(part, label)]))
        if "base" in codes:
            this, base = best[(part, "this")], best[(part, "base")]
            same = "same" if this.get("events") == base.get("events") and this["done"] == base["done"] else "DIFFERENT"
            print(
                f"   base / this: {base['cpu_s'] / this['cpu_s']:.2f}x faster, "
                f"peak {this['peak_mb'] / base['peak_mb']:.2f} of base; events and tasks done: {same}"
            )
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
