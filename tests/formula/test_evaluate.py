"""Evaluation rules of formula reference §3–§9 that the recorded outputs do not cover."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batchsim.formula import EvalContext, SampleSeries, compile, datetime_to_ticks
from batchsim.formula.context import TICKS_PER_SECOND

NOW = datetime_to_ticks(__import__("datetime").datetime(2024, 6, 23, 2, 19, 8, 272769))  # a Sunday


def run(text: str, **ctx: object):  # type: ignore[no-untyped-def]
    return compile(text).evaluate(EvalContext(now_tick=NOW, **ctx))  # type: ignore[arg-type]


def value(expr: str, **ctx: object) -> str:
    result = run(f"v = {expr};", **ctx)
    assert result.error is None, result.error
    return result.results.rsplit(";v=", 1)[1]


def detail(text: str, **ctx: object) -> str:
    result = run(text, **ctx)
    assert result.error is not None
    return result.error.detail


@pytest.mark.parametrize(
    ("expr", "printed"),
    [
        ("1000000", "1e+06"),
        ("16777216", "1.67772e+07"),
        ("0 - 0", "0"),
        ("2 / 3", "0.666667"),
        ("1 < 2", "1"),
        ("!3", "0"),
        ("3 && 0", "0"),
        ("0 || 2", "1"),
        ("2 + 3 * 4 - 6 / 2", "11"),
        ("round(2.5) + round(-2.5)", "0"),
        ("round(3.5)", "4"),
        ("ceil(1.2) + floor(1.8)", "3"),
        ("lg(8) + ln(1) + log(100)", "5"),
        ("len(1, 2, 3)", "3"),
        ("norm(3, 4)", "5"),
        ("range(4, 1, 9)", "8"),
        ("std(2, 4, 4, 4, 5, 5, 7, 9)", "2.13809"),
        ("std(5)", "0"),
        ("sum(1, 2.5)", "3.5"),
        ("percentile($PendingTasks.GetSample(10), 50)", "3"),
        ("val($PendingTasks.GetSample(10), 1)", "2"),
        ("val($PendingTasks.GetSample(10), 99)", "0"),
        ("$PendingTasks.GetSample(3) * 2", "[6,8,10]"),
        ("$PendingTasks.GetSample(2) + $PendingTasks.GetSample(2)", "[8,10]"),
        ("round($PendingTasks.GetSample(2) / 3)", "[1,2]"),
        ("TimeInterval_Minute * 1.5", "00:01:30"),
        ("TimeInterval_Day * 2 + TimeInterval_Second / 4", "2.00:00:00.2500000"),
        ("-TimeInterval_Hour", "-01:00:00"),
        ('time() - time("2024-06-22")', "1.02:19:08.2727690"),
        ('time("2024-06-23T02:19:08.272769Z") == time()', "1"),
        ('time("Mon, 13 Mar 2023 20:29:32 GMT")', "2023-03-13T20:29:32.000Z"),
        ('time("2024-01-01T10:00+02:00").hour', "8"),
        ("time().weekday", "7"),
        ('time("") == time()', "1"),
        ('"abc" < "abd"', "1"),
        ('"x"', "x"),
        ("$PendingTasks.Count()", "5"),
        ("$PendingTasks.GetSamplePeriod()", "00:00:30"),
        ("time() - $PendingTasks.HistoryBeginTime()", "00:02:00"),
        ("$TaskSlotsPerNode * $CurrentDedicatedNodes", "8"),
        ("$UsableNodeCount", "5"),
    ],
)
def test_values_and_their_printed_form(expr: str, printed: str) -> None:
    series = SampleSeries.ending_at([1, 2, 3, 4, 5], NOW)
    pool = dict(task_slots_per_node=4, current_dedicated_nodes=2, current_low_priority_nodes=4, preempted_node_count=1)
    assert value(expr, samples={"$PendingTasks": series}, **pool) == printed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("v = 1 / 0;", "Line 1, Col 7: Division by zero"),
        ("v = TimeInterval_Hour / 0;", "Line 1, Col 23: Division by zero"),
        ("v = avg($PendingTasks.GetSample(0));", "Line 1, Col 8: Empty data set in avg"),
        ("v = ln(0);", "Line 1, Col 7: Invalid argument to ln"),
        ("v = percentile($PendingTasks.GetSample(1), 101);", "Line 1, Col 15: Invalid argument to percentile"),
        ('v = time("yesterday");', 'Line 1, Col 9: Invalid time string: "yesterday"'),
        ("v = 1 + time();", "Line 1, Col 7: Type mismatch: operator + cannot be applied to double and timestamp"),
        (
            "v = time() - TimeInterval_Hour;",
            "Line 1, Col 12: Type mismatch: operator - cannot be applied to timestamp and timeinterval",
        ),
        (
            "v = 1 + $PendingTasks.GetSample(1);",
            "Line 1, Col 7: Type mismatch: operator + cannot be applied to double and doubleVec",
        ),
        ("v = $PendingTasks + 1;", "Line 1, Col 5: Type mismatch: $PendingTasks must be read with a sample method"),
        ("v = 1 ? 2 : time();", "Line 1, Col 7: Type mismatch: conditional branches are double and timestamp"),
        ("v = avg();", "Line 1, Col 8: Wrong number of arguments to avg"),
        ("v = foo(1);", "Line 1, Col 5: Unknown function: foo"),
        ("v = $PendingTasks.GetAverage(1);", "Line 1, Col 19: Unknown method: GetAverage"),
        ("v = time().hours;", "Line 1, Col 12: Unknown field: hours"),
        (
            "v = $CurrentDedicatedNodes.GetSample(1);",
            "Line 1, Col 28: Type mismatch: method GetSample needs a sampled variable, not double",
        ),
        ("$CurrentDedicatedNodes = 1;", "Line 1, Col 1: Cannot assign to read-only variable: $CurrentDedicatedNodes"),
        ('$NodeDeallocationOption = "requeue";', "Line 1, Col 27: Invalid value for $NodeDeallocationOption"),
        (
            "v = $PendingTasks.GetSample(1) + $PendingTasks.GetSample(2);",
            "Line 1, Col 32: Vector length mismatch: 1 and 2",
        ),
        ("v = max(1, x); x = 1;", "Line 1, Col 12: Undefined symbol: x"),
        ("$TargetDedicatedNodes = 0 / 1 - ln(1) + 1 / 0;", "Line 1, Col 43: Division by zero"),
        ("v = $x; w = 1 / 0;", "Line 1, Col 5: Undefined symbol: $x"),
    ],
)
def test_errors_carry_the_position_the_service_reports(text: str, message: str) -> None:
    series = SampleSeries.ending_at([1, 2, 3], NOW)
    assert detail(text, samples={"$PendingTasks": series}) == message


def test_results_after_an_error_show_the_state_at_the_failure() -> None:
    result = run("$TargetDedicatedNodes = 4; b = 2; a = 1; c = 1 / 0; d = 5;", target_dedicated_nodes=1)
    assert result.results == "$TargetDedicatedNodes=4;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;a=1;b=2"
    assert result.target_dedicated_nodes == 1  # the run failed: nothing applies


def test_full_name_wins_over_alias_and_alias_alone_applies() -> None:
    both = run("$TargetDedicatedNodes = 3; $TargetDedicated = 7;")
    assert both.results.startswith("$TargetDedicatedNodes=3;") and both.applied_targets() == (3, 0)
    alias = run("$TargetLowPriority = 5;")
    assert alias.results.startswith("$TargetDedicatedNodes=0;$TargetLowPriorityNodes=5;")


def test_lazy_conditional_and_short_circuit_skip_failing_operands() -> None:
    assert value("1 ? 2 : 1 / 0") == "2"
    assert value("0 && 1 / 0") == "0"
    assert value("1 || ln(0)") == "1"


def test_stop_ends_the_run_successfully_with_values_so_far() -> None:
    result = run("$TargetDedicatedNodes = 2; 1 ? stop() : 0; $TargetDedicatedNodes = 9;")
    assert result.error is None and result.applied_targets() == (2, 0)


def test_fractional_and_negative_targets_are_truncated_and_nan_is_an_error() -> None:
    assert run("$TargetDedicatedNodes = 2.9; $TargetLowPriorityNodes = -3;").applied_targets() == (2, 0)
    big = "1" + "0" * 300  # no exponents in the grammar: 1e300 written out
    result = run(f"$TargetDedicatedNodes = 2; $TargetDedicatedNodes = {big} * {big};", target_dedicated_nodes=1)
    assert result.error is not None and "Invalid target value: inf" in result.error.detail
    assert result.target_dedicated_nodes == 1


def test_dealloc_option_is_reset_each_run_and_read_is_an_error() -> None:
    program = compile("$NodeDeallocationOption = terminate;")
    assert (
        program.evaluate(EvalContext(now_tick=NOW, node_deallocation_option="taskcompletion")).node_deallocation_option
        == "terminate"
    )
    assert run("$TargetDedicatedNodes = 1;", node_deallocation_option="terminate").node_deallocation_option == "requeue"
    assert "cannot be read" in detail("v = $NodeDeallocationOption;")


def test_window_is_half_open_and_bounds_may_come_in_either_order() -> None:
    series = SampleSeries.ending_at([1, 2, 3, 4], NOW)  # samples at now-90s, -60s, -30s, now
    assert value("$CPUPercent.GetSample(TimeInterval_Second * 60, 0)", samples={"$CPUPercent": series}) == "[3,4]"
    assert (
        value(
            "$CPUPercent.GetSample(TimeInterval_Second * 90, TimeInterval_Second * 30, 0)",
            samples={"$CPUPercent": series},
        )
        == "[2,3]"
    )
    assert (
        value(
            "$CPUPercent.GetSample(TimeInterval_Second * 30, TimeInterval_Second * 90, 0)",
            samples={"$CPUPercent": series},
        )
        == "[2,3]"
    )


def test_lag_hides_recent_samples() -> None:
    series = SampleSeries.ending_at([1, 2, 3, 4], NOW)
    series.lag_ticks = 60 * TICKS_PER_SECOND
    assert value("$CPUPercent.GetSample(10)", samples={"$CPUPercent": series}) == "[1,2]"


def test_zero_valued_samples_count_as_present() -> None:
    series = SampleSeries.ending_at([0] * 20, NOW)
    assert value("$CPUPercent.GetSamplePercent(TimeInterval_Minute * 10)", samples={"$CPUPercent": series}) == "100"


def test_rand_uses_the_context_generator() -> None:
    a = run("v = rand();", rng=np.random.default_rng(7)).results
    b = run("v = rand();", rng=np.random.default_rng(7)).results
    assert a == b and 0 <= float(a.rsplit("=", 1)[1]) < 1


def test_strict_mode_turns_off_rounding_functions() -> None:
    program = compile("v = round(1.5);", strict=True)
    result = program.evaluate(EvalContext(now_tick=NOW))
    assert result.error is not None and "Unknown function: round" in result.error.detail


def test_compatibility_switch_reads_the_latest_sample() -> None:
    program = compile("v = $PendingTasks + 1;", sampled_as_latest=True)
    result = program.evaluate(EvalContext(now_tick=NOW, samples={"$PendingTasks": SampleSeries.ending_at([4, 9], NOW)}))
    assert result.results.endswith(";v=10")


formula_texts = st.sampled_from(
    [
        "$TargetDedicatedNodes = max(0, min(10, avg($PendingTasks.GetSample(TimeInterval_Minute * 5))));",
        "p = $ActiveTasks.GetSamplePercent(TimeInterval_Minute * 15); $TargetLowPriorityNodes = p < 70 ? 1 : val($ActiveTasks.GetSample(1), 0);",
        "$TargetDedicatedNodes = percentile($RunningTasks.GetSample(20), 90) / $TaskSlotsPerNode;",
        "x = $CPUPercent.GetSample(TimeInterval_Minute * 2, 0); $TargetDedicatedNodes = len(x) ? max(x) : 0;",
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    formula_texts,
    st.lists(st.one_of(st.floats(0, 1e6), st.just(math.nan)), max_size=40),
    st.integers(0, 5),
    st.floats(0, 100),
)
def test_evaluation_never_raises_and_targets_apply_cleanly(
    text: str, values: list[float], lag: int, current: float
) -> None:
    series = SampleSeries.ending_at(values, NOW)
    series.lag_ticks = lag * 30 * TICKS_PER_SECOND
    samples = {name: series for name in ("$PendingTasks", "$ActiveTasks", "$RunningTasks", "$CPUPercent")}
    result = compile(text).evaluate(EvalContext(now_tick=NOW, target_dedicated_nodes=current, samples=samples))
    dedicated, spot = result.applied_targets()
    assert dedicated >= 0 and spot >= 0
    assert result.results.startswith("$TargetDedicatedNodes=")


# -- time ranges: .NET's DateTime (0001–9999) and TimeSpan (64-bit ticks) -----------------------

INTERVAL_RANGE = "Time interval out of range: results must lie within ±10675199 days"
TIMESTAMP_RANGE = "Timestamp out of range: results must lie between 0001-01-01 and 9999-12-31"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("v = TimeInterval_Year * 100000000000;", f"Line 1, Col 23: {INTERVAL_RANGE}"),
        ("v = 100000000000 * TimeInterval_Year;", f"Line 1, Col 18: {INTERVAL_RANGE}"),
        ("v = TimeInterval_Second / 0.0000000000000000001;", f"Line 1, Col 25: {INTERVAL_RANGE}"),
        ("v = TimeInterval_Year * 29227; w = v + v;", f"Line 1, Col 38: {INTERVAL_RANGE}"),
        ("v = TimeInterval_Year * 29227; w = -v - v;", f"Line 1, Col 39: {INTERVAL_RANGE}"),
        (f"v = TimeInterval_Second * ({'9' * 400} * 0);", f"Line 1, Col 25: {INTERVAL_RANGE}"),  # inf * 0: NaN
        ('v = time("9999-12-31T00:00:00Z") + TimeInterval_Year;', f"Line 1, Col 34: {TIMESTAMP_RANGE}"),
        ('v = TimeInterval_Day + time("9999-12-31T00:00:00Z");', f"Line 1, Col 22: {TIMESTAMP_RANGE}"),
        ('v = time("0001-01-01T00:00:00Z") + (-TimeInterval_Day);', f"Line 1, Col 34: {TIMESTAMP_RANGE}"),
        ('v = time("0001-01-01T00:00:00+01:00");', f"Line 1, Col 9: {TIMESTAMP_RANGE}"),
        (
            # timestamp - timeinterval is no operation at all (reference §3.3): add a negative interval
            'v = time("0001-01-01T00:00:00Z") - TimeInterval_Day;',
            "Line 1, Col 34: Type mismatch: operator - cannot be applied to timestamp and timeinterval",
        ),
    ],
)
def test_time_overflow_is_an_evaluation_error_at_the_operator(text: str, message: str) -> None:
    result = run(f"$TargetDedicatedNodes = 2; {text}", target_dedicated_nodes=1)
    assert result.error is not None and result.error.code == "AutoScalingFormulaEvaluationError"
    where, detail = message.split(": ", 1)  # positions in `text`; the prefix adds 27 columns
    line, column = where.replace("Line ", "").split(", Col ")
    assert result.error.detail == f"Line {line}, Col {int(column) + 27}: {detail}"
    assert result.target_dedicated_nodes == 1  # a failed run changes nothing
    assert result.results.startswith("$TargetDedicatedNodes=2;")  # the state at the failure (§9.3)


def test_the_edges_of_the_time_ranges_are_fine() -> None:
    assert value('time("0001-01-01T00:00:00Z")') == "0001-01-01T00:00:00.000Z"
    assert value('time("9999-12-31T23:59:59.9999999Z")') == "9999-12-31T23:59:59.999Z"
    assert value("TimeInterval_Day * 10675199") == "10675199.00:00:00"
    assert value('time("9999-12-30T00:00:00Z") + TimeInterval_Day') == "9999-12-31T00:00:00.000Z"


def test_an_overflow_in_a_simulated_pool_is_an_autoscale_error_not_a_crash() -> None:
    program = compile("$TargetDedicatedNodes = (time() + TimeInterval_Year * 10000).year;")
    result = program.evaluate(EvalContext(now_tick=NOW, target_dedicated_nodes=3))
    assert result.error is not None and result.applied_targets() == (3, 0)


# -- stop(): one behaviour, in check and in eval (reference §6.3) --------------------------------


@pytest.mark.parametrize("text", ["x = stop();", "x = 1 + stop();", "$TargetDedicatedNodes = max(1, stop());"])
def test_stop_used_as_a_value_is_the_error_check_reports(text: str) -> None:
    from batchsim.formula import check

    (error,) = [d for d in check(text) if d.severity.value == "error"]
    result = run(f"$TargetLowPriorityNodes = 2; {text}")
    assert result.error is not None
    assert result.error.detail == f"Line 1, Col {error.span.column + 29}: {error.message}"
    assert result.results.startswith("$TargetDedicatedNodes=0;$TargetLowPriorityNodes=2;")


@pytest.mark.parametrize("text", ["stop();", "1 ? stop() : 0;", "0 ? 1 : stop();", "1 ? (0 ? 1 : stop()) : 0;"])
def test_stop_standing_alone_ends_the_run_successfully(text: str) -> None:
    from batchsim.formula import check

    assert not [d for d in check(text) if d.severity.value == "error"]
    result = run(f"$TargetDedicatedNodes = 2; {text} $TargetDedicatedNodes = 9;")
    assert result.error is None and result.applied_targets() == (2, 0)
