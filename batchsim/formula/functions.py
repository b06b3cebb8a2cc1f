"""Built-in functions (formula reference §6.1–6.3): overloads resolved from argument types.

`call` looks only at the static types of the arguments and answers with an `Operation` or a
`Problem`; it never sees the compiler.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from batchsim.formula.diagnostics import Span
from batchsim.formula.operation import Operation, OperationError, Problem
from batchsim.formula.runtime import EvaluationFailure, checked_timestamp, stop
from batchsim.formula.symbols import FUNCTIONS, STRICT_OFF_FUNCTIONS
from batchsim.formula.values import DOUBLE, DOUBLE_VEC, NONE, STRING, TIMESTAMP, round_half_away

__all__ = ["call", "known", "timestamp_field"]


def _std(v: list[float]) -> float:
    if len(v) < 2:
        return 0.0
    mean = sum(v) / len(v)
    return math.sqrt(sum((x - mean) ** 2 for x in v) / (len(v) - 1))


# name → (reduction of a list, whether an empty list is allowed: §6.3)
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


def known(name: str, *, strict: bool) -> bool:
    """Whether `name` is a function (strict mode turns off `ceil`, `floor`, `round`: §6.1)."""
    return name in FUNCTIONS and not (strict and name in STRICT_OFF_FUNCTIONS)


def _reduce_scalars(name: str) -> Callable[..., float]:
    reduce = _REDUCERS[name][0]
    return lambda *values: float(reduce(list(values)))


def _avg(values: list[float], span: Span) -> float:
    """`avg` of one vector, the common case, written out (`_reduce_list` makes two more calls)."""
    if not values:
        raise EvaluationFailure("Empty data set in avg", span)
    return sum(values) / len(values)  # a float, as `float(...)` of the general form


def _reduce_list(name: str) -> Callable[[list[float], Span], float]:
    if name == "avg":
        return _avg
    reduce, empty_ok = _REDUCERS[name]

    def apply(values: list[float], span: Span) -> float:
        if not values:
            if not empty_ok:
                raise EvaluationFailure(f"Empty data set in {name}", span)
            return 0.0
        return float(reduce(values))

    return apply


def _guarded(name: str) -> Callable[[float, Span], float]:
    element = _ELEMENTWISE[name]

    def apply(x: float, span: Span) -> float:
        try:
            return element(x)
        except OperationError:
            raise EvaluationFailure(f"Invalid argument to {name}", span) from None

    return apply


def _flattened(kinds: Sequence[str]) -> str:
    """A list display of the arguments, vectors unpacked in place: the doubleVecList of §4."""
    return "[" + ", ".join(f"*{{{k}}}" if kind == DOUBLE_VEC else f"{{{k}}}" for k, kind in enumerate(kinds)) + "]"


def _time(text: str, now: int, span: Span) -> int:
    if text == "":
        return now
    from batchsim.formula.timestrings import parse_time_string

    ticks = parse_time_string(text)
    if ticks is None:
        raise EvaluationFailure(f'Invalid time string: "{text}"', span)
    return checked_timestamp(ticks, span)


def _val(vector: list[float], index: float) -> float:
    i = math.trunc(index) if math.isfinite(index) else -1
    return float(vector[i]) if 0 <= i < len(vector) else 0.0


def _percentile(vector: list[float], p: float, span: Span) -> float:
    if not 0 <= p <= 100:
        raise EvaluationFailure("Invalid argument to percentile", span)
    if not vector:
        raise EvaluationFailure("Empty data set in percentile", span)
    ordered = sorted(vector)
    rank = min(max(math.ceil(p * len(ordered) / 100), 1), len(ordered))
    return float(ordered[rank - 1])


def _pair(pick: Callable[[float, float], float]) -> Callable[[float, float, Span], float]:
    return lambda a, b, span: float(pick(a, b))


def call(name: str, kinds: Sequence[str], *, strict: bool) -> Operation | Problem:
    """Resolve `name(args)` from the arguments' static types (§6.1–6.2)."""
    if not known(name, strict=strict):
        return Problem(f"Unknown function: {name}", "name")
    function = FUNCTIONS[name]
    arity = Problem(f"Wrong number of arguments to {name}", "lparen")
    if function.kind in ("list", "elementwise"):
        if not kinds:
            return arity
        for k, kind in enumerate(kinds, 1):
            if kind not in (DOUBLE, DOUBLE_VEC):
                return Problem(f"Type mismatch: argument {k} of {name} must be double or doubleVec", k)
        if function.kind == "list":
            return _list_function(name, kinds)
        return _elementwise_function(name, kinds)
    if name == "time":
        if len(kinds) > 1:
            return arity
        if not kinds:
            return Operation(TIMESTAMP, "ctx.now_tick")
        if kinds[0] != STRING:
            return Problem(f"Type mismatch: argument 1 of {name} must be string", 1)
        return Operation(TIMESTAMP, "_fn_time({0}, ctx.now_tick, {span})", {"_fn_time": _time})
    if len(kinds) != len(function.params):
        return arity
    for k, (kind, wanted) in enumerate(zip(kinds, function.params, strict=True), 1):
        if kind != wanted:
            return Problem(f"Type mismatch: argument {k} of {name} must be {wanted}", k)
    if name == "rand":
        return Operation(DOUBLE, "frame.random()")
    if name == "stop":
        return Operation(NONE, "_rt_stop()", {"_rt_stop": stop})
    if name == "val":
        return Operation(DOUBLE, "_fn_val({0}, {1})", {"_fn_val": _val}, lambda v, i, span: _val(v, i))
    return Operation(DOUBLE, "_fn_percentile({0}, {1}, {span})", {"_fn_percentile": _percentile}, _percentile)


