"""Lint rules: each fires on the pitfall it names, follows the code as it runs (temporaries,
renames, reassignment, self-reference, statement order), and can be accepted with a reason."""

from __future__ import annotations

import pytest

from batchsim.formula import check
from batchsim.formula.diagnostics import Severity
from batchsim.formula.lint import RULES

GOOD = """
p = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 5);
tasks = p < 70 ? val($PendingTasks.GetSample(1), 0) : avg($PendingTasks.GetSample(TimeInterval_Minute * 5));
$TargetDedicatedNodes = min(20, tasks / $TaskSlotsPerNode);
$NodeDeallocationOption = taskcompletion;
"""

CASES = {
    "BS101": "$TargetDedicatedNodes = min(5, avg($PendingTasks.GetSample(TimeInterval_Minute * 5)) / $TaskSlotsPerNode);",
    "BS102": "p = $CPUPercent.GetSamplePercent(TimeInterval_Minute * 10); $TargetDedicatedNodes = p < 0.7 ? 1 : 2;",
    "BS103": "$TargetDedicatedNodes = min(10, val($PendingTasks.GetSample(1), 0));",
    "BS104": "$TargetDedicatedNodes = min(10, val($ActiveTasks.GetSample(1), 0) / $TaskSlotsPerNode);",
    "BS105": "$TargetLowPriorityNodes = min(10, $CurrentLowPriorityNodes + 1);",
    "BS106": "$TargetDedicatedNodes = val($PendingTasks.GetSample(1), 0) / $TaskSlotsPerNode;",
    "BS107": "$TargetDedicated = 1;",
    "BS108": "x = 1; y = x;",
    "BS109": "unused = 3; $TargetDedicatedNodes = 1;",
    "BS110": "$TargetDedicatedNodes = min(3, val($RunningTasks.GetSample(1), 0) / $TaskSlotsPerNode);",
    "BS111": "$TargetDedicatedNodes = 1;; $NodeDeallocationOption = requeue;",
    "BS112": "$TargetDedicatedNodes = rand() * 3;",
    "BS113": "$TargetDedicatedNodes = 1; // batchsim: accept BS105 nothing to accept here",
    "BS114": "$TargetDedicatedNodes = min(5, max($PendingTasks.GetSample(TimeInterval_Minute * 5, 0)) / $TaskSlotsPerNode);",
}


def findings(text: str) -> list[tuple[str, int, int]]:
    """Lint findings as (code, line, column), in the order check reports them."""
    return [(d.code, d.span.line, d.span.column) for d in check(text) if d.code.startswith("BS")]


def codes(text: str) -> set[str]:
    return {d.code for d in check(text)}


def test_every_rule_has_a_case() -> None:
    assert {rule.code for rule in RULES} == set(CASES)
    assert len(RULES) >= 8


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_fires_on_its_pitfall(code: str) -> None:
    found = check(CASES[code])
    assert code in {d.code for d in found}
    assert not [d for d in found if d.severity is Severity.ERROR]


def test_a_careful_formula_gets_no_warning() -> None:
    assert check(GOOD) == []


def test_fixes_silence_the_rules() -> None:
    assert "BS104" not in codes(
        "$TargetDedicatedNodes = min(10, val($ActiveTasks.GetSample(1), 0)); $NodeDeallocationOption = taskcompletion;"
    )
    assert "BS105" not in codes(
        "$TargetLowPriorityNodes = min(10, $CurrentLowPriorityNodes - val($PreemptedNodeCount.GetSample(1), 0));"
    )
    assert "BS102" not in codes(
        "p = $CPUPercent.GetSamplePercent(TimeInterval_Minute * 10); $TargetDedicatedNodes = p < 70 ? 1 : 2;"
    )


# -- the case: self-reference ------------------------------------------------------------

SELF_REFERENCE = """n = avg(0, $PendingTasks.GetSample(TimeInterval_Minute * 5, 0));
n = max(n, 0);
$TargetDedicatedNodes = n;
"""


def test_self_reference_keeps_what_the_value_depends_on() -> None:
    # Same findings with or without the middle line: `n = max(n, 0)` still follows the metric.
    without = SELF_REFERENCE.replace("n = max(n, 0);\n", "")
    assert findings(without) == [("BS103", 2, 1), ("BS106", 2, 1)]
    assert findings(SELF_REFERENCE) == [("BS103", 3, 1), ("BS106", 3, 1)]


# -- rewrites that keep the meaning keep the findings --------------------------------------------

