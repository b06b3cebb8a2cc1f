"""Operators and built-in functions (formula reference §3.3–3.4, §6.1–6.3).

The type rules are tables resolved at compile time; the closures they return only compute.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from batchsim.formula import ast
from batchsim.formula.context import ticks_to_datetime
from batchsim.formula.runtime import ERROR, Compiled, EvaluationFailure, Frame, Stop, fold
from batchsim.formula.symbols import FUNCTIONS
from batchsim.formula.values import (
    DOUBLE,
    DOUBLE_VEC,
    NONE,
    STRING,
    TIMEINTERVAL,
    TIMESTAMP,
    parse_time_string,
    round_half_away,
)

if TYPE_CHECKING:
    from batchsim.formula.compiler import _Compiler

__all__ = ["OperationError", "binary_operation", "compile_call", "timestamp_field"]


class OperationError(Exception):
    """An operation that fails at run time (division by zero, vector lengths); the caller adds the span."""


def _div(a: float, b: float) -> float:
    if b == 0:
        raise OperationError("Division by zero")
    return a / b


_ARITH: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": _div,
}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "!=": lambda a, b: a != b,
}


def _vec_scalar(op: Callable[[float, float], float]) -> Callable[[list[float], float], list[float]]:
    return lambda v, x: [op(a, x) for a in v]


def _vec_vec(op: Callable[[float, float], float]) -> Callable[[list[float], list[float]], list[float]]:
    def apply(v: list[float], w: list[float]) -> list[float]:
        if len(v) != len(w):
            raise OperationError(f"Vector length mismatch: {len(v)} and {len(w)}")
        return [op(a, b) for a, b in zip(v, w, strict=True)]

    return apply


def _scale_interval(ticks: int, factor: float) -> int:
    return int(round_half_away(ticks * factor))


def _divide_interval(ticks: int, divisor: float) -> int:
    if divisor == 0:
        raise OperationError("Division by zero")
    return int(round_half_away(ticks / divisor))


def binary_operation(op: str, left: str, right: str) -> tuple[str, Callable[[Any, Any], Any]] | None:
    """The result type and function of `left op right` (§3.3), or None when the types do not allow it."""
    if op in _COMPARE:
        if left == right and left in (DOUBLE, STRING, TIMESTAMP, TIMEINTERVAL):
            compare = _COMPARE[op]
            return DOUBLE, lambda a, b: 1.0 if compare(a, b) else 0.0
        return None
    arith = _ARITH[op]
    pair = (left, right)
    if pair == (DOUBLE, DOUBLE):
        return DOUBLE, arith
    if pair == (DOUBLE_VEC, DOUBLE):
        return DOUBLE_VEC, _vec_scalar(arith)
    if pair == (DOUBLE_VEC, DOUBLE_VEC):
        return DOUBLE_VEC, _vec_vec(arith)
    if pair == (DOUBLE, TIMEINTERVAL) and op == "*":
        return TIMEINTERVAL, lambda a, b: _scale_interval(b, a)
    if pair == (TIMEINTERVAL, DOUBLE) and op == "*":
        return TIMEINTERVAL, _scale_interval
    if pair == (TIMEINTERVAL, DOUBLE) and op == "/":
        return TIMEINTERVAL, _divide_interval
    if pair == (TIMEINTERVAL, TIMEINTERVAL) and op in "+-":
        return TIMEINTERVAL, arith
    if pair in ((TIMEINTERVAL, TIMESTAMP), (TIMESTAMP, TIMEINTERVAL)) and op == "+":
        return TIMESTAMP, lambda a, b: a + b
    if pair == (TIMESTAMP, TIMESTAMP) and op == "-":
        return TIMEINTERVAL, lambda a, b: a - b
    return None


def timestamp_field(name: str) -> Callable[[int], float]:
    """A UTC field of a timestamp (§4); `weekday` is ISO: 1 = Monday … 7 = Sunday."""
    if name == "weekday":
        return lambda ticks: float(ticks_to_datetime(ticks).isoweekday())
    return lambda ticks: float(getattr(ticks_to_datetime(ticks), name))


# -- functions -------------------------------------------------------------------------------


def _flatten(values: Sequence[tuple[str, Any]]) -> list[float]:
    flat: list[float] = []
    for kind, value in values:
        if kind == DOUBLE:
            flat.append(value)
        else:
            flat.extend(value)
    return flat


def _std(v: list[float]) -> float:
    if len(v) < 2:
        return 0.0
    mean = sum(v) / len(v)
    return math.sqrt(sum((x - mean) ** 2 for x in v) / (len(v) - 1))


# name → (function of a non-empty-or-not list, whether an empty list is allowed)
_REDUCERS: dict[str, tuple[Callable[[list[float]], float], bool]] = {
    "avg": (lambda v: sum(v) / len(v), False),
    "len": (lambda v: float(len(v)), True),
    "max": (max, False),
    "min": (min, False),
    "norm": (lambda v: math.sqrt(sum(x * x for x in v)), True),
    "range": (lambda v: max(v) - min(v), False),
    "std": (_std, False),
    "sum": (lambda v: float(sum(v)), True),
}


def _log(log: Callable[[float], float]) -> Callable[[float], float]:
    def apply(x: float) -> float:
        if not x > 0:
            raise OperationError("log of x <= 0")
        return log(x)

    return apply


_ELEMENTWISE: dict[str, Callable[[float], float]] = {
    "lg": _log(math.log2),
    "ln": _log(math.log),
    "log": _log(math.log10),
    "ceil": lambda x: float(math.ceil(x)) if math.isfinite(x) else x,
    "floor": lambda x: float(math.floor(x)) if math.isfinite(x) else x,
    "round": lambda x: round_half_away(x) if math.isfinite(x) else x,
}


def compile_call(compiler: _Compiler, node: ast.Call) -> Compiled:
    """Resolve a function call's overload at compile time (§6.1–6.2)."""
    args = [compiler.expr(a) for a in node.args]
    if not compiler.function_known(node.name):
        return compiler.fail(f"Unknown function: {node.name}", node.name_span, *args)
    if any(a.kind == ERROR for a in args):
        return compiler.fail_quietly(*args)
    function = FUNCTIONS[node.name]
    span = node.lparen_span
    name = node.name
    codes = [a.code for a in args]
    kinds = [a.kind for a in args]

    def arity() -> Compiled:
        return compiler.fail(f"Wrong number of arguments to {name}", span, *args)

    def argument_type(k: int, wanted: str) -> Compiled:
        return compiler.fail(f"Type mismatch: argument {k} of {name} must be {wanted}", node.args[k - 1].span, *args)

    if function.kind in ("list", "elementwise"):
        if not args:
            return arity()
        for k, kind in enumerate(kinds, 1):
            if kind not in (DOUBLE, DOUBLE_VEC):
                return argument_type(k, "double or doubleVec")
        if function.kind == "list":
            reduce, empty_ok = _REDUCERS[name]
            if all(kind == DOUBLE for kind in kinds):  # only scalars: never empty, nothing to flatten
                if name in ("min", "max") and len(codes) == 2:
                    first, second = codes
                    pick = min if name == "min" else max
                    return fold(Compiled(DOUBLE, lambda frame: float(pick(first(frame), second(frame)))), *args)
                return fold(Compiled(DOUBLE, lambda frame: float(reduce([code(frame) for code in codes]))), *args)

            if kinds == [DOUBLE_VEC]:  # one vector: no flattening
                vector_code = codes[0]

                def run_vector(frame: Frame) -> float:
                    vector = vector_code(frame)
                    if not vector:
                        if not empty_ok:
                            raise EvaluationFailure(f"Empty data set in {name}", span)
                        return 0.0
                    return float(reduce(vector))

                return Compiled(DOUBLE, run_vector)

            def run_list(frame: Frame) -> float:
                flat = _flatten([(kind, code(frame)) for kind, code in zip(kinds, codes, strict=True)])
                if not flat and not empty_ok:
                    raise EvaluationFailure(f"Empty data set in {name}", span)
                return float(reduce(flat)) if flat else 0.0

            return Compiled(DOUBLE, run_list)
        element = _ELEMENTWISE[name]

        def guarded(x: float) -> float:
            try:
                return element(x)
            except OperationError:
                raise EvaluationFailure(f"Invalid argument to {name}", span) from None

        if kinds == [DOUBLE]:
            only = codes[0]
            return fold(Compiled(DOUBLE, lambda frame: guarded(only(frame))), *args)

        def run_elementwise(frame: Frame) -> list[float]:
            flat = _flatten([(kind, code(frame)) for kind, code in zip(kinds, codes, strict=True)])
            return [guarded(x) for x in flat]

        return Compiled(DOUBLE_VEC, run_elementwise)

    if name == "time":
        if len(args) > 1:
            return arity()
        if not args:
            return Compiled(TIMESTAMP, lambda frame: frame.ctx.now_tick)
        if kinds[0] != STRING:
            return argument_type(1, "string")
        text_code = codes[0]

        def run_time(frame: Frame) -> int:
            text = text_code(frame)
            if text == "":
                return frame.ctx.now_tick
            ticks = parse_time_string(text)
            if ticks is None:
                raise EvaluationFailure(f'Invalid time string: "{text}"', span)
            return ticks

        return Compiled(TIMESTAMP, run_time)

    if len(args) != len(function.params):
        return arity()
    for k, (kind, wanted) in enumerate(zip(kinds, function.params, strict=True), 1):
        if kind != wanted:
            return argument_type(k, wanted)
    if name == "rand":
        return Compiled(DOUBLE, lambda frame: frame.random())
    if name == "stop":

        def run_stop(frame: Frame) -> None:
            raise Stop

        return Compiled(NONE, run_stop)
    vector_code, number_code = codes
    if name == "val":

        def run_val(frame: Frame) -> float:
            vector, index = vector_code(frame), number_code(frame)
            i = math.trunc(index) if math.isfinite(index) else -1
            return float(vector[i]) if 0 <= i < len(vector) else 0.0

        return Compiled(DOUBLE, run_val)

    def run_percentile(frame: Frame) -> float:
        vector, p = vector_code(frame), number_code(frame)
        if not 0 <= p <= 100:
            raise EvaluationFailure(f"Invalid argument to {name}", span)
        if not vector:
            raise EvaluationFailure(f"Empty data set in {name}", span)
        ordered = sorted(vector)
        rank = min(max(math.ceil(p * len(ordered) / 100), 1), len(ordered))
        return float(ordered[rank - 1])

    return Compiled(DOUBLE, run_percentile)
