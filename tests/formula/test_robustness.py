"""The engine never crashes, at any depth the service accepts, and `check` agrees with `eval`.

Oracles: arithmetic identities (a chain of n additions of 1 is n, an even number of unary minuses
is the identity, ...), the 8,192-character limit of formula reference §7, and the service's rule
that static errors are evaluation errors (§6.2, §8.3): an evaluation fails with a static error
exactly when `check` reports one there.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from formula_strategies import combinations
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batchsim.formula import EvalContext, SampleSeries, ast, check, compile, parse, print_formula
from batchsim.formula.diagnostics import Severity
from batchsim.formula.parser import MAX_FORMULA_CHARS

NOW = 10**17
A = "a = $CurrentDedicatedNodes; "  # `a` is 1 at run time and unknown at compile time: nothing folds
CONTEXT = EvalContext(
    now_tick=NOW,
    current_dedicated_nodes=1,
    samples={"$PendingTasks": SampleSeries.ending_at([1.0, math.nan, 3.0] * 20, NOW)},
)


def largest(make: Callable[[int], str], limit: int = MAX_FORMULA_CHARS) -> tuple[str, int]:
    """The longest formula `make(n)` within `limit` characters, and its n."""
    low, high = 1, limit
    while low < high:
        middle = (low + high + 1) // 2
        if len(make(middle)) <= limit:
            low = middle
        else:
            high = middle - 1
    return make(low), low


# name → (formula of size n, the value of x as a function of n; None: only that it evaluates)
SHAPES: dict[str, tuple[Callable[[int], str], Callable[[int], float] | None]] = {
    "chain +": (lambda n: A + "x = " + "+".join(["a"] * n) + ";", float),
    "chain -": (lambda n: A + "x = " + "-".join(["a"] * n) + ";", lambda n: 2.0 - n),
    "chain *": (lambda n: A + "x = " + "*".join(["a"] * n) + ";", lambda n: 1.0),
    "chain /": (lambda n: A + "x = " + "/".join(["a"] * n) + ";", lambda n: 1.0),
    # left-associative: ((1 < 1) < 1) < 1 ... alternates 1, 0, 1, 0
    "chain <": (lambda n: A + "x = " + "<".join(["a"] * n) + ";", lambda n: float(n % 2 == 1)),
    "chain ==": (lambda n: A + "x = " + "==".join(["a"] * n) + ";", lambda n: 1.0),
    "chain &&": (lambda n: A + "x = " + "&&".join(["a"] * n) + ";", lambda n: 1.0),
    "chain ||": (lambda n: A + "x = " + "||".join(["a"] * n) + ";", lambda n: 1.0),
    "right-nested +": (lambda n: A + "x = " + "a+(" * n + "a" + ")" * n + ";", lambda n: n + 1.0),
    "right-nested &&": (lambda n: A + "x = " + "a&&(" * n + "a" + ")" * n + ";", lambda n: 1.0),
    "unary -": (lambda n: A + "x = " + "-" * n + "a;", lambda n: (-1.0) ** n),
    "unary !": (lambda n: A + "x = " + "!" * n + "a;", lambda n: float(n % 2 == 0)),
    "parentheses": (lambda n: A + "x = " + "(" * n + "a" + ")" * n + ";", lambda n: 1.0),
    "conditional, else-nested": (lambda n: A + "x = " + "a?a:" * n + "0;", lambda n: 1.0),
    "conditional, then-nested": (lambda n: A + "x = " + "a?" * n + "a" + ":0" * n + ";", lambda n: 1.0),
    "conditional, condition-nested": (lambda n: A + "x = " + "(" * n + "a" + "?a:0)" * n + ";", lambda n: 1.0),
    "nested calls": (lambda n: A + "x = " + "max(" * n + "a" + ")" * n + ";", lambda n: 1.0),
    "nested calls, two arguments": (lambda n: A + "x = " + "max(0," * n + "a" + ")" * n + ";", lambda n: 1.0),
    "long argument list": (lambda n: A + "x = sum(" + ",".join(["a"] * n) + ");", float),
    "long vector arithmetic": (lambda n: A + "x = sum(" + "+".join(["$PendingTasks.GetSample(5)"] * n) + ");", None),
    "mixed": (lambda n: A + "x = " + "-(a+!(a*max(a?" * n + "a" + ":0)))" * n + ";", None),
}


def _x(text: str) -> float:
    run = compile(text).evaluate(CONTEXT)
    assert run.error is None, run.error
    return run.values["x"]  # type: ignore[return-value]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_formulas_at_the_length_limit_parse_check_compile_and_evaluate(shape: str) -> None:
    make, expected = SHAPES[shape]
    text, n = largest(make)
    assert len(text) > MAX_FORMULA_CHARS - 60 and n > 250  # far deeper than Python's recursion limit
    assert sys.getrecursionlimit() <= 10_000
    assert not [d for d in check(text) if d.severity is Severity.ERROR]
    value = _x(text)
    if shape == "long vector arithmetic":
        last_five = [v for v in CONTEXT.samples["$PendingTasks"].values if v == v][-5:]
        assert value == n * sum(last_five)
    elif expected is not None:
        assert value == expected(n)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_deep_trees_print_compare_and_hash_without_recursion(shape: str) -> None:
    make, _ = SHAPES[shape]
    # Half the limit, so that the printed text (with spaces around operators) still fits; a third
    # for unary minuses, which print as `-(-a)` (never `--a`).
    text, _ = largest(make, MAX_FORMULA_CHARS // (3 if shape == "unary -" else 2))
    tree = parse(text).formula
    assert tree is not None
    again = parse(print_formula(tree)).formula
    assert again is not None and ast.same_tree(tree, again)
    twin = parse(text).formula
    assert tree == twin and hash(tree) == hash(twin) and repr(tree) == repr(twin)
    assert tree != again or print_formula(tree) == text  # spans differ once reprinted
    assert sum(1 for _ in ast.walk(tree)) > (3 if shape == "parentheses" else 250)  # parentheses are no nodes


def test_one_deep_formula_does_not_cost_the_others_their_report(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from batchsim.cli import app

    (tmp_path / "deep.formula").write_text("$TargetDedicatedNodes = " + "1+" * 4000 + "1;")
    (tmp_path / "minus.formula").write_text("$TargetDedicatedNodes = " + "-" * 8000 + "1;")
    (tmp_path / "bad.formula").write_text("$TargetDedicatedNodes = $x;")
    result = CliRunner().invoke(app, ["check", "--format", "json", str(tmp_path)])
    records = json.loads(result.output)
    assert result.exit_code == 1
    assert {r["path"].rsplit("/", 1)[-1] for r in records if r["severity"] == "error"} == {"bad.formula"}


# -- fuzz: deep and long formulas, built as text -------------------------------------------------

_LEAVES = ["a", "1", "0", "2.5", "$TaskSlotsPerNode", "$TargetDedicatedNodes", "TimeInterval_Minute", '"x"', "time()"]
# Each wrapper turns an expression `e` into a bigger one; `leaf` is a random leaf.
_WRAPPERS: list[Callable[[str, str], str]] = [
    lambda e, leaf: f"-{e}",
    lambda e, leaf: f"!{e}",
    lambda e, leaf: f"({e})",
    lambda e, leaf: f"{e}+{leaf}",
    lambda e, leaf: f"{leaf}*{e}",
    lambda e, leaf: f"{e}/{leaf}",
    lambda e, leaf: f"{e}<{leaf}",
    lambda e, leaf: f"{e}&&{leaf}",
    lambda e, leaf: f"{leaf}||({e})",
    lambda e, leaf: f"{e}?{leaf}:{leaf}",
    lambda e, leaf: f"{leaf}?({e}):{leaf}",
    lambda e, leaf: f"{leaf}?{leaf}:{e}",
    lambda e, leaf: f"max({e},{leaf})",
    lambda e, leaf: f"avg({leaf},{e})",
    lambda e, leaf: f"$PendingTasks.GetSample({e})",
    lambda e, leaf: f"val($PendingTasks.GetSample(3),{e})",
    lambda e, leaf: f"({e}).hour",
    lambda e, leaf: f"{e}+$PendingTasks.GetSample(2)",
]


@st.composite
def deep_formulas(draw: st.DrawFn) -> str:
    """A formula of a few statements, one of them nested hundreds or thousands of levels deep."""
    expr = draw(st.sampled_from(_LEAVES))
    steps = draw(st.lists(st.tuples(st.integers(0, len(_WRAPPERS) - 1), st.integers(1, 600)), min_size=1, max_size=6))
    leaves = st.sampled_from(_LEAVES)
    for wrapper, repeat in steps:
        leaf = draw(leaves)
        for _ in range(repeat):
            grown = _WRAPPERS[wrapper](expr, leaf)
            if len(grown) > MAX_FORMULA_CHARS - 120:
                break
            expr = grown
    target = draw(st.sampled_from(["x", "$TargetDedicatedNodes", "$TargetLowPriorityNodes", None]))
    body = expr if target is None else f"{target} = {expr}"
    return f"a = $CurrentDedicatedNodes;\n{body};\ny = a;"


STATIC = (
    "Undefined symbol",
    "Unknown function",
    "Unknown method",
    "Unknown field",
    "Wrong number",
    "Type mismatch",
    "Cannot assign",
    "Invalid value for $NodeDeallocationOption",
)


def _agrees(text: str) -> None:
    """`check` never raises; `compile` raises only FormulaError; `evaluate` never raises; an
    evaluation fails with a static error exactly where `check` reported one."""
    diagnostics = check(text)
    assert all(d.span.line >= 1 and d.span.column >= 1 for d in diagnostics)
    parsed = parse(text)
    if parsed.formula is None:
        return
    run = compile(text).evaluate(CONTEXT)
    assert run.results.startswith("$TargetDedicatedNodes=")
    static = {
        (d.span.line, d.span.column, d.message)
        for d in diagnostics
        if d.severity is Severity.ERROR and d.code == "AutoScalingFormulaEvaluationError"
    }
    if run.error is not None:
        where, detail = run.error.detail.split(": ", 1)
        line, column = (int(part.split()[1]) for part in where.split(", "))
        if detail.startswith(STATIC):
            assert (line, column, detail) in static, (run.error, static)
    # A run may succeed despite static errors: they sat in a branch not taken, or after stop().
    if not static and run.error is not None:
        assert not run.error.detail.split(": ", 1)[1].startswith(STATIC)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(deep_formulas())
def test_deep_formulas_never_crash_and_check_agrees_with_eval(text: str) -> None:
    _agrees(text)


_SMALL = st.sampled_from(
    [
        "a",
        "b",
        "1",
        "0",
        "70",
        "$PendingTasks",
        "$TargetDedicatedNodes",
        "$CurrentDedicatedNodes",
        "TimeInterval_Second",
        '"2024-01-01"',
        "requeue",
        "undefined",
    ]
)


def _small(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        *combinations(children, ["max", "avg", "len", "val", "time", "stop", "rand", "ln", "nope"]),
        st.builds(
            lambda m, xs: f"$PendingTasks.{m}({', '.join(xs)})",
            st.sampled_from(["GetSample", "GetSamplePercent", "Count", "Nope"]),
            st.lists(children, max_size=2),
        ),
        st.builds(lambda x, f: f"({x}).{f}", children, st.sampled_from(["hour", "weekday", "nope"])),
    )


_EXPRESSIONS = st.recursive(_SMALL, _small, max_leaves=10)
_TARGETS = st.sampled_from(["a", "b", "$TargetDedicatedNodes", "$NodeDeallocationOption", None])
statement_lists = st.lists(st.tuples(_TARGETS, _EXPRESSIONS), min_size=1, max_size=5).map(
    lambda pairs: "; ".join(expr if target is None else f"{target} = {expr}" for target, expr in pairs) + ";"
)


@settings(max_examples=300, deadline=None)
@given(statement_lists)
def test_check_agrees_with_eval_on_varied_formulas(text: str) -> None:
    _agrees(text)
