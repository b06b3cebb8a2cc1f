"""The Azure Batch autoscale formula language: parse, check, compile, evaluate.

Stages (STYLE: compile, then evaluate): text → tokens → AST → checked → compiled program →
`program.evaluate(EvalContext)` → `AutoScaleRun`. Nothing here imports the simulator.
"""

from __future__ import annotations

from batchsim.formula.context import (
    TICKS_PER_SECOND,
    AutoScaleError,
    AutoScaleRun,
    EvalContext,
    SampleSeries,
    datetime_to_ticks,
    ticks_to_datetime,
)
from batchsim.formula.diagnostics import Diagnostic, Severity, Span

__all__ = [
    "TICKS_PER_SECOND",
    "AutoScaleError",
    "AutoScaleRun",
    "Diagnostic",
    "EvalContext",
    "SampleSeries",
    "Severity",
    "Span",
    "datetime_to_ticks",
    "ticks_to_datetime",
]
