"""Syntax: positions, error messages, recovery, limits (formula reference §2, §3, §7, §8.1)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batchsim.formula import ast, parse
from batchsim.formula.parser import MAX_FORMULA_CHARS


def errors(text: str) -> list[tuple[str, str, int, int]]:
    return [(d.code, d.message, d.span.line, d.span.column) for d in parse(text).diagnostics]


def only_statement(text: str) -> ast.Statement:
    result = parse(text)
    assert result.formula is not None, result.diagnostics
    (statement,) = result.formula.statements
    return statement


def test_precedence_comparisons_bind_tighter_than_and() -> None:
    statement = only_statement("$h >= 8 && $h < 18")
    assert isinstance(statement, ast.ExprStatement)
    expr = statement.expr
    assert isinstance(expr, ast.Binary) and expr.op == "&&"
    assert isinstance(expr.left, ast.Binary) and expr.left.op == ">="


def test_comparisons_are_left_associative() -> None:
    expr = only_statement("a < b < c").expr  # type: ignore[union-attr]
    assert isinstance(expr, ast.Binary) and isinstance(expr.left, ast.Binary) and expr.left.op == "<"


def test_conditional_is_right_associative() -> None:
    expr = only_statement("a ? b : c ? d : e").expr  # type: ignore[union-attr]
    assert isinstance(expr, ast.Conditional) and isinstance(expr.otherwise, ast.Conditional)


def test_reserved_words_become_their_own_nodes() -> None:
    statement = only_statement("$NodeDeallocationOption = taskcompletion")
    assert isinstance(statement, ast.Assignment) and isinstance(statement.value, ast.DeallocKeyword)
    expr = only_statement("x = TimeInterval_Minute").value  # type: ignore[union-attr]
    assert isinstance(expr, ast.TimeConstant)


def test_dollar_names_may_be_function_names() -> None:
    assert isinstance(only_statement("$round = 1"), ast.Assignment)  # R9


def test_spans_of_names_calls_and_methods() -> None:
    statement = only_statement("x = avg($PendingTasks.GetSample(1))")
    assert isinstance(statement, ast.Assignment)
    call = statement.value
    assert isinstance(call, ast.Call)
    assert (call.lparen_span.line, call.lparen_span.column) == (1, 8)
    method = call.args[0]
    assert isinstance(method, ast.MethodCall)
    assert (method.name_span.column, method.lparen_span.column) == (23, 32)


def test_crlf_lone_cr_and_tabs_count_positions_like_the_service() -> None:
    for newline in ("\r\n", "\r", "\n"):
        assert errors(f"a = 1;{newline}\tb = %") == [
            (
                "AutoScalingFormulaSyntaxError",
                "Unexpected character '%' (the formula language has no '%' operator)",
                2,
                6,
            )
        ]


def test_comments_swallow_semicolons_and_may_end_the_text() -> None:
    result = parse("// a; b\na = 1; // last; line")
    assert result.formula is not None and len(result.formula.statements) == 1


@pytest.mark.parametrize(
    ("text", "message", "line", "column"),
    [
        ("a = (1 + 2", "Unexpected end of formula: expected ')' to close '(' opened at 1:5", 1, 11),
        ("a = 1 b = 2", "Missing ';' between statements", 1, 7),
        ('t = time("2024)', "Unterminated string", 1, 10),
        ("a = 1 ^ 2", "Unexpected character '^'", 1, 7),
        ("a = 1 & 2", "Unexpected character '&' (the logical operator is '&&')", 1, 7),
        ("a = .5", "Unexpected token '.': expected", 1, 5),
        ("a = 1e5", "Missing ';' between statements", 1, 6),
        ("a = 'x'", "Unexpected character '''", 1, 5),
        ("/* c */ a = 1", "Unexpected token '/'", 1, 1),
    ],
)
def test_syntax_errors_in_the_domains_words(text: str, message: str, line: int, column: int) -> None:
    (code, got, got_line, got_column), *_ = errors(text)
    assert code == "AutoScalingFormulaSyntaxError"
    assert got.startswith(message)
    assert (got_line, got_column) == (line, column)


def test_several_errors_reported_by_resuming_after_semicolons() -> None:
    found = errors("a = 1 %% 2;\nb = 2;\nc = (3;\nd = 4 ^ 1")
    assert [(line, column) for _, _, line, column in found] == [(1, 7), (3, 7), (4, 7)]


def test_empty_statements_are_recorded_for_the_linter() -> None:
    result = parse("a = 1;; b = 2;")
    assert result.formula is not None and len(result.formula.empty_statements) == 1
    assert parse("a = 1;").formula.empty_statements == ()  # type: ignore[union-attr]


@pytest.mark.parametrize("text", ["", "   \n", "// only a comment", ";"])
def test_a_formula_without_statements_is_invalid_settings(text: str) -> None:
    assert [d.code for d in parse(text).diagnostics] == ["InvalidAutoScalingSettings"]


def test_length_limit_counts_every_character() -> None:
    text = "a = 1;" + " " * (MAX_FORMULA_CHARS - 6)
    assert parse(text).ok
    (diagnostic,) = parse(text + " ").diagnostics
    assert diagnostic.code == "AutoScalingFormulaTooLong"
    assert "8193 characters" in diagnostic.message
    assert parse("a=1;" * 2250).diagnostics[0].code == "AutoScalingFormulaTooLong"  # 9000 characters


def test_statement_limit_is_100() -> None:
    assert parse("a=1;" * 100).ok
    (diagnostic,) = parse("a=1;" * 101).diagnostics
    assert diagnostic.code == "AutoScalingFormulaTooLong"
    assert (diagnostic.span.line, diagnostic.span.column) == (1, 401)


def test_reserved_words_cannot_be_assigned() -> None:
    assert errors("requeue = 1")[0][0] == "AutoScalingFormulaSyntaxError"
    assert errors("avg = 1")[0][0] == "AutoScalingFormulaSyntaxError"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab$_1.;()=+-*/<>!&|?:\"' \n\t\r%/TGS")), max_size=60))
def test_parse_never_raises(text: str) -> None:
    result = parse(text)
    assert (result.formula is None) == bool(result.diagnostics) or result.formula is not None
