"""Recorded service outputs and documentation examples (formula reference §10), byte for byte."""

from __future__ import annotations

import math
import re
from datetime import datetime

import pytest

from batchsim.formula import TICKS_PER_SECOND, EvalContext, SampleSeries, compile, datetime_to_ticks

pytestmark = pytest.mark.conformance

SECOND = TICKS_PER_SECOND
P3 = "$TargetDedicatedNodes=3;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue"
EVAL_MESSAGE = "The specified auto-scaling formula has evaluation error"
SAMPLE_MESSAGE = "Autoscale evaluation failed due to insufficient sample data"


def at(text: str) -> int:
    # The service records up to seven fraction digits (100 ns) and drops trailing zeros; datetime
    # keeps microseconds, and Python 3.10's fromisoformat takes exactly three or six digits: the
    # fraction is written as six, a seventh dropped as 3.11 drops it.
    text = re.sub(r"\.(\d+)", lambda m: "." + (m[1] + "00000")[:6], text)
    return datetime_to_ticks(datetime.fromisoformat(text.replace("Z", "+00:00")))


def full_history(now: int, n: int, value: float = 0.0, missing: tuple[int, ...] = ()) -> SampleSeries:
    """n samples every 30 s, the newest taken at `now`; indices in `missing` (0 = oldest) dropped."""
    values = [math.nan if i in missing else value for i in range(n)]
    return SampleSeries.ending_at(values, now)


def run(text: str, now: int | None = None, **pool: object) -> tuple[str, object]:
    ctx = EvalContext(now_tick=now if now is not None else at("2024-01-05T12:00:00Z"), **pool)  # type: ignore[arg-type]
    result = compile(text).evaluate(ctx)
    return result.results, result.error


@pytest.mark.parametrize("record", ["R1-R3", "R4", "R5"])
def test_target_three(record: str) -> None:
    results, error = run("$TargetDedicatedNodes=3", target_dedicated_nodes=2)
    assert (results, error) == (P3, None)


def test_r1_enable_results() -> None:
    results, error = run("$TargetDedicatedNodes=2", now=at("2023-03-13T20:30:20.7113952Z"))
    assert results == "$TargetDedicatedNodes=2;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue"
    assert error is None


@pytest.mark.parametrize("name", ["$something_useless", "something_useless"])
def test_r4_r5_undefined_symbol(name: str) -> None:
    results, error = run(name, target_dedicated_nodes=2)
    assert results == "$TargetDedicatedNodes=2;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue"
    assert error is not None
    assert error.as_dict() == {  # type: ignore[attr-defined]
        "code": "AutoScalingFormulaEvaluationError",
        "message": EVAL_MESSAGE,
        "values": [{"name": "Message", "value": f"Line 1, Col 1: Undefined symbol: {name}"}],
    }


R6 = """        startingNumberOfVMs = 1;
        maxNumberofVMs = 2;
        pendingTaskSamplePercent = $PendingTasks.GetSamplePercent(180 * TimeInterval_Second);
        pendingTaskSamples = pendingTaskSamplePercent < 70 ? startingNumberOfVMs : avg($PendingTasks.GetSample(180 *   TimeInterval_Second));
        $TargetDedicatedNodes=min(maxNumberofVMs, pendingTaskSamples);
"""


def test_r6_no_samples_three_hours_after_creation() -> None:
    results, error = run(R6, now=at("2021-02-12T21:44:50.71177Z"))
    assert results == (
        "$TargetDedicatedNodes=1;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;maxNumberofVMs=2;"
        "pendingTaskSamplePercent=0;pendingTaskSamples=1;startingNumberOfVMs=1"
    )
    assert error is None


def test_r7_all_samples_present() -> None:
    created = at("2020-09-25T23:45:46.6726193Z")
    now = at("2020-09-26T03:30:46.7700895Z")
    n = (now - created) // (30 * SECOND) + 1
    series = SampleSeries(first_tick=created, values=[0.0] * n)
    results, error = run(R6, now=now, samples={"$PendingTasks": series})
    assert results == (
        "$TargetDedicatedNodes=0;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;maxNumberofVMs=2;"
        "pendingTaskSamplePercent=100;pendingTaskSamples=0;startingNumberOfVMs=1"
    )
    assert error is None


R8 = """// Get pending tasks for the past 15 minutes.
$samples = $ActiveTasks.GetSamplePercent(TimeInterval_Minute * 15);
// If we have fewer than 70 percent data points, we use the last sample point, otherwise we use the maximum of last sample point and the history average.
$tasks = $samples < 70 ? max(0, $ActiveTasks.GetSample(1)) : 
max( $ActiveTasks.GetSample(1), avg($ActiveTasks.GetSample(TimeInterval_Minute * 15)));
// If number of pending tasks is not 0, set targetVM to pending tasks, otherwise half of current dedicated.
$targetVMs = $tasks > 0 ? $tasks : max(0, $TargetDedicatedNodes / 2);
// The pool size is capped at 20, if target VM value is more than that, set it to 20. This value should be adjusted according to your use case.
cappedPoolSize = 3;
$TargetDedicatedNodes = max(1, min($targetVMs, cappedPoolSize));
// Set node deallocation mode - keep nodes active only until tasks finish
$NodeDeallocationOption = taskcompletion;
"""