# Each variant means the same as the first; `at` is where the target that sets the pool is.
SLOT_BLIND_VARIANTS = [
    (  # one expression
        "$TargetDedicatedNodes = max(val($PendingTasks.GetSample(1), 0), avg(0, $PendingTasks.GetSample(TimeInterval_Minute, 0)));",
        (1, 1),
    ),
    (  # split into temporaries
        "last = val($PendingTasks.GetSample(1), 0);\n"
        "window = avg(0, $PendingTasks.GetSample(TimeInterval_Minute, 0));\n"
        "$TargetDedicatedNodes = max(last, window);",
        (3, 1),
    ),
    (  # renamed, with a `$` name
        "$latest = val($PendingTasks.GetSample(1), 0);\n"
        "$recent = avg(0, $PendingTasks.GetSample(TimeInterval_Minute, 0));\n"
        "$TargetDedicatedNodes = max($latest, $recent);",
        (3, 1),
    ),
    (  # one variable, reassigned
        "v = val($PendingTasks.GetSample(1), 0);\n"
        "v = max(v, avg(0, $PendingTasks.GetSample(TimeInterval_Minute, 0)));\n"
        "$TargetDedicatedNodes = v;",
        (3, 1),
    ),
    (  # the target reassigned from itself
        "$TargetDedicatedNodes = val($PendingTasks.GetSample(1), 0);\n"
        "$TargetDedicatedNodes = max($TargetDedicatedNodes, avg(0, $PendingTasks.GetSample(TimeInterval_Minute, 0)));",
        (2, 1),
    ),
    (  # independent temporaries in the other order
        "window = avg(0, $PendingTasks.GetSample(TimeInterval_Minute, 0));\n"
        "last = val($PendingTasks.GetSample(1), 0);\n"
        "$TargetDedicatedNodes = max(last, window);",
        (3, 1),
    ),
    (  # a copy of a copy
        "a = val($PendingTasks.GetSample(1), 0);\n"
        "b = a;\n"
        "c = max(b, avg(0, $PendingTasks.GetSample(TimeInterval_Minute, 0)));\n"
        "$TargetDedicatedNodes = c;",
        (4, 1),
    ),
]


@pytest.mark.parametrize(("text", "at"), SLOT_BLIND_VARIANTS)
def test_meaning_preserving_rewrites_give_the_same_findings(text: str, at: tuple[int, int]) -> None:
    assert findings(text) == [("BS103", *at), ("BS106", *at)]


@pytest.mark.parametrize(("text", "at"), SLOT_BLIND_VARIANTS)
def test_and_the_same_fix_silences_them(text: str, at: tuple[int, int]) -> None:
    *head, last = text.rstrip(";").split("\n")
    target, value = last.split(" = ", 1)
    fixed = "\n".join([*head, f"{target} = min(20, ({value}) / $TaskSlotsPerNode);"])
    assert findings(fixed) == []


GUARDED_VARIANTS = [
    # the docs' guard, inline
    "tasks = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 3) < 70 ? 0 : avg($PendingTasks.GetSample(TimeInterval_Minute * 3));",
    # the percentage in a temporary
    "p = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 3);\n"
    "tasks = p < 70 ? 0 : avg($PendingTasks.GetSample(TimeInterval_Minute * 3));",
    # the test in a temporary, the branches the other way round
    "p = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 3);\n"
    "enough = p >= 70;\n"
    "tasks = enough ? avg($PendingTasks.GetSample(TimeInterval_Minute * 3)) : 0;",
    # guarded by && instead of ?:
    "p = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 3);\n"
    "tasks = p >= 70 && avg($PendingTasks.GetSample(TimeInterval_Minute * 3)) > 4;",
]


@pytest.mark.parametrize("text", GUARDED_VARIANTS)
def test_a_guard_is_seen_through_temporaries(text: str) -> None:
    text += "\n$TargetDedicatedNodes = min(10, tasks / $TaskSlotsPerNode);"
    assert findings(text) == []


def test_a_guard_must_come_before_the_window_it_guards() -> None:
    # The percentage read after the window does not protect it: the window fails first (R11).
    text = (
        "w = avg($PendingTasks.GetSample(TimeInterval_Minute * 3));\n"
        "p = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 3);\n"
        "$TargetDedicatedNodes = min(10, (p < 70 ? 0 : w) / $TaskSlotsPerNode);"
    )
    assert findings(text) == [("BS101", 1, 32)]
    # R11's own formula (Batch Shipyard's generator): line 9, column 43, exactly where the service failed.
    r11 = (
        "sli = TimeInterval_Second * 600.0;\nsamplepercent = $PendingTasks.GetSamplePercent(sli);\n"
        "lastsample = val($PendingTasks.GetSample(1), 0);\nsamplevecavg = avg($PendingTasks.GetSample(sli));\n"
    )
    assert ("BS101", 4, 43) in findings(r11)


