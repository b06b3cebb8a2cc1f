"""`Program.evaluate` inlines the end of a completed run (results string, values, targets) into the
compiled function; `Program.evaluate_in_steps` is the general path it replaced (run, then read
the layout of however far the run got). Both must give the same run, byte for byte, on any
formula and context: the general path is the oracle, kept because failures and stops use it.
It also reads sample windows the way the code before issue 26 did (a dict of the run's windows,
a call per method); the fast path reads them into locals (`codegen._windows_inlined`).
tests/formula/test_recorded_runs.py compares both with runs recorded on the code before.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from formula_strategies import combinations
from hypothesis import given, settings
from hypothesis import strategies as st

from batchsim.formula import TICKS_PER_SECOND, EvalContext, FormulaError, SampleSeries, compile

NOW_TICK = 1_767_571_200 * TICKS_PER_SECOND
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "formulas"

_LEAVES = st.sampled_from(
    [
        "a",
        "b",
        "1",
        "0",
        "2.5",
        "70",
        "1e300",
        "$PendingTasks",
        "$TargetDedicatedNodes",
        "$TargetLowPriorityNodes",
        "$CurrentDedicatedNodes",
        "$UsableNodeCount",
        "TimeInterval_Second",
        "TimeInterval_Minute * 5",
        "time()",
        '"2024-01-01"',
        "requeue",
        "undefined",
        "$PendingTasks.GetSample(180 * TimeInterval_Second)",
        "$PendingTasks.GetSamplePercent(TimeInterval_Minute * 3)",
        "$PendingTasks.GetSample(TimeInterval_Minute * 2, 50)",
        "$PendingTasks.GetSample(3)",
        "$ActiveTasks.GetSample(1)",
        "$PendingTasks.Count()",
        # read through the compiled locals (`_w0`) and `avg` from the window's sum on the fast
        # path, through the run's window dict on the general path (codegen._windows_inlined)
        "avg($PendingTasks.GetSample(TimeInterval_Minute * 3))",
        "avg($PendingTasks.GetSample(TimeInterval_Minute * 4, TimeInterval_Minute, 40))",
        "$PendingTasks.GetSamplePercent(TimeInterval_Minute * 4, TimeInterval_Minute)",
        "$PendingTasks.GetSamplePercent(TimeInterval_Minute, TimeInterval_Minute * 4)",
        # a string that reads like the code the fast path rewrites is left as it is
        "\"float(min(v0, v1)) _sm_percent(windows, ctx, '$PendingTasks', 1, 2)\"",
    ]
)


def _wrap(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    functions = ["max", "min", "avg", "sum", "len", "val", "time", "stop", "rand", "ln", "nope"]
    return st.one_of(*combinations(children, functions))


_EXPRESSIONS = st.recursive(_LEAVES, _wrap, max_leaves=8)
_TARGETS = st.sampled_from(
    [
        "a",
        "b",
        "c",
        "$TargetDedicatedNodes",
        "$TargetDedicated",
        "$TargetLowPriorityNodes",
        "$TargetLowPriority",
        "$NodeDeallocationOption",
        None,
    ]
)
formulas = st.lists(st.tuples(_TARGETS, _EXPRESSIONS), min_size=1, max_size=6).map(
    lambda pairs: "; ".join(expr if target is None else f"{target} = {expr}" for target, expr in pairs) + ";"
)
_SAMPLE = st.one_of(
    st.floats(0, 50, allow_nan=False), st.just(math.nan), st.sampled_from([0.0, 1.0, 3.0, math.inf, -math.inf, 1e308])
)
contexts = st.builds(
    lambda dedicated, spot, current, values: EvalContext(
        now_tick=NOW_TICK,
        target_dedicated_nodes=dedicated,
        target_low_priority_nodes=spot,
        current_dedicated_nodes=current,
        samples={"$PendingTasks": SampleSeries.ending_at(values, NOW_TICK)} if values is not None else {},
    ),
    st.one_of(st.sampled_from([0.0, 3.0, math.inf, math.nan]), st.floats(-10, 5000)),
    st.sampled_from([0.0, 2.0, math.nan]),
    st.sampled_from([0.0, 4.0]),
    st.one_of(st.none(), st.lists(_SAMPLE, max_size=12)),
)


def _same_run(text: str, ctx: EvalContext) -> None:
    try:
        program = compile(text)
    except FormulaError:
        return
    # repr, not ==: a NaN value or target must compare equal to itself, and -0.0 differ from 0.0.
    assert repr(program.evaluate(ctx)) == repr(program.evaluate_in_steps(ctx))


@settings(max_examples=400, deadline=None)
@given(formulas, contexts)
def test_inlined_finish_matches_the_general_path(text: str, ctx: EvalContext) -> None:
    _same_run(text, ctx)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not beside the repository")
@settings(max_examples=60, deadline=None)
@given(st.data(), contexts)
def test_inlined_finish_matches_the_general_path_on_the_corpus(data: st.DataObject, ctx: EvalContext) -> None:
    paths = sorted(CORPUS.glob("*.formula"))
    _same_run(data.draw(st.sampled_from(paths)).read_text(), ctx)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(_SAMPLE, max_size=40),
    st.integers(-3, 45),
    st.integers(-3, 45),
    st.sampled_from([0, 10, 31]),
    st.integers(-40, 40),
)
def test_the_sample_window_is_the_samples_taken_in_it(
    values: list[float], a_periods: int, b_periods: int, lag_s: int, now_offset_s: int
) -> None:
    """The index arithmetic of `GetSample`/`GetSamplePercent` against the definition (§6.4): the
    visible (taken at least the lag before now), present samples whose time is in (earlier, later],
    found by looking at every sample's time."""
    from batchsim.formula.sampling import window

    period = 30 * TICKS_PER_SECOND
    series = SampleSeries(NOW_TICK - 20 * period, list(values), period, lag_s * TICKS_PER_SECOND)
    ctx = EvalContext(now_tick=NOW_TICK + now_offset_s * TICKS_PER_SECOND, samples={"$PendingTasks": series})
    a, b = NOW_TICK - a_periods * period + 7, NOW_TICK - b_periods * period
    earlier, later = min(a, b), max(a, b)
    taken = [
        v
        for i, v in enumerate(values)
        if earlier < series.first_tick + i * period <= later
        and series.first_tick + i * period <= ctx.now_tick - series.lag_ticks
        and not math.isnan(v)
    ]
    possible = (later - earlier) / period
    percent = 100.0 if possible <= 0 else min(100.0, 100.0 * len(taken) / possible)
    values, got_percent, total = window(ctx, "$PendingTasks", a, b)
    assert (values, got_percent) == (taken, percent)
    expected_total = sum(taken)
    assert total == expected_total or (math.isnan(total) and math.isnan(expected_total))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(_SAMPLE, max_size=40),
    st.integers(0, 45 * 30 * TICKS_PER_SECOND),
    st.sampled_from([0, 10, 31]),
    st.integers(-40, 40),
    st.integers(-25, 25),
)
def test_the_window_ending_now_is_the_general_window(
    values: list[float], span_ticks: int, lag_s: int, now_offset_s: int, first_periods: int
) -> None:
    """`recent` (the fast path's window ending now) against `window` with the edges written out."""
    from batchsim.formula.sampling import recent, window

    period = 30 * TICKS_PER_SECOND
    series = SampleSeries(NOW_TICK + first_periods * period, list(values), period, lag_s * TICKS_PER_SECOND)
    ctx = EvalContext(now_tick=NOW_TICK + now_offset_s * TICKS_PER_SECOND, samples={"$PendingTasks": series})
    for name in ("$PendingTasks", "$ActiveTasks"):  # a metric with samples, and one without
        expected = window(ctx, name, ctx.now_tick - span_ticks, ctx.now_tick)
        assert repr(recent(ctx, name, span_ticks)) == repr(expected)
