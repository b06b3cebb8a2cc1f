"""Evaluations per second of the docs' pending-tasks formula (issue 3 §6), and the cost of the
deepest formulas the service accepts (issue 14 §5).

Context: 30 minutes of $PendingTasks samples. Compile once, evaluate many, as the simulator and
the optimizer do. Rates are the best of 7 rounds (as `timeit` reports): on a shared machine the
other rounds measure the neighbours. Run: python benchmarks/bench_formula.py
"""

from __future__ import annotations

import math
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


def main() -> None:
    now = 1_767_571_200 * TICKS_PER_SECOND
    samples = {"$PendingTasks": SampleSeries.ending_at([float(i % 17) for i in range(60)], now)}
    ctx = EvalContext(now_tick=now, target_dedicated_nodes=3, samples=samples)
    started = time.perf_counter()
    program = compile(DOCS_PENDING_TASKS)
    compile_s = time.perf_counter() - started
    assert program.evaluate(ctx).error is None
    n = 10_000
    elapsed = _best_of(7, lambda: [program.evaluate(ctx) for _ in range(n)])
    print(f"compile: {compile_s * 1e3:.2f} ms (first, includes grammar load)")
    print(f"evaluate: {n / elapsed:,.0f} evaluations/s ({elapsed / n * 1e6:.2f} µs each), 30 min of samples")
    week = {"$PendingTasks": SampleSeries.ending_at([1.0] * 20_160, now)}
    week_ctx = EvalContext(now_tick=now, samples=week)
    elapsed = _best_of(7, lambda: [program.evaluate(week_ctx) for _ in range(n)])
    print(f"evaluate with a week of samples: {n / elapsed:,.0f}/s")
    corpus = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "formulas"
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


def _best_of(rounds: int, work: Callable[[], object]) -> float:
    """The shortest wall time of `rounds` runs of `work`, in seconds."""
    best = math.inf
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
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