def test_a_guard_on_another_metric_does_not_count() -> None:
    text = (
        "p = $ActiveTasks.GetSamplePercent(TimeInterval_Minute * 3);\n"
        "$TargetDedicatedNodes = min(10, p < 70 ? 0 : avg($PendingTasks.GetSample(TimeInterval_Minute * 3)) / $TaskSlotsPerNode);"
    )
    assert [f for f in findings(text) if f[0] == "BS101"] == [("BS101", 2, 73)]


# -- order: what happens later does not change what was computed earlier -------------------------


def test_reassigning_a_variable_later_does_not_change_earlier_reads() -> None:
    # The target read `n` before it was reused for a constant: still slot-blind and uncapped.
    text = "n = avg(0, $PendingTasks.GetSample(TimeInterval_Minute, 0));\n$TargetDedicatedNodes = n;\nn = 5;\nm = n;"
    assert findings(text) == [("BS103", 2, 1), ("BS106", 2, 1), ("BS109", 4, 1)]


def test_a_capped_value_reused_later_is_no_false_positive() -> None:
    # Old lint looked up each name's last assignment anywhere: the later `cap = x` made the target
    # look uncapped. Reading forward, the target saw the capped value.
    text = (
        "x = val($PendingTasks.GetSample(1), 0) / $TaskSlotsPerNode;\n"
        "cap = min(x, 10);\n"
        "$TargetDedicatedNodes = cap;\n"
        "cap = x;\n"
        "$TargetLowPriorityNodes = 0;\n"
        "y = cap;"
    )
    assert [f for f in findings(text) if f[0] == "BS106"] == []


def test_the_target_that_sets_the_pool_is_the_last_one() -> None:
    text = (
        "$TargetDedicatedNodes = avg(0, $PendingTasks.GetSample(TimeInterval_Minute, 0));\n"
        "$TargetDedicatedNodes = min(10, $CurrentDedicatedNodes + 1);"
    )
    assert findings(text) == []  # the first value never reaches the pool


def test_the_full_name_wins_over_the_alias() -> None:
    text = "$TargetDedicated = avg(0, $PendingTasks.GetSample(TimeInterval_Minute, 0));\n$TargetDedicatedNodes = 3;"
    assert [f[0] for f in findings(text)] == ["BS107"]


def test_a_value_overwritten_before_use_is_reported() -> None:
    text = "x = 1;\nx = 2;\n$TargetDedicatedNodes = x;"
    (finding,) = check(text)
    assert (finding.code, finding.span.line, finding.span.column) == ("BS109", 1, 1)
    assert "assigned again at 2:1 before this value is used" in finding.message


def test_deallocation_option_is_read_at_the_end() -> None:
    text = "$NodeDeallocationOption = taskcompletion;\n$TargetDedicatedNodes = min(10, val($ActiveTasks.GetSample(1), 0) / $TaskSlotsPerNode);\n$NodeDeallocationOption = requeue;"
    assert ("BS104", 2, 1) in findings(text)


def test_preemption_made_up_on_the_dedicated_side_counts() -> None:
    # preemption-aware.formula's pattern: Spot for the demand, dedicated for each preempted node.
    text = (
        "nodes = min(40, val($PendingTasks.GetSample(1), 0) / $TaskSlotsPerNode);\n"
        "preempted = max(0, $PreemptedNodeCount.GetSample(TimeInterval_Minute, 0));\n"
        "$TargetLowPriorityNodes = nodes;\n"
        "$TargetDedicatedNodes = min(10, min(preempted, nodes));"
    )
    assert "BS105" not in codes(text)
    # Read but used by no target, it accounts for nothing.
    unused = text.replace("min(10, min(preempted, nodes))", "1") + "\nx = preempted;"
    assert ("BS105", 3, 1) in findings(unused)


def test_constants_through_variables_are_constants() -> None:
    assert "BS105" not in codes("spot = 4; $TargetLowPriorityNodes = spot;")
    assert "BS102" in codes(
        "p = $CPUPercent.GetSamplePercent(TimeInterval_Minute); threshold = 0.7; $TargetDedicatedNodes = p < threshold ? 1 : 2;"
    )


