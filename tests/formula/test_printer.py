"""Printing then parsing gives the same tree (STYLE: Hypothesis round trip; the corpus)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batchsim.formula import ast, parse, print_formula
from batchsim.formula.ast import same_tree
from batchsim.formula.diagnostics import Span

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "formulas"
S = Span(1, 1, 1, 1)

names = st.sampled_from(["a", "$b", "_c1", "$PendingTasks", "$TargetDedicatedNodes"])
leaves = st.one_of(
    st.builds(lambda v: ast.Number(v, repr(v), S), st.floats(min_value=0, max_value=1e6, allow_nan=False)),
    st.builds(lambda n: ast.Name(n, S), names),
    st.builds(lambda n: ast.TimeConstant(n, S), st.sampled_from(["TimeInterval_Minute", "TimeInterval_Second"])),
    st.builds(lambda v: ast.String(v, S), st.sampled_from(["", "2024-01-01", "x y"])),
)


def _extend(children: st.SearchStrategy[ast.Expr]) -> st.SearchStrategy[ast.Expr]:
    ops = st.sampled_from(["+", "-", "*", "/", "<", "<=", "==", "!=", ">", ">=", "&&", "||"])
    return st.one_of(
        st.builds(lambda o, a, b: ast.Binary(o, a, b, S, S), ops, children, children),
        st.builds(lambda o, a: ast.Unary(o, a, S, S), st.sampled_from(["-", "!"]), children),
        st.builds(lambda c, t, e: ast.Conditional(c, t, e, S, S), children, children, children),
        st.builds(
            lambda f, xs: ast.Call(f, tuple(xs), S, S, S),
            st.sampled_from(["max", "avg", "time"]),
            st.lists(children, max_size=3),
        ),
        st.builds(lambda t, f: ast.Field(t, f, S, S), children, st.sampled_from(["hour", "weekday"])),
        st.builds(
            lambda t, xs: ast.MethodCall(t, "GetSample", tuple(xs), S, S, S), children, st.lists(children, max_size=2)
        ),
    )


expressions = st.recursive(leaves, _extend, max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), names), expressions), min_size=1, max_size=4))
def test_round_trip_of_random_trees(statements: list[tuple[str | None, ast.Expr]]) -> None:
    tree = ast.Formula(
        tuple(
            ast.ExprStatement(e, S) if target is None else ast.Assignment(target, e, S, S) for target, e in statements
        ),
        S,
    )
    text = print_formula(tree)
    parsed = parse(text)
    assert parsed.formula is not None, (text, parsed.diagnostics)
    assert same_tree(parsed.formula, tree), text


@pytest.mark.conformance
def test_round_trip_of_the_corpus() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    checked = 0
    for path in sorted(CORPUS.glob("*.formula")):
        parsed = parse(path.read_text(encoding="utf-8"))
        if parsed.formula is None:
            continue
        again = parse(print_formula(parsed.formula))
        assert again.formula is not None and same_tree(again.formula, parsed.formula), path.name
        checked += 1
    assert checked > 50


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), names), expressions), min_size=1, max_size=4))
def test_generated_formulas_never_crash_the_checker_or_the_evaluator(
    statements: list[tuple[str | None, ast.Expr]],
) -> None:
    from batchsim.formula import EvalContext, SampleSeries, check, compile

    tree = ast.Formula(
        tuple(
            ast.ExprStatement(e, S) if target is None else ast.Assignment(target, e, S, S) for target, e in statements
        ),
        S,
    )
    text = print_formula(tree)
    assert isinstance(check(text), list)
    samples = {"$PendingTasks": SampleSeries.ending_at([1.0, float("nan"), 3.0], 10**17)}
    run = compile(text).evaluate(EvalContext(now_tick=10**17, samples=samples))
    assert run.results.startswith("$TargetDedicatedNodes=")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_yields_diagnostics_not_exceptions(text: str) -> None:
    from batchsim.formula import check

    assert all(d.span.line >= 1 for d in check(text))
