"""Sample methods on sampled variables (formula reference §6.4–6.5).

A window is the half-open interval (earlier, later] between two bounds given in either order; a
bound is a timeinterval d (meaning now − d) or a timestamp. A sample counts as available when it
is visible at `now` (taken at least the lag before) and not missing. The percentage is
100 × available ÷ (window ÷ sample period), capped at 100; a windowed `GetSample` fails below the
required percentage (70 when omitted, §6.5).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from batchsim.formula import ast
from batchsim.formula.context import TICKS_PER_SECOND, SampleSeries
from batchsim.formula.runtime import ERROR, Compiled, EvaluationFailure, Frame
from batchsim.formula.values import DOUBLE, DOUBLE_VEC, SAMPLE, TIMEINTERVAL, TIMESTAMP, format_double

if TYPE_CHECKING:
    from batchsim.formula.compiler import _Compiler

__all__ = ["DEFAULT_REQUIRED_PERCENT", "INSUFFICIENT_CODE", "INSUFFICIENT_MESSAGE", "compile_method", "latest"]

INSUFFICIENT_CODE = "InsufficientSampleData"
INSUFFICIENT_MESSAGE = "Autoscale evaluation failed due to insufficient sample data"
DEFAULT_REQUIRED_PERCENT = 70.0  # §6.5, derived from R11
DEFAULT_PERIOD_TICKS = 30 * TICKS_PER_SECOND
_BOUNDS = (TIMEINTERVAL, TIMESTAMP)


def _series(frame: Frame, name: str) -> SampleSeries | None:
    return frame.ctx.samples.get(name)


def _available(series: SampleSeries | None, now: int) -> list[tuple[int, float]]:
    """(tick, value) of every visible, present sample, oldest first (for the rarely used methods)."""
    if series is None:
        return []
    values = series.values
    count = series.visible_count(now)
    first, step = series.first_tick, series.interval_ticks
    return [(first + i * step, v) for i, v in enumerate(values[:count]) if not math.isnan(v)]


def _last_present(series: SampleSeries | None, now: int, n: int) -> list[float]:
    """The newest `n` visible, present samples, oldest first, scanning back from the newest."""
    if series is None or n <= 0:
        return []
    values = series.values
    found: list[float] = []
    i = series.visible_count(now) - 1
    while i >= 0 and len(found) < n:
        v = values[i]
        if v == v:  # not NaN
            found.append(v)
        i -= 1
    found.reverse()
    return found


def latest(frame: Frame, name: str) -> float:
    """The newest available sample, or 0 with none (the §5.2 compatibility switch)."""
    samples = _last_present(_series(frame, name), frame.ctx.now_tick, 1)
    return samples[-1] if samples else 0.0


def _instant(kind: str, value: int, now: int) -> int:
    return now - value if kind == TIMEINTERVAL else value


def _window(frame: Frame, name: str, a: int, b: int) -> tuple[list[float], float]:
    """Values in (earlier, later] and the available percentage of the window's possible samples.

    Samples sit on a regular grid, so the window is an index range: no scan of the history.
    """
    earlier, later = (a, b) if a <= b else (b, a)
    key = (name, earlier, later)
    seen = frame.windows.get(key)
    if seen is not None:
        return seen
    series = _series(frame, name)
    period = series.interval_ticks if series is not None else DEFAULT_PERIOD_TICKS
    values: list[float] = []
    if series is not None:
        first = series.first_tick
        low = max((earlier - first) // period + 1, 0)
        high = min((later - first) // period, series.visible_count(frame.ctx.now_tick) - 1)
        if high >= low:
            values = [v for v in series.values[low : high + 1] if v == v]
    possible = (later - earlier) / period
    percent = 100.0 if possible <= 0 else min(100.0, 100.0 * len(values) / possible)
    frame.windows[key] = (values, percent)
    return values, percent


def compile_method(compiler: _Compiler, node: ast.MethodCall) -> Compiled:
    """Resolve a sample method call's form at compile time (§6.4)."""
    if isinstance(node.target, ast.Name):
        target = compiler.name(node.target, as_sample=True)
    else:
        target = compiler.expr(node.target)
    args = [compiler.expr(a) for a in node.args]
    if not compiler.method_known(node.name):
        return compiler.fail(f"Unknown method: {node.name}", node.name_span, target, *args)
    if target.kind == ERROR or any(a.kind == ERROR for a in args):
        return compiler.fail_quietly(target, *args)
    if target.kind != SAMPLE:
        detail = f"Type mismatch: method {node.name} needs a sampled variable, not {target.kind}"
        return compiler.fail(detail, node.name_span, target, *args)
    assert isinstance(node.target, ast.Name)
    metric = node.target.name
    kinds = [a.kind for a in args]
    codes = [a.code for a in args]
    span = node.lparen_span

    def arity() -> Compiled:
        return compiler.fail(f"Wrong number of arguments to {node.name}", span, *args)

    def mismatch(k: int, wanted: str) -> Compiled:
        detail = f"Type mismatch: argument {k} of {node.name} must be {wanted}"
        return compiler.fail(detail, node.args[k - 1].span, *args)

    if node.name in ("GetSamplePeriod", "Count", "HistoryBeginTime"):
        if args:
            return arity()
        return _no_argument(node.name, metric)
    if node.name == "GetSamplePercent":
        if len(args) not in (1, 2):
            return arity()
        for k, kind in enumerate(kinds, 1):
            if kind not in _BOUNDS:
                return mismatch(k, "timeinterval or timestamp")
        return Compiled(DOUBLE, _percent_code(metric, kinds, codes))
    # GetSample
    if not 1 <= len(args) <= 3:
        return arity()
    if kinds == [DOUBLE]:
        count_code = codes[0]

        def run_count(frame: Frame) -> list[float]:
            count = count_code(frame)
            n = math.trunc(count) if math.isfinite(count) else 0
            return _last_present(_series(frame, metric), frame.ctx.now_tick, n)

        return Compiled(DOUBLE_VEC, run_count)
    if kinds[0] not in _BOUNDS:
        return mismatch(1, "double, timeinterval or timestamp")
    bounds = 2 if len(args) >= 2 and kinds[1] in _BOUNDS else 1
    if len(args) == 3 and bounds == 1:
        return mismatch(2, "timeinterval or timestamp")
    if len(args) > bounds and kinds[bounds] != DOUBLE:
        return mismatch(bounds + 1, "double")
    return Compiled(DOUBLE_VEC, _window_code(metric, kinds[:bounds], codes[:bounds], codes[bounds:], span))


