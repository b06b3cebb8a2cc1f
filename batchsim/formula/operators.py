"""Operators (formula reference §3.3–3.4): which operand types each allows, and what it computes.

Resolved at compile time from the operands' static types; `&&`, `||` and `?:` evaluate lazily and
are the compiler's own (`lowering.py`).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

from batchsim.formula.diagnostics import Span
from batchsim.formula.operation import Operation
from batchsim.formula.runtime import (
    INTERVAL_RANGE_DETAIL,
    EvaluationFailure,
    checked_interval,
    checked_timestamp,
)
from batchsim.formula.values import DOUBLE, DOUBLE_VEC, STRING, TIMEINTERVAL, TIMESTAMP, round_half_away

__all__ = ["binary", "unary"]

_COMPARISONS = ("<", "<=", "==", ">=", ">", "!=")
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    ">=": operator.ge,
    ">": operator.gt,
    "!=": operator.ne,
}


def _div(a: float, b: float, span: Span) -> float:
    if b == 0:
        raise EvaluationFailure("Division by zero", span)
    return a / b


_ARITH: dict[str, Callable[[float, float, Span], float]] = {
    "+": lambda a, b, span: a + b,
    "-": lambda a, b, span: a - b,
    "*": lambda a, b, span: a * b,
    "/": _div,
}
_NAMES = {"+": "add", "-": "sub", "*": "mul", "/": "div"}


def _vector_scalar(arith: Callable[[float, float, Span], float]) -> Callable[[list[float], float, Span], list[float]]:
    return lambda v, x, span: [arith(a, x, span) for a in v]


def _vector_vector(
    arith: Callable[[float, float, Span], float],
) -> Callable[[list[float], list[float], Span], list[float]]:
    def apply(v: list[float], w: list[float], span: Span) -> list[float]:
        if len(v) != len(w):
            raise EvaluationFailure(f"Vector length mismatch: {len(v)} and {len(w)}", span)
        return [arith(a, b, span) for a, b in zip(v, w, strict=True)]

    return apply


def _interval(exact: float, span: Span) -> int:
    """A scaled interval, rounded to the nearest tick, halves away from zero (§4)."""
    if not math.isfinite(exact):
        raise EvaluationFailure(INTERVAL_RANGE_DETAIL, span)
    return checked_interval(int(round_half_away(exact)), span)


def _scale(ticks: int, factor: float, span: Span) -> int:
    return _interval(ticks * factor, span)


def _scale_by(factor: float, ticks: int, span: Span) -> int:
    return _interval(ticks * factor, span)


def _divide_interval(ticks: int, divisor: float, span: Span) -> int:
    if divisor == 0:
        raise EvaluationFailure("Division by zero", span)
    return _interval(ticks / divisor, span)


def _add_intervals(a: int, b: int, span: Span) -> int:
    return checked_interval(a + b, span)


def _subtract_intervals(a: int, b: int, span: Span) -> int:
    return checked_interval(a - b, span)


def _add_to_timestamp(a: int, b: int, span: Span) -> int:
    return checked_timestamp(a + b, span)


def _negate_interval(a: int, span: Span) -> int:
    return checked_interval(-a, span)


def _helper(name: str, function: Callable[..., Any]) -> Operation:
    """An operation computed by one helper taking (left, right, span)."""
    return Operation("", f"{name}({{0}}, {{1}}, {{span}})", {name: function}, function)


def _build() -> dict[tuple[str, str, str], Operation]:
    table: dict[tuple[str, str, str], Operation] = {}
    for op in _COMPARISONS:
        compare = _COMPARE[op]
        for kind in (DOUBLE, STRING, TIMESTAMP, TIMEINTERVAL):
            table[op, kind, kind] = Operation(
                DOUBLE,
                f"(1.0 if {{0}} {op} {{1}} else 0.0)",
                apply=lambda a, b, span, compare=compare: 1.0 if compare(a, b) else 0.0,
                truth=f"({{0}} {op} {{1}})",
            )
    for op, arith in _ARITH.items():
        name = _NAMES[op]
        if op == "/":
            table[op, DOUBLE, DOUBLE] = Operation(DOUBLE, "_op_div({0}, {1}, {span})", {"_op_div": _div}, _div)
        else:
            table[op, DOUBLE, DOUBLE] = Operation(DOUBLE, f"({{0}} {op} {{1}})", apply=arith)
        scalar, pair = f"_op_vector_scalar_{name}", f"_op_vector_vector_{name}"
        table[op, DOUBLE_VEC, DOUBLE] = Operation(
            DOUBLE_VEC, f"{scalar}({{0}}, {{1}}, {{span}})", {scalar: _vector_scalar(arith)}
        )
        table[op, DOUBLE_VEC, DOUBLE_VEC] = Operation(
            DOUBLE_VEC, f"{pair}({{0}}, {{1}}, {{span}})", {pair: _vector_vector(arith)}
        )
    interval_operations = {
        ("*", DOUBLE, TIMEINTERVAL): ("_op_scale_by", _scale_by, TIMEINTERVAL),
        ("*", TIMEINTERVAL, DOUBLE): ("_op_scale", _scale, TIMEINTERVAL),
        ("/", TIMEINTERVAL, DOUBLE): ("_op_divide_interval", _divide_interval, TIMEINTERVAL),
        ("+", TIMEINTERVAL, TIMEINTERVAL): ("_op_add_intervals", _add_intervals, TIMEINTERVAL),
        ("-", TIMEINTERVAL, TIMEINTERVAL): ("_op_subtract_intervals", _subtract_intervals, TIMEINTERVAL),
        ("+", TIMEINTERVAL, TIMESTAMP): ("_op_add_to_timestamp", _add_to_timestamp, TIMESTAMP),
        ("+", TIMESTAMP, TIMEINTERVAL): ("_op_add_to_timestamp", _add_to_timestamp, TIMESTAMP),
    }
    for key, (name, function, kind) in interval_operations.items():
        helper = _helper(name, function)
        table[key] = Operation(kind, helper.template, helper.helpers, helper.apply)
    # Two instants in 0001–9999 are at most 3.2e18 ticks apart: always a representable interval.
    table["-", TIMESTAMP, TIMESTAMP] = Operation(TIMEINTERVAL, "({0} - {1})", apply=lambda a, b, span: a - b)
    return table


_BINARY = _build()
_UNARY: dict[tuple[str, str], Operation] = {
    ("-", DOUBLE): Operation(DOUBLE, "(-{0})", apply=lambda a, span: -a),
    ("!", DOUBLE): Operation(DOUBLE, "(0.0 if {0} else 1.0)", apply=lambda a, span: 0.0 if a else 1.0),
    ("-", TIMEINTERVAL): Operation(
        TIMEINTERVAL, "_op_negate_interval({0}, {span})", {"_op_negate_interval": _negate_interval}, _negate_interval
    ),
}


def binary(op: str, left: str, right: str) -> Operation | None:
    """`left op right` for every operator but `&&` and `||` (§3.3), or None when the types do not allow it."""
    return _BINARY.get((op, left, right))


def unary(op: str, operand: str) -> Operation | None:
    """`-operand` or `!operand` (§3.3), or None when the type does not allow it."""
    return _UNARY.get((op, operand))