def test_r8_29_of_30_samples() -> None:
    now = at("2025-04-24T11:34:37.971Z")
    series = full_history(now, 30, missing=(29,))  # the newest sample is missing
    results, error = run(R8, now=now, target_dedicated_nodes=1, samples={"$ActiveTasks": series})
    assert results == (
        "$TargetDedicatedNodes=1;$TargetLowPriorityNodes=0;$NodeDeallocationOption=taskcompletion;"
        "$samples=96.6667;$targetVMs=0.5;$tasks=0;cappedPoolSize=3"
    )
    assert error is None


R9 = """$samples = $ActiveTasks.GetSamplePercent(TimeInterval_Minute * 15);
$tasks = $samples < 70 ? max(0,$ActiveTasks.GetSample(1)) : max( $ActiveTasks.GetSample(1), avg($ActiveTasks.GetSample(TimeInterval_Minute * 15)));
$maxTasksPerNode = 4;
$round = $maxTasksPerNode - 1;
$targetVMs = $tasks > 0? (($tasks + $round)/ $maxTasksPerNode) : max(0, $TargetDedicated/2) + 0.5;
$TargetDedicatedNodes = max(2, min($targetVMs, 10));
$TargetLowPriorityNodes = max(5, min($targetVMs, 10));
$NodeDeallocationOption = taskcompletion;"""


def test_r9_alias_read_as_current_target() -> None:
    now = at("2018-01-31T12:00:00Z")
    results, error = run(R9, now=now, target_dedicated_nodes=1, samples={"$ActiveTasks": full_history(now, 31)})
    assert results == (
        "$TargetDedicatedNodes=2;$TargetLowPriorityNodes=5;$NodeDeallocationOption=taskcompletion;"
        "$maxTasksPerNode=4;$round=3;$samples=100;$targetVMs=1;$tasks=0"
    )
    assert error is None


def test_r10_low_priority_target() -> None:
    results, error = run("$TargetLowPriorityNodes=3")
    assert results == "$TargetDedicatedNodes=0;$TargetLowPriorityNodes=3;$NodeDeallocationOption=requeue"
    assert error is None


R11 = """maxTasksPerNode = 1;
minTargetDedicated = 0;
minTargetLowPriority = 0;
maxTargetDedicated = 10;
maxTargetLowPriority = 10;
sli = TimeInterval_Second * 600.0;
samplepercent = $PendingTasks.GetSamplePercent(sli);
lastsample = val($PendingTasks.GetSample(1), 0);
samplevecavg = avg($PendingTasks.GetSample(sli));"""


def test_r11_insufficient_sample_data() -> None:
    results, error = run(R11)
    assert error is not None
    assert error.as_dict() == {  # type: ignore[attr-defined]
        "code": "InsufficientSampleData",
        "message": SAMPLE_MESSAGE,
        "values": [
            {
                "name": "Message",
                "value": "Line 9, Col 43: Insufficient data from data set: $PendingTasks wanted 70%, received 0%",
            }
        ],
    }
    assert results.startswith("$TargetDedicatedNodes=0;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;")


def test_r12_threshold_30_with_zero_samples() -> None:
    formula = R6.replace("< 70", "< 30").replace(
        "avg($PendingTasks.GetSample(180 *   TimeInterval_Second))",
        "max(startingNumberOfVMs, avg($PendingTasks.GetSample(180 * TimeInterval_Second)))",
    )
    now = at("2021-12-07T12:00:00Z")
    results, error = run(formula, now=now, samples={"$PendingTasks": full_history(now, 100)})
    assert "pendingTaskSamplePercent=100;pendingTaskSamples=1" in results
    assert error is None


def test_r13_getsample_count_on_new_pool() -> None:
    results, error = run("myActiveSamples=$ActiveTasks.GetSample(5);")
    assert error is None
    assert results.endswith(";myActiveSamples=[]")


D1 = """$curTime = time();
$workHours = $curTime.hour >= 8 && $curTime.hour < 18;
$isWeekday = $curTime.weekday >= 1 && $curTime.weekday <= 5;
$isWorkingWeekdayHour = $workHours && $isWeekday;
$TargetDedicatedNodes = $isWorkingWeekdayHour ? 20:10;"""


@pytest.mark.parametrize(
    ("moment", "low"), [("2016-10-13T19:18:47.805Z", 0), ("2016-10-14T18:36:43.282Z", 4)], ids=["D1", "D2"]
)
def test_d1_d2_working_hours(moment: str, low: int) -> None:
    results, error = run(D1, now=at(moment), target_low_priority_nodes=low)
    assert results == (
        f"$TargetDedicatedNodes=10;$TargetLowPriorityNodes={low};$NodeDeallocationOption=requeue;"
        f"$curTime={moment};$isWeekday=1;$isWorkingWeekdayHour=0;$workHours=0"
    )
    assert error is None


