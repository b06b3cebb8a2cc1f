"""Sample methods on sampled variables (formula reference §6.4–6.5).

A window is the half-open interval (earlier, later] between two bounds given in either order; a
bound is a timeinterval d (meaning now − d) or a timestamp. A sample counts as available when it
is visible at `now` (taken at least the lag before) and not missing. The percentage is
100 × available ÷ (window ÷ sample period), capped at 100; a windowed `GetSample` fails below the
required percentage (70 when omitted, §6.5).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from batchsim.formula.operation import Operation, Problem
from batchsim.formula.runtime import EvaluationFailure
from batchsim.formula.symbols import SAMPLE_METHODS
from batchsim.formula.values import DOUBLE, DOUBLE_VEC, TIMEINTERVAL, TIMESTAMP, format_double

if TYPE_CHECKING:
    from batchsim.formula.context import EvalContext, SampleSeries
    from batchsim.formula.diagnostics import Span

__all__ = [
    "DEFAULT_REQUIRED_PERCENT",
    "INSUFFICIENT_CODE",
    "INSUFFICIENT_MESSAGE",
    "checked",
    "checked_avg",
    "known",
    "latest",
    "method",
    "recent",
    "window",
]

INSUFFICIENT_CODE = "InsufficientSampleData"
INSUFFICIENT_MESSAGE = "Autoscale evaluation failed due to insufficient sample data"
DEFAULT_REQUIRED_PERCENT = 70.0  # §6.5, derived from R11
DEFAULT_PERIOD_TICKS = 30 * 10_000_000  # 30 s in 100 ns ticks (§6.5)
_BOUNDS = (TIMEINTERVAL, TIMESTAMP)


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


def latest(ctx: EvalContext, name: str) -> float:
    """The newest available sample, or 0 with none (the §5.2 compatibility switch)."""
    samples = _last_present(ctx.samples.get(name), ctx.now_tick, 1)
    return samples[-1] if samples else 0.0


def window(ctx: EvalContext, name: str, a: int, b: int) -> tuple[list[float], float, float]:
    """Values in (earlier, later], the available percentage of the window's possible samples, and
    the sum of the values (`sum(values)`, which `avg` of the window reuses).

    Samples sit on a regular grid, so the window is an index range: no scan of the history. (The
    hot path of every guarded formula: written out, without helper calls.)
    """
    if a <= b:
        earlier, later = a, b
    else:
        earlier, later = b, a
    series = ctx.samples.get(name)
    if series is None:
        possible = (later - earlier) / DEFAULT_PERIOD_TICKS
        return [], 100.0 if possible <= 0 else 0.0, 0.0
    period = series.interval_ticks
    first = series.first_tick
    low = (earlier - first) // period + 1
    if low < 0:
        low = 0
    # the newest visible sample (SampleSeries.visible_count − 1, inlined)
    newest = (ctx.now_tick - series.lag_ticks - first) // period
    count = len(series.values)
    if newest >= count:
        newest = count - 1
    high = (later - first) // period
    if high > newest:
        high = newest
    values: list[float] = []
    total = 0.0
    if high >= low:
        chunk = series.values[low : high + 1]
        values = chunk if type(chunk) is list else list(chunk)
        total = sum(values)
        if total != total:  # a NaN among them (or +inf and -inf): drop the missing samples
            values = [v for v in values if v == v]
            total = sum(values)
    possible = (later - earlier) / period
    if possible <= 0:
        return values, 100.0, total
    percent = 100.0 * len(values) / possible
    return values, 100.0 if percent > 100.0 else percent, total


def recent(ctx: EvalContext, name: str, span_ticks: int) -> tuple[list[float], float, float]:
    """`window(ctx, name, ctx.now_tick - span_ticks, ctx.now_tick)` for `span_ticks` >= 0, the
    window ending now that nearly every formula reads, with the same arithmetic on fewer (large)
    integers: every edge is an offset from `now - first` (tests/formula/test_fast_path.py)."""
    series = ctx.samples.get(name)
    if series is None:
        return [], 100.0 if span_ticks <= 0 else 0.0, 0.0
    period = series.interval_ticks
    offset = ctx.now_tick - series.first_tick  # later − first; earlier − first is offset − span
    low = (offset - span_ticks) // period + 1
    if low < 0:
        low = 0
    newest = (offset - series.lag_ticks) // period
    count = len(series.values)
    if newest >= count:
        newest = count - 1
    high = offset // period
    if high > newest:
        high = newest
    values: list[float] = []
    total = 0.0
    if high >= low:
        chunk = series.values[low : high + 1]
        values = chunk if type(chunk) is list else list(chunk)
        total = sum(values)
        if total != total:  # a NaN among them (or +inf and -inf): drop the missing samples
            values = [v for v in values if v == v]
            total = sum(values)
    possible = span_ticks / period
    if possible <= 0:
        return values, 100.0, total
    percent = 100.0 * len(values) / possible
    return values, 100.0 if percent > 100.0 else percent, total


_Window = tuple[list[float], float, float]  # what `window` returns
_Windows = dict[tuple[str, int, int], _Window]  # (metric, earlier, later) → window


def known(name: str) -> bool:
    """Whether `name` is a sample method (§6.4)."""
    return name in SAMPLE_METHODS


def method(name: str, metric: str, kinds: Sequence[str]) -> Operation | Problem:
    """Resolve `metric.name(args)` from the arguments' static types (§6.4); `metric` is sampled."""
    arity = Problem(f"Wrong number of arguments to {name}", "lparen")

    def mismatch(k: int, wanted: str) -> Problem:
        return Problem(f"Type mismatch: argument {k} of {name} must be {wanted}", k)

    quoted = repr(metric)
    if name in ("GetSamplePeriod", "Count", "HistoryBeginTime"):
        if kinds:
            return arity
        kind, helper, function = _NO_ARGUMENT[name]
        return Operation(kind, f"{helper}(ctx, {quoted})", {helper: function})
    if name == "GetSamplePercent":
        if len(kinds) not in (1, 2):
            return arity
        for k, kind in enumerate(kinds, 1):
            if kind not in _BOUNDS:
                return mismatch(k, "timeinterval or timestamp")
        instants = ", ".join(_bound(kind, k) for k, kind in enumerate(kinds))
        if len(kinds) == 1:
            instants += ", ctx.now_tick"
        return Operation(DOUBLE, f"_sm_percent(windows, ctx, {quoted}, {instants})", {"_sm_percent": _percent})
    # GetSample
    if not 1 <= len(kinds) <= 3:
        return arity
    if list(kinds) == [DOUBLE]:
        return Operation(DOUBLE_VEC, f"_sm_last(ctx, {quoted}, {{0}})", {"_sm_last": _last})
    if kinds[0] not in _BOUNDS:
        return mismatch(1, "double, timeinterval or timestamp")
    bounds = 2 if len(kinds) >= 2 and kinds[1] in _BOUNDS else 1
    if len(kinds) == 3 and bounds == 1:
        return mismatch(2, "timeinterval or timestamp")
    if len(kinds) > bounds and kinds[bounds] != DOUBLE:
        return mismatch(bounds + 1, "double")
    edges = ", ".join(_bound(kind, k) for k, kind in enumerate(kinds[:bounds]))
    if bounds == 1:
        edges += ", ctx.now_tick"
    required = f"{{{bounds}}}" if len(kinds) > bounds else repr(DEFAULT_REQUIRED_PERCENT)
    template = f"_sm_window(windows, ctx, {quoted}, {edges}, {required}, {{span}})"
    return Operation(DOUBLE_VEC, template, {"_sm_window": _window_values})