def test_a_min_of_samples_is_no_cap() -> None:
    assert "BS106" in codes(
        "$TargetDedicatedNodes = min($PendingTasks.GetSample(TimeInterval_Minute, 0)) / $TaskSlotsPerNode;"
    )
    assert "BS106" not in codes("$TargetDedicatedNodes = val($PendingTasks.GetSample(1), 0) > 5 ? 10 : 1;")


def test_deep_formulas_lint_without_recursion() -> None:
    text = "$TargetDedicatedNodes = " + "-" * 4000 + "val($PendingTasks.GetSample(1), 0);"
    assert {f[0] for f in findings(text)} == {"BS103", "BS106", "BS110"}


# -- accept comments ------------------------------------------------------------------------------

SPOT = "$TargetLowPriorityNodes = min(10, $CurrentLowPriorityNodes + 1);"


def test_an_accept_comment_with_a_reason_accepts_the_warning_on_its_line() -> None:
    assert check(f"// batchsim: accept BS105 a fixed Spot pool, preemption is fine here\n{SPOT}") == []
    assert check(f"{SPOT} // batchsim: accept BS105: fine here") == []
    two = "$TargetLowPriority = min(10, $CurrentLowPriorityNodes + 1);"  # BS105 and BS107
    assert check(f"// batchsim: accept BS105, BS107 both weighed\n// more words\n\n{two}") == []


def test_an_accept_comment_without_a_reason_is_reported() -> None:
    (finding,) = check(f"// batchsim: accept BS105\n{SPOT}")
    assert (finding.code, finding.span.line, finding.span.column) == ("BS113", 1, 1)
    assert "must say why" in finding.message


def test_an_accept_comment_applies_to_its_line_only() -> None:
    text = f"// batchsim: accept BS105 not this line\nx = 1;\n{SPOT}\n$TargetDedicatedNodes = x;"
    assert [f[0] for f in findings(text)] == ["BS113", "BS105"]


def test_an_accept_comment_that_accepts_nothing_is_reported() -> None:
    (finding,) = check(
        f"// batchsim: accept BS103 stale\n{SPOT.replace('+ 1', '')}".replace("$CurrentLowPriorityNodes", "3")
    )
    assert finding.code == "BS113" and "BS103 is accepted here but not reported" in finding.message


def test_errors_cannot_be_accepted_and_strings_are_not_comments() -> None:
    assert [d.code for d in check("$TargetDedicatedNodes = $x; // batchsim: accept BS105 no")] == [
        "AutoScalingFormulaEvaluationError",
        "BS113",
    ]
    assert "BS105" in codes(f'{SPOT} s = "// batchsim: accept BS105 in a string";')


def test_faulty_library_formulas_get_the_warning_they_demonstrate() -> None:
    from pathlib import Path

    faulty = Path(__file__).resolve().parents[2] / "formulas" / "faulty"
    expected = {"slot-blind": "BS103", "active-tasks-requeue": "BS104", "spot-ignores-preemption": "BS105"}
    for name, code in expected.items():
        assert code in codes((faulty / f"{name}.formula").read_text()), name


# -- issue 25 §3: findings without noise ---------------------------------------------------------


def test_an_assignment_that_fails_still_defines_its_variable() -> None:
    # The service stops at the first error (reference §8.4): later reads of `unusableNodes` never run,
    # so "Undefined symbol: unusableNodes" would be noise. The first error stays exactly the service's.
    from batchsim.formula import EvalContext, compile

    text = (
        "unusableNodes = $CurrentDedicatedNodes - $RunningTasks - 1;\n"
        "spare = max(0, unusableNodes);\n"
        "$TargetDedicatedNodes = min(10, unusableNodes + spare);"
    )
    errors = [d for d in check(text) if d.severity is Severity.ERROR]
    assert [(d.span.line, d.span.column, d.message) for d in errors] == [
        (1, 42, "Type mismatch: $RunningTasks must be read with a sample method")
    ]
    run = compile(text).evaluate(EvalContext(now_tick=0))
    assert run.error is not None
    assert run.error.detail == f"Line 1, Col 42: {errors[0].message}"
    # A name that no statement assigns is still undefined, however often it is read.
    assert [d.message for d in check("x = y + 1; $TargetDedicatedNodes = min(3, x + y);")] == [
        "Undefined symbol: y",
        "Undefined symbol: y",
    ]


