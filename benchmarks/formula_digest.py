"""A digest of evaluating every corpus and shipped formula, plus generated ones, against a few contexts.

Proves that a change to the formula engine leaves evaluation unchanged: run it before and after,
compare the digests (and, with `--dump FILE`, diff the full tables).

    python benchmarks/formula_digest.py [--random N] [--dump FILE]

Each row is one (formula, context) evaluation: the results string, the error (code and detail),
the final targets, the deallocation option and the typed values. Generated formulas come from a
fixed seed, so the set is the same on every run; they mix every operator, function, sample
method, conditional and `stop()` form, well-typed or not, so error order, laziness and constant
folding are all exercised.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import random
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from batchsim.formula import EvalContext, FormulaError, SampleSeries, compile, datetime_to_ticks
from batchsim.formula.symbols import SAMPLED

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "formulas"


def contexts() -> dict[str, EvalContext]:
    """Four pools: new and empty, busy with full history, gappy with a lag, half of Spot preempted."""
    busy_now = datetime_to_ticks(datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc))
    sunday_now = datetime_to_ticks(datetime(2024, 6, 23, 19, 18, 47, 805000, tzinfo=timezone.utc))
    busy = {
        name: SampleSeries.ending_at([float((i * 7 + k) % 23) for i in range(240)], busy_now)
        for k, name in enumerate(SAMPLED)
    }
    gappy = {}
    for k, name in enumerate(SAMPLED):
        values = [math.nan if (i + k) % 3 == 0 else float(i % 11) for i in range(40)]
        series = SampleSeries.ending_at(values, sunday_now - 60 * 10_000_000)
        series.lag_ticks = 60 * 10_000_000
        gappy[name] = series
    half = {name: SampleSeries.ending_at([1.0 if i % 2 else math.nan for i in range(60)], busy_now) for name in SAMPLED}
    return {
        "empty": EvalContext(now_tick=0, rng=np.random.default_rng(1)),
        "busy": EvalContext(
            now_tick=busy_now,
            target_dedicated_nodes=3,
            target_low_priority_nodes=2,
            current_dedicated_nodes=3,
            current_low_priority_nodes=2,
            task_slots_per_node=4,
            samples=busy,
            rng=np.random.default_rng(2),
        ),
        "gappy": EvalContext(
            now_tick=sunday_now,
            target_dedicated_nodes=1,
            current_dedicated_nodes=1,
            samples=gappy,
            node_deallocation_option="taskcompletion",
            rng=np.random.default_rng(3),
        ),
        "preempted": EvalContext(
            now_tick=busy_now,
            target_low_priority_nodes=10,
            current_low_priority_nodes=10,
            preempted_node_count=5,
            usable_node_count=5,
            samples=half,
            rng=np.random.default_rng(4),
        ),
    }


_NAMES = ["a", "b", "$c", "x1"]
_SCALARS = [
    "$TargetDedicatedNodes",
    "$TargetLowPriorityNodes",
    "$TargetDedicated",
    "$CurrentDedicatedNodes",
    "$CurrentLowPriorityNodes",
    "$TaskSlotsPerNode",
    "$UsableNodeCount",
]
_WRONG = ["$PendingTasks", "$NodeDeallocationOption", "requeue", "undefinedName", '"bad"', '""']
_FUNCTIONS = [
    "avg",
    "len",
    "max",
    "min",
    "norm",
    "range",
    "std",
    "sum",
    "lg",
    "ln",
    "log",
    "ceil",
    "floor",
    "round",
    "percentile",
    "val",
]
_ODD_FUNCTIONS = ["rand", "time", "stop", "nosuch"]
_OPS = ["+", "-", "*", "/", "<", "<=", "==", ">=", ">", "!=", "&&", "||"]
_CONSTANTS = ["TimeInterval_Second", "TimeInterval_Minute", "TimeInterval_Hour", "TimeInterval_Zero"]
_METRICS = ["$PendingTasks", "$CPUPercent", "$ActiveTasks", "$RunningTasks"]


def _leaf(rng: random.Random, names: list[str]) -> str:
    choice = rng.random()
    if choice < 0.4:
        return rng.choice(["0", "1", "2", "3", "0.5", "70", "100", "600.0", "25"])
    if choice < 0.6 and names:
        return rng.choice(names)
    if choice < 0.8:
        return rng.choice(_SCALARS)
    if choice < 0.93:
        return rng.choice(_CONSTANTS)
    return rng.choice(_WRONG)


def _method(rng: random.Random, names: list[str], depth: int) -> str:
    metric = rng.choice(_METRICS) if rng.random() < 0.93 else rng.choice(["x1", "$CurrentDedicatedNodes"])
    form = rng.random()
    if form < 0.3:
        return f"{metric}.GetSample({rng.choice(['1', '3', '10', _expr(rng, names, depth - 1)])})"
    window = f"{rng.choice(_CONSTANTS[:3])} * {rng.choice(['1', '3', '10', '0.5'])}"
    if form < 0.55:
        pct = rng.choice(["", ", 0", ", 50", ", 100", f", {_expr(rng, names, depth - 1)}"])
        return f"{metric}.GetSample({window}{pct})"
    if form < 0.65:
        return f"{metric}.GetSample({window}, TimeInterval_Second * 30{rng.choice(['', ', 0', ', 90'])})"
    if form < 0.85:
        return f"{metric}.GetSamplePercent({window})"
    return f"{metric}.{rng.choice(['GetSamplePeriod()', 'Count()', 'HistoryBeginTime()', 'Nope(1)'])}"


def _expr(rng: random.Random, names: list[str], depth: int) -> str:
    if depth <= 0 or rng.random() < 0.2:
        return _leaf(rng, names)
    kind = rng.random()
    if kind < 0.3:
        return f"({_expr(rng, names, depth - 1)} {rng.choice(_OPS)} {_expr(rng, names, depth - 1)})"
    if kind < 0.38:
        return f"{rng.choice('-!')}{_expr(rng, names, depth - 1)}"
    if kind < 0.52:
        parts = (_expr(rng, names, depth - 1) for _ in range(3))
        return "({} ? {} : {})".format(*parts)
    if kind < 0.72:
        count = rng.choice([1, 1, 2, 2, 3])
        args = ", ".join(_expr(rng, names, depth - 1) for _ in range(count))
        return f"{rng.choice(_FUNCTIONS)}({args})"
    if kind < 0.77:
        function = rng.choice(_ODD_FUNCTIONS)
        args = rng.choice(["", '"2024-06-23T02:19:08Z"', '"2030-01-01"', "1"])
        return f"{function}({args})"
    if kind < 0.95:
        return _method(rng, names, depth)
    return f"time().{rng.choice(['hour', 'weekday', 'year', 'minutes'])}"


def generated(n: int, seed: int = 20260105) -> list[tuple[str, str]]:
    """`n` formulas of 1–6 statements, from a fixed seed."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        statements = []
        names: list[str] = []
        for _ in range(rng.randint(1, 6)):
            target = rng.random()
            if target < 0.45:
                name = rng.choice(_NAMES)
                statements.append(f"{name} = {_expr(rng, names, 3)}")
                names.append(name)
            elif target < 0.75:
                statements.append(f"{rng.choice(_SCALARS[:3])} = {_expr(rng, names, 3)}")
            elif target < 0.8:
                statements.append(f"$NodeDeallocationOption = {rng.choice(['taskcompletion', 'terminate', '1'])}")
            elif target < 0.84:
                statements.append(rng.choice(["stop()", f"{_expr(rng, names, 1)} ? stop() : 0"]))
            else:
                statements.append(_expr(rng, names, 3))
        out.append((f"gen{i:05d}", ";\n".join(statements) + ";"))
    return out