def _list_function(name: str, kinds: Sequence[str]) -> Operation:
    if all(kind == DOUBLE for kind in kinds):  # only scalars: never empty, nothing to flatten
        if name in ("min", "max") and len(kinds) == 2:
            pick = min if name == "min" else max
            return Operation(DOUBLE, f"float({name}({{0}}, {{1}}))", apply=_pair(pick))
        helper = f"_fn_{name}_of_scalars"
        reduce = _reduce_scalars(name)
        arguments = ", ".join(f"{{{k}}}" for k in range(len(kinds)))
        return Operation(DOUBLE, f"{helper}({arguments})", {helper: reduce}, lambda *values: reduce(*values[:-1]))
    helper = f"_fn_{name}"
    if list(kinds) == [DOUBLE_VEC]:  # one vector: no flattening
        return Operation(DOUBLE, f"{helper}({{0}}, {{span}})", {helper: _reduce_list(name)})
    return Operation(DOUBLE, f"{helper}({_flattened(kinds)}, {{span}})", {helper: _reduce_list(name)})


def _elementwise_function(name: str, kinds: Sequence[str]) -> Operation:
    scalar = f"_fn_{name}"
    guarded = _guarded(name)
    if list(kinds) == [DOUBLE]:
        return Operation(DOUBLE, f"{scalar}({{0}}, {{span}})", {scalar: guarded}, guarded)
    vector = f"_fn_{name}_elementwise"

    def elementwise(values: list[float], span: Span) -> list[float]:
        return [guarded(x, span) for x in values]

    return Operation(DOUBLE_VEC, f"{vector}({_flattened(kinds)}, {{span}})", {vector: elementwise})


def _weekday(ticks: int) -> float:
    from batchsim.formula.context import ticks_to_datetime

    return float(ticks_to_datetime(ticks).isoweekday())


def timestamp_field(name: str) -> Operation:
    """A UTC field of a timestamp (§4); `weekday` is ISO: 1 = Monday … 7 = Sunday."""
    helper = f"_fn_field_{name}"
    if name == "weekday":
        return Operation(DOUBLE, f"{helper}({{0}})", {helper: _weekday})

    def read(ticks: int) -> float:
        from batchsim.formula.context import ticks_to_datetime

        return float(getattr(ticks_to_datetime(ticks), name))

    return Operation(DOUBLE, f"{helper}({{0}})", {helper: read})