def test_an_assignment_with_a_type_error_still_defines_its_variable() -> None:
    text = "v = $PendingTasks.GetSample(1) + 1; w = v; $TargetDedicatedNodes = min(3, val(w, 0));"
    assert "Undefined symbol" not in " ".join(d.message for d in check(text))
    text = "m = $PendingTasks; $TargetDedicatedNodes = min(3, m);"
    assert [d.message for d in check(text) if d.severity is Severity.ERROR] == [
        "Type mismatch: $PendingTasks must be read with a sample method"
    ]


CLAMPS = [
    "x > 5 ? 5 : x",  # the issue's
    "x >= 5 ? 5 : x",
    "x < 5 ? x : 5",
    "5 < x ? 5 : x",
    "5 >= x ? x : 5",
    "x > cap ? cap : x",
    "x > 10 ? 10 : (x < 0 ? 0 : x)",
]


@pytest.mark.parametrize("clamp", CLAMPS)
def test_a_target_clamped_by_a_conditional_has_a_cap(clamp: str) -> None:
    text = f"cap = 8;\nx = val($PendingTasks.GetSample(TimeInterval_Minute, 0), 0) / $TaskSlotsPerNode;\n$TargetDedicatedNodes = {clamp};"
    assert "BS106" not in codes(text)


@pytest.mark.parametrize("unclamped", ["x > 5 ? x : 5", "x < 5 ? 5 : x", "y > 5 ? 5 : x", "x > y ? y : x"])
def test_a_conditional_that_does_not_cap_is_still_uncapped(unclamped: str) -> None:
    text = (
        "x = val($PendingTasks.GetSample(TimeInterval_Minute, 0), 0) / $TaskSlotsPerNode;\n"
        "y = val($ActiveTasks.GetSample(TimeInterval_Minute, 0), 0);\n"
        f"$TargetDedicatedNodes = {unclamped};"
    )
    assert "BS106" in codes(text)


def test_a_public_formula_that_clamps_with_a_conditional_gets_no_bs106() -> None:
    # corpus 190's shape: `$RunningAndWaiting > $MaxComputeNodeLimit ? $MaxComputeNodeLimit : $RunningAndWaiting`
    text = (
        "$Max = 10;\n$Tasks = max($ActiveTasks.GetSample(1), 1) / $TaskSlotsPerNode;\n"
        "$TargetDedicated = $Tasks > $Max ? $Max : $Tasks;"
    )
    assert "BS106" not in codes(text)


@pytest.mark.parametrize(("percent", "said"), [("10", "10%"), ("50", "50%"), ("1", "1%"), ("ratio", "25%")])
def test_bs101_names_the_percentage_the_call_asks_for(percent: str, said: str) -> None:
    # Reference §6.5: the call fails below *its* percentage; 70 only when none is given.
    text = (
        f"ratio = 25;\n$TargetDedicatedNodes = min(5, avg($PendingTasks.GetSample(TimeInterval_Minute * 10, {percent})) "
        "/ $TaskSlotsPerNode);"
    )
    (finding,) = [d for d in check(text) if d.code == "BS101"]
    assert f"fewer than {said} of the window's samples" in finding.message
    assert "70" not in finding.message


def test_bs101_says_70_percent_when_the_call_gives_none() -> None:
    (finding,) = [d for d in check(CASES["BS101"]) if d.code == "BS101"]
    assert "fewer than 70% (the default when no percentage is given)" in finding.message


@pytest.mark.parametrize("slots", ["maxTasksPerNode", "$taskSlotsPerNode", "slots", "tasks_per_node"])
def test_dividing_by_the_formulas_own_slot_count_is_not_slot_blind(slots: str) -> None:
    # corpus 001 (Batch Shipyard's generator): `reqVMs = PendingTaskAvg / maxTasksPerNode`
    text = f"{slots} = 4;\nreq = val($PendingTasks.GetSample(1), 0) / {slots};\n$TargetDedicatedNodes = min(10, req);"
    assert "BS103" not in codes(text)


def test_dividing_by_another_constant_is_still_slot_blind() -> None:
    text = "half = 2;\n$TargetDedicatedNodes = min(10, val($PendingTasks.GetSample(1), 0) / half);"
    assert "BS103" in codes(text)
    text = (
        "slots = $CurrentDedicatedNodes;\n$TargetDedicatedNodes = min(10, val($PendingTasks.GetSample(1), 0) / slots);"
    )
    assert "BS103" in codes(text)  # not a constant: not the formula's slot count