def test_d3_format_running_tasks_50_percent() -> None:
    now = at("2016-10-14T18:36:43Z")
    formula = "\n" * 14 + "x = avg($RunningTasks.GetSample(TimeInterval_Minute * 10));"
    series = full_history(now, 20, value=1, missing=tuple(range(10)))
    _, error = run(formula, now=now, samples={"$RunningTasks": series})
    assert error is not None
    assert error.code == "InsufficientSampleData"  # type: ignore[attr-defined]
    assert error.detail == (  # type: ignore[attr-defined]
        "Line 15, Col 32: Insufficient data from data set: $RunningTasks wanted 70%, received 50%"
    )


D4 = (
    "totalNodes=($CPUPercent.GetSamplePercent(TimeInterval_Minute*0,TimeInterval_Minute*10)<0.7?5:"
    "(min($CPUPercent.GetSample(TimeInterval_Minute*0, TimeInterval_Minute*10))>0.8?($CurrentDedicated*1.1)"
    ":$CurrentDedicated));$targetDedicatedNodes=min(100,totalNodes);"
)


def test_d4_d5_format_user_variable_named_like_a_target() -> None:
    results, error = run(D4)
    assert results == (
        "$TargetDedicatedNodes=0;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;"
        "$targetDedicatedNodes=5;totalNodes=5"
    )
    assert error is None


def test_d6_alias_target_with_user_variable() -> None:
    # D6 is a pre-2017 capture (`$TargetDedicated=5;$NodeDeallocationOption=requeue;totalNodes=5`);
    # current versions report the alias under its full name with both targets (D7, R1-R4).
    results, error = run(D4.replace("$targetDedicatedNodes", "$TargetDedicated"))
    assert results == "$TargetDedicatedNodes=5;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;totalNodes=5"
    assert error is None


def test_d7_alias_reported_under_full_name() -> None:
    results, error = run("$TargetDedicated=1", now=at("2016-11-22T19:39:28.5246331Z"))
    assert results == "$TargetDedicatedNodes=1;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue"
    assert error is None


def test_d8_getsample_position_and_percent() -> None:
    _, error = run("$RunningTasks.GetSample(10 * TimeInterval_Second, 0 * TimeInterval_Second, 100);")
    assert error is not None
    assert error.code == "InsufficientSampleData"  # type: ignore[attr-defined]
    assert error.detail == (  # type: ignore[attr-defined]
        "Line 1, Col 24: Insufficient data from data set: $RunningTasks wanted 100%, received 0%"
    )


@pytest.mark.parametrize(("missing", "count"), [((), 20), ((18, 19), 18)])
def test_d9_ten_minute_window(missing: tuple[int, ...], count: int) -> None:
    now = at("2020-01-01T00:00:00Z")
    series = full_history(now, 40, value=1, missing=tuple(20 + m for m in missing))
    results, error = run(
        "v = len($CPUPercent.GetSample(TimeInterval_Minute * 10));", now=now, samples={"$CPUPercent": series}
    )
    assert error is None
    assert results.endswith(f";v={count}")


@pytest.mark.parametrize(("pct", "fails"), [(95, True), (80, False)])
def test_d9_required_percent(pct: int, fails: bool) -> None:
    now = at("2020-01-01T00:00:00Z")
    series = full_history(now, 40, value=1, missing=(38, 39))
    formula = f"v = $CPUPercent.GetSample(TimeInterval_Minute * 10, {pct});"
    _, error = run(formula, now=now, samples={"$CPUPercent": series})
    assert (error is not None) == fails


def test_d10_fifteen_of_twenty_is_75_percent() -> None:
    now = at("2020-01-01T00:00:00Z")
    series = full_history(now, 20, missing=(0, 3, 7, 11, 15))
    results, _ = run(
        "p = $CPUPercent.GetSamplePercent(TimeInterval_Minute * 10);", now=now, samples={"$CPUPercent": series}
    )
    assert results.endswith(";p=75")


def test_d11_window_between_two_bounds() -> None:
    now = at("2020-01-01T00:00:00Z")
    formula = "$runningTasksSample = $RunningTasks.GetSample(1 * TimeInterval_Minute, 6 * TimeInterval_Minute);"
    results, error = run(formula, now=now, samples={"$RunningTasks": full_history(now, 40, value=1)})
    assert error is None
    assert results.endswith(";$runningTasksSample=[1,1,1,1,1,1,1,1,1,1]")


def test_d12_list_flattening() -> None:
    results, _ = run("a = 1; b = avg(a, 7);")
    assert results.endswith(";a=1;b=4")
    now = at("2020-01-01T00:00:00Z")
    series = SampleSeries.ending_at([1, 2, 3], now)
    formula = "v = $CPUPercent.GetSample(3); x = avg(v); y = avg(v, 7);"
    results, error = run(formula, now=now, samples={"$CPUPercent": series})
    assert error is None
    assert results.endswith(";v=[1,2,3];x=2;y=3.25")


def test_timestamps_in_results_are_truncated_to_milliseconds() -> None:
    results, _ = run("t = time();", now=at("2021-02-12T21:44:50.71177Z"))
    assert results.endswith(";t=2021-02-12T21:44:50.711Z")