def _resolve_bounds(frame: Frame, kinds: list[str], codes: list[Any]) -> tuple[int, int]:
    now = frame.ctx.now_tick
    a = _instant(kinds[0], codes[0](frame), now)
    b = _instant(kinds[1], codes[1](frame), now) if len(kinds) == 2 else now
    return a, b


def _percent_code(metric: str, kinds: list[str], codes: list[Any]) -> Any:
    def run(frame: Frame) -> float:
        a, b = _resolve_bounds(frame, kinds, codes)
        return _window(frame, metric, a, b)[1]

    return run


def _window_code(metric: str, kinds: list[str], codes: list[Any], pct_code: list[Any], span: Any) -> Any:
    def run(frame: Frame) -> list[float]:
        a, b = _resolve_bounds(frame, kinds, codes)
        required = pct_code[0](frame) if pct_code else DEFAULT_REQUIRED_PERCENT
        values, percent = _window(frame, metric, a, b)
        if percent < required:
            detail = (
                f"Insufficient data from data set: {metric} wanted {format_double(required)}%, "
                f"received {format_double(percent)}%"
            )
            raise EvaluationFailure(detail, span, INSUFFICIENT_CODE)
        return values

    return run


def _no_argument(method: str, metric: str) -> Compiled:
    if method == "GetSamplePeriod":

        def period(frame: Frame) -> int:
            series = _series(frame, metric)
            return series.interval_ticks if series is not None else DEFAULT_PERIOD_TICKS

        return Compiled(TIMEINTERVAL, period)
    if method == "Count":
        return Compiled(DOUBLE, lambda frame: float(len(_available(_series(frame, metric), frame.ctx.now_tick))))

    def begin(frame: Frame) -> int:
        samples = _available(_series(frame, metric), frame.ctx.now_tick)
        return samples[0][0] if samples else frame.ctx.now_tick

    return Compiled(TIMESTAMP, begin)