def shipped() -> list[tuple[str, str]]:
    files = sorted((ROOT / "formulas").rglob("*.formula"))
    if CORPUS.is_dir():
        files += sorted(CORPUS.glob("*.formula"))
    return [(str(p.relative_to(ROOT.parent)), p.read_text(encoding="utf-8")) for p in files]


def rows(formulas: list[tuple[str, str]]) -> list[str]:
    out = []
    for name, text in formulas:
        try:
            program = compile(text)
        except FormulaError as exc:
            out.append(f"{name}\t-\tFormulaError\t{exc}")
            continue
        for label, ctx in contexts().items():
            run = program.evaluate(ctx)
            error = "" if run.error is None else f"{run.error.code}|{run.error.message}|{run.error.detail}"
            values = ",".join(f"{k}={v!r}" for k, v in sorted(run.values.items()))
            out.append(
                f"{name}\t{label}\t{run.results}\t{error}\t{run.target_dedicated_nodes!r}\t"
                f"{run.target_low_priority_nodes!r}\t{run.node_deallocation_option}\t{values}"
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--random", type=int, default=3000, help="how many generated formulas (default 3000)")
    parser.add_argument("--dump", type=Path, help="write every row to this file, for a diff")
    options = parser.parse_args()
    every = []
    for label, formulas in (("shipped+corpus", shipped()), ("generated", generated(options.random))):
        table = rows(formulas)
        every += table
        digest = hashlib.sha256("\n".join(table).encode()).hexdigest()[:16]
        errors = sum(1 for row in table if "\tAutoScaling" in row or "\tInsufficient" in row)
        print(f"{label}: {len(formulas)} formulas, {len(table)} rows, {errors} with errors, digest {digest}")
    if options.dump:
        options.dump.write_text("\n".join(every) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
