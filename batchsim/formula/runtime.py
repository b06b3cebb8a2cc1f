"""What compiled formula code runs on: the run's frame, compiled expressions, run-time failures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from batchsim.formula.context import EvalContext
from batchsim.formula.diagnostics import Span

__all__ = [
    "ERROR",
    "EVALUATION_CODE",
    "EVALUATION_MESSAGE",
    "Code",
    "Compiled",
    "EvaluationFailure",
    "Frame",
    "Stop",
    "fold",
]

EVALUATION_CODE = "AutoScalingFormulaEvaluationError"
EVALUATION_MESSAGE = "The specified auto-scaling formula has evaluation error"
ERROR = "error"  # the static type of an expression that already has an error (no cascading reports)


class EvaluationFailure(Exception):
    """Raised inside a run; becomes the run's `AutoScaleError` (formula reference §8.2)."""

    def __init__(self, detail: str, span: Span, code: str = EVALUATION_CODE) -> None:
        super().__init__(detail)
        self.detail = detail
        self.span = span
        self.code = code


class Stop(Exception):
    """`stop()`: ends the run successfully (§6.3)."""


class Frame:
    """The mutable state of one run: the context, the variable slots and the random generator."""

    __slots__ = ("assigned", "ctx", "dealloc", "rng", "targets", "user", "windows")

    def __init__(self, ctx: EvalContext) -> None:
        self.ctx = ctx
        # Full names and aliases are separate slots, each starting at the current target (§5.1).
        self.targets = {
            "$TargetDedicatedNodes": ctx.target_dedicated_nodes,
            "$TargetLowPriorityNodes": ctx.target_low_priority_nodes,
            "$TargetDedicated": ctx.target_dedicated_nodes,
            "$TargetLowPriority": ctx.target_low_priority_nodes,
        }
        self.assigned: set[str] = set()
        self.dealloc = "requeue"  # reset each run (§5.1)
        self.user: dict[str, tuple[str, Any]] = {}
        self.rng: np.random.Generator | None = ctx.rng
        # Sample windows read in this run, by (metric, earlier, later): a guarded formula asks
        # GetSamplePercent and GetSample of the same window, and the context does not change.
        self.windows: dict[tuple[str, int, int], tuple[list[float], float]] = {}

    def random(self) -> float:
        """`rand()`: uniform on [0, 1), from the context's generator or one seeded by the run's time."""
        if self.rng is None:
            self.rng = np.random.default_rng(self.ctx.now_tick)
        return float(self.rng.random())


Code = Callable[[Frame], Any]


@dataclass(slots=True)
class Compiled:
    """A compiled expression: its static type, the closure computing its value, and whether that
    value is a compile-time constant (then `code` ignores its frame and constant folding applies)."""

    kind: str
    code: Code
    const: bool = False


def fold(compiled: Compiled, *children: Compiled) -> Compiled:
    """Constant folding: an operation on constants is computed once, at compile time, unless it
    fails (a failure must still happen at evaluation, at its position, as the service reports it)."""
    if not children or not all(child.const for child in children):
        return compiled
    try:
        value = compiled.code(None)  # type: ignore[arg-type]
    except EvaluationFailure:
        return compiled
    return Compiled(compiled.kind, lambda frame: value, const=True)