EMPTY_AGGREGATES = [
    ("max($PendingTasks.GetSample(1))", "max"),  # the issue's: a new pool has no sample yet
    ("min($PendingTasks.GetSample(3))", "min"),
    ("avg($PendingTasks.GetSample(TimeInterval_Minute * 5, 0))", "avg"),  # 0% never fails, may be empty
    ("std($PendingTasks.GetSample(5) * 2)", "std"),
    ("range(ceil($PendingTasks.GetSample(5)))", "range"),
    ("percentile($PendingTasks.GetSample(5), 90)", "percentile"),
    ("max($PendingTasks.GetSample(5), $ActiveTasks.GetSample(5))", "max"),
    ("avg(v)", "avg"),
]


@pytest.mark.parametrize(("call", "name"), EMPTY_AGGREGATES)
def test_an_aggregate_of_samples_that_can_be_empty_is_reported_where_eval_fails(call: str, name: str) -> None:
    # Reference §6.3: avg, min, max, range, std and percentile raise on an empty list; §8.3 gives the
    # detail `Empty data set in <n>` at the `(`. The warning points where evaluation on a new pool fails.
    from batchsim.formula import EvalContext, compile

    text = f"v = $PendingTasks.GetSample(2);\n$TargetDedicatedNodes = min(5, {call} / $TaskSlotsPerNode);"
    (finding,) = [d for d in check(text) if d.code == "BS114"]
    assert f'"Empty data set in {name}"' in finding.message
    run = compile(text).evaluate(EvalContext(now_tick=0))
    assert run.error is not None
    assert run.error.detail == f"Line {finding.span.line}, Col {finding.span.column}: Empty data set in {name}"


SAFE_AGGREGATES = [
    "max(0, $PendingTasks.GetSample(1))",  # a scalar: the list is never empty
    "avg($PendingTasks.GetSample(TimeInterval_Minute * 5, 10))",  # fails below 10% instead (BS101)
    "percentile($PendingTasks.GetSample(TimeInterval_Minute * 5, 10), 50)",  # fails below 10% instead
    "($PendingTasks.Count() > 0 ? max($PendingTasks.GetSample(1)) : 0)",
    "(len($PendingTasks.GetSample(1)) > 0 ? max($PendingTasks.GetSample(1)) : 0)",
    "($PendingTasks.GetSamplePercent(TimeInterval_Minute) > 0 ? max($PendingTasks.GetSample(1)) : 0)",
    "val($PendingTasks.GetSample(1), 0)",
    "sum($PendingTasks.GetSample(1)) + len($PendingTasks.GetSample(1))",  # 0 on an empty list
]


@pytest.mark.parametrize("call", SAFE_AGGREGATES)
def test_an_aggregate_that_cannot_meet_an_empty_list_is_not_reported(call: str) -> None:
    text = f"$TargetDedicatedNodes = min(5, {call} / $TaskSlotsPerNode);"
    assert "BS114" not in codes(text)


def test_the_guarded_aggregates_really_evaluate_on_a_new_pool() -> None:
    from batchsim.formula import EvalContext, compile

    for call in SAFE_AGGREGATES[3:]:
        run = compile(f"$TargetDedicatedNodes = min(5, {call});").evaluate(EvalContext(now_tick=0))
        assert run.error is None, (call, run.error)


PROBE = """// batchsim: accept BS108 an evaluate-only probe: its values are read back from the results string
pending = val($PendingTasks.GetSample(TimeInterval_Minute, 0), 0);
percent = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 5);
"""


def test_an_evaluate_only_probe_is_accepted_with_one_comment() -> None:
    # Without the comment: no target (BS108) and every variable unused (BS109): noise for a probe,
    # whose variables the results string reports (reference §9.1).
    bare = PROBE.split("\n", 1)[1]
    assert findings(bare) == [("BS108", 1, 1), ("BS109", 1, 1), ("BS109", 2, 1)]
    assert findings(PROBE) == []


def test_a_probe_still_reports_a_value_lost_before_the_results() -> None:
    text = PROBE + "percent = 3;\n"
    assert findings(text) == [("BS109", 3, 1)]
    # Accepting something else accepts no BS109.
    other = PROBE.replace("accept BS108", "accept BS110").replace("TimeInterval_Minute, 0)", "1)")
    assert [f[0] for f in findings(other)] == ["BS108", "BS109", "BS109"]
