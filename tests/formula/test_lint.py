"""Each lint rule fires on the pitfall it names and stays quiet on the fixed formula."""

from __future__ import annotations

import pytest

from batchsim.formula import check
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
}


def codes(text: str) -> set[str]:
    return {d.code for d in check(text)}


def test_every_rule_has_a_case() -> None:
    assert {rule.code for rule in RULES} == set(CASES)
    assert len(RULES) >= 8


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_fires_on_its_pitfall(code: str) -> None:
    found = check(CASES[code])
    assert code in {d.code for d in found}
    assert not [d for d in found if d.severity.value == "error"]


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