def _bound(kind: str, k: int) -> str:
    """A bound as an instant: a timeinterval d means now − d (§6.4)."""
    return f"ctx.now_tick - {{{k}}}" if kind == TIMEINTERVAL else f"{{{k}}}"


def _last(ctx: EvalContext, metric: str, count: float) -> list[float]:
    n = math.trunc(count) if math.isfinite(count) else 0
    return _last_present(ctx.samples.get(metric), ctx.now_tick, n)


# A window is read once per run: a guarded formula asks GetSamplePercent and GetSample of the same
# window, and `windows` (the run's, made by the compiled function) remembers it. Written out in
# both methods, without a helper call: they are the hot path of every guarded formula.


def _percent(windows: _Windows, ctx: EvalContext, metric: str, a: int, b: int) -> float:
    key = (metric, a, b) if a <= b else (metric, b, a)
    seen = windows.get(key)
    if seen is None:
        seen = windows[key] = window(ctx, metric, a, b)
    return seen[1]


def _window_values(
    windows: _Windows, ctx: EvalContext, metric: str, a: int, b: int, required: float, span: Span
) -> list[float]:
    key = (metric, a, b) if a <= b else (metric, b, a)
    seen = windows.get(key)
    if seen is None:
        seen = windows[key] = window(ctx, metric, a, b)
    return checked(seen, metric, required, span)


def checked(window: _Window, metric: str, required: float, span: Span) -> list[float]:
    """A window's values, or the insufficient-data failure when its percentage is below `required`."""
    percent = window[1]
    if percent < required:
        _insufficient(metric, required, percent, span)
    return window[0]


def checked_avg(window: _Window, metric: str, required: float, span: Span, avg_span: Span) -> float:
    """`avg(checked(...))` in one call, from the window's sum: the same failures in the same order
    (insufficient data at the method, then an empty set at `avg`), the same quotient."""
    values, percent, total = window
    if percent < required:
        _insufficient(metric, required, percent, span)
    if not values:
        raise EvaluationFailure("Empty data set in avg", avg_span)
    return total / len(values)


def _insufficient(metric: str, required: float, percent: float, span: Span) -> None:
    detail = (
        f"Insufficient data from data set: {metric} wanted {format_double(required)}%, "
        f"received {format_double(percent)}%"
    )
    raise EvaluationFailure(detail, span, INSUFFICIENT_CODE)


def _period(ctx: EvalContext, metric: str) -> int:
    series = ctx.samples.get(metric)
    return series.interval_ticks if series is not None else DEFAULT_PERIOD_TICKS


def _count(ctx: EvalContext, metric: str) -> float:
    return float(len(_available(ctx.samples.get(metric), ctx.now_tick)))


def _begin(ctx: EvalContext, metric: str) -> int:
    samples = _available(ctx.samples.get(metric), ctx.now_tick)
    return samples[0][0] if samples else ctx.now_tick


_NO_ARGUMENT: dict[str, tuple[str, str, Callable[[EvalContext, str], Any]]] = {
    "GetSamplePeriod": (TIMEINTERVAL, "_sm_period", _period),
    "Count": (DOUBLE, "_sm_count", _count),
    "HistoryBeginTime": (TIMESTAMP, "_sm_begin", _begin),
}
