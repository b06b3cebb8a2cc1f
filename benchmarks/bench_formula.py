"""Evaluations per second of the docs' pending-tasks formula (issue 3 §6, issue 26: ≥ 300,000 a
second), and the cost of the deepest formulas the service accepts (issue 14 §5).

Context: 30 minutes of $PendingTasks samples. Compile once, evaluate many, as the simulator and
the optimizer do. Rates are CPU time (`time.process_time`), the best of the rounds (as `timeit`
reports): on a shared machine the other rounds measure the neighbours.

With `--baseline DIR` (another checkout, e.g. the code before this round), the same evaluation
loop runs on that checkout in a child process (`PYTHONPATH=DIR`), rounds alternating with this
checkout's child, and the ratio is printed. `--quick` runs fewer, shorter rounds and skips the
corpus and the deepest formulas (what CI runs: tests/bench/test_quick_formula.py).

Run: python benchmarks/bench_formula.py [--quick] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from batchsim.formula import TICKS_PER_SECOND, EvalContext, SampleSeries, compile

DOCS_PENDING_TASKS = """startingNumberOfVMs = 1;
maxNumberofVMs = 25;
pendingTaskSamplePercent = $PendingTasks.GetSamplePercent(180 * TimeInterval_Second);
pendingTaskSamples = pendingTaskSamplePercent < 70 ? startingNumberOfVMs : avg($PendingTasks.GetSample(180 * TimeInterval_Second));
$TargetDedicatedNodes=min(maxNumberofVMs, pendingTaskSamples);
$NodeDeallocationOption = taskcompletion;
"""


ROOT = Path(__file__).resolve().parents[1]
# One round in a child: the rate of `n` evaluations of the docs formula on 30 min of samples.
_ROUND = """
import sys, time
from batchsim.formula import TICKS_PER_SECOND, EvalContext, SampleSeries, compile
now = 1_767_571_200 * TICKS_PER_SECOND
samples = {"$PendingTasks": SampleSeries.ending_at([float(i % 17) for i in range(60)], now)}
ctx = EvalContext(now_tick=now, target_dedicated_nodes=3, samples=samples)
program = compile(sys.argv[1])
n, rounds = int(sys.argv[2]), int(sys.argv[3])
best = float("inf")
for _ in range(rounds):
    started = time.process_time()
    for _ in range(n):
        program.evaluate(ctx)
    best = min(best, time.process_time() - started)
print(n / best)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few short rounds, no corpus or deep formulas")
    parser.add_argument("--baseline", type=Path, help="another checkout whose evaluation runs alongside")
    options = parser.parse_args()
    n, rounds = (2_000, 3) if options.quick else (10_000, 7)
    now = 1_767_571_200 * TICKS_PER_SECOND
    samples = {"$PendingTasks": SampleSeries.ending_at([float(i % 17) for i in range(60)], now)}
    ctx = EvalContext(now_tick=now, target_dedicated_nodes=3, samples=samples)
    started = time.perf_counter()
    program = compile(DOCS_PENDING_TASKS)
    compile_s = time.perf_counter() - started
    assert program.evaluate(ctx).error is None
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; CPU time, best of {rounds} rounds")
    elapsed = _best_of(rounds, lambda: [program.evaluate(ctx) for _ in range(n)])
    print(f"compile: {compile_s * 1e3:.2f} ms (first, includes grammar load)")
    print(
        f"evaluate: {n / elapsed:,.0f} evaluations/s ({elapsed / n * 1e6:.2f} µs each), 30 min of samples; aim >= 300,000"
    )
    week = {"$PendingTasks": SampleSeries.ending_at([1.0] * 20_160, now)}
    week_ctx = EvalContext(now_tick=now, samples=week)
    elapsed = _best_of(rounds, lambda: [program.evaluate(week_ctx) for _ in range(n)])
    print(f"evaluate with a week of samples: {n / elapsed:,.0f}/s")
    if options.baseline is not None:
        _against(options.baseline.resolve(), n, rounds)
    if options.quick:
        return
    corpus = ROOT.parent / "shared" / "corpus" / "formulas"
    if corpus.is_dir():
        texts = [p.read_text() for p in sorted(corpus.glob("*.formula"))]
        started = time.perf_counter()
        for text in texts * 5:
            try:
                compile(text)
            except ValueError:
                pass
        print(f"compile: {len(texts) * 5 / (time.perf_counter() - started):,.0f} corpus formulas/s")
    deep_formulas(ctx)


def _against(baseline: Path, n: int, rounds: int) -> None:
    """This checkout's and `baseline`'s evaluation rate, each in a child process, alternating."""
    rates: dict[Path, float] = {ROOT: 0.0, baseline: 0.0}
    for _ in range(rounds):
        for checkout in rates:
            env = {**os.environ, "PYTHONPATH": str(checkout)}
            command = [sys.executable, "-c", _ROUND, DOCS_PENDING_TASKS, str(n), "1"]
            out = subprocess.run(command, env=env, cwd=checkout, capture_output=True, text=True, check=True).stdout
            rates[checkout] = max(rates[checkout], float(out))
    ours, before = rates[ROOT], rates[baseline]
    print(
        f"evaluate, this checkout: {ours:,.0f}/s; baseline {baseline}: {before:,.0f}/s; this / baseline {ours / before:.2f}x"
    )


def _best_of(rounds: int, work: Callable[[], object]) -> float:
    """The shortest CPU time of `rounds` runs of `work`, in seconds."""
    best = math.inf
    for _ in range(rounds):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best


def deep_formulas(ctx: EvalContext) -> None:
    """check, compile and evaluate the largest formula (8,192 characters) of a few nesting shapes."""
    from batchsim.formula import check

    head = "a = $CurrentDedicatedNodes; x = "
    room = 8192 - len(head) - 1
    shapes = {
        "4,080 chained +": "+".join(["a"] * ((room + 1) // 2)),
        "8,158 unary -": "-" * (room - 1) + "a",
        "2,039 nested ?: (then)": "a?" * ((room - 1) // 4) + "a" + ":0" * ((room - 1) // 4),
        "1,631 nested calls": "max(" * ((room - 1) // 5) + "a" + ")" * ((room - 1) // 5),
    }
    for label, body in shapes.items():
        text = f"{head}{body};"
        assert len(text) <= 8192
        started = time.perf_counter()
        check(text)
        checked = time.perf_counter()
        program = compile(text)
        compiled = time.perf_counter()
        for _ in range(100):
            program.evaluate(ctx)
        evaluated = (time.perf_counter() - compiled) / 100
        print(
            f"{label:24s} check {(checked - started) * 1e3:5.0f} ms, compile {(compiled - checked) * 1e3:5.0f} ms, "
            f"evaluate {evaluated * 1e6:6.0f} µs"
        )


if __name__ == "__main__":
    main()
