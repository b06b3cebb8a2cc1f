"""What compiled formula code runs on: the run's frame, run-time failures, and time ranges.

Compiled formulas are plain Python functions (see `compiler.py`); they raise `EvaluationFailure`
at the position the service reports, and `Stop` for `stop()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from batchsim.formula.context import EvalContext
    from batchsim.formula.diagnostics import Span

__all__ = [
    "ERROR",
    "EVALUATION_CODE",
    "EVALUATION_MESSAGE",
    "INTERVAL_RANGE_DETAIL",
    "MAX_INTERVAL_TICKS",
    "MAX_TIMESTAMP_TICK",
    "MIN_INTERVAL_TICKS",
    "MIN_TIMESTAMP_TICK",
    "TIMESTAMP_RANGE_DETAIL",
    "EvaluationFailure",
    "Frame",
    "Stop",
    "checked_interval",
    "checked_timestamp",
    "fail",
    "stop",
]

EVALUATION_CODE = "AutoScalingFormulaEvaluationError"
EVALUATION_MESSAGE = "The specified auto-scaling formula has evaluation error"
ERROR = "error"  # the static type of an expression that already has an error (no cascading reports)

# The service is .NET: a timestamp is a DateTime (0001-01-01 to 9999-12-31, 100 ns ticks) and a
# timeinterval a TimeSpan (a signed 64-bit count of ticks). A result outside those ranges is an
# evaluation error at the operator (docs/formula-language.md, "Time ranges").
MIN_TIMESTAMP_TICK = -62_135_596_800 * 10_000_000  # 0001-01-01T00:00:00Z, in ticks since the Unix epoch
MAX_TIMESTAMP_TICK = 253_402_300_800 * 10_000_000 - 1  # 9999-12-31T23:59:59.9999999Z
MIN_INTERVAL_TICKS = -(2**63)
MAX_INTERVAL_TICKS = 2**63 - 1
TIMESTAMP_RANGE_DETAIL = "Timestamp out of range: results must lie between 0001-01-01 and 9999-12-31"
INTERVAL_RANGE_DETAIL = "Time interval out of range: results must lie within ±10675199 days"


class EvaluationFailure(Exception):
    """Raised inside a run; becomes the run's `AutoScaleError` (formula reference §8.2)."""

    def __init__(self, detail: str, span: Span, code: str = EVALUATION_CODE) -> None:
        super().__init__(detail)
        self.detail = detail
        self.span = span
        self.code = code


class Stop(Exception):
    """`stop()`: ends the run successfully (§6.3)."""


def fail(detail: str, span: Span, *evaluated: object) -> object:
    """Raise a static error once the operands before it (`evaluated`, already computed) have run."""
    raise EvaluationFailure(detail, span)


def stop() -> object:
    """`stop()`."""
    raise Stop


def checked_timestamp(ticks: int, span: Span) -> int:
    """`ticks` if it is a representable timestamp, otherwise the out-of-range error at `span`."""
    if MIN_TIMESTAMP_TICK <= ticks <= MAX_TIMESTAMP_TICK:
        return ticks
    raise EvaluationFailure(TIMESTAMP_RANGE_DETAIL, span)


def checked_interval(ticks: int, span: Span) -> int:
    """`ticks` if it is a representable timeinterval, otherwise the out-of-range error at `span`."""
    if MIN_INTERVAL_TICKS <= ticks <= MAX_INTERVAL_TICKS:
        return ticks
    raise EvaluationFailure(INTERVAL_RANGE_DETAIL, span)


class Frame:
    """The mutable state of one run beyond its variables: the context and the random generator
    (made only for formulas that call `rand()`)."""

    __slots__ = ("ctx", "rng")

    def __init__(self, ctx: EvalContext) -> None:
        self.ctx = ctx
        self.rng: np.random.Generator | None = ctx.rng

    def random(self) -> float:
        """`rand()`: uniform on [0, 1), from the context's generator or one seeded by the run's time."""
        if self.rng is None:
            import numpy as np

            self.rng = np.random.default_rng(self.ctx.now_tick)
        return float(self.rng.random())
