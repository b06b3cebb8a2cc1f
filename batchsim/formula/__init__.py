"""The Azure Batch autoscale formula language: parse, check, compile, evaluate.

Stages (STYLE: compile, then evaluate): text → tokens → AST → checked → compiled program →
`program.evaluate(EvalContext)` → `AutoScaleRun`. Nothing here imports the simulator.

    parse(text) -> ParseResult             (parser.py: never raises; .formula, .diagnostics)
    print_formula(node) -> str             (printer.py)
    check(text) -> list[Diagnostic]        (checker.py: never raises on bad input)
    compile(text) -> Program               (compiler.py: raises FormulaError with diagnostics)
    Program.evaluate(EvalContext) -> AutoScaleRun
"""

from __future__ import annotations

import importlib
from typing import Any

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

# Stage entry points, imported on first use so that `import batchsim` stays light.
_LAZY = {
    "parse": "batchsim.formula.parser",
    "ParseResult": "batchsim.formula.parser",
    "print_formula": "batchsim.formula.printer",
    "check": "batchsim.formula.checker",
    "compile": "batchsim.formula.compiler",
    "Program": "batchsim.formula.compiler",
    "FormulaError": "batchsim.formula.compiler",
}

__all__ = [
    "TICKS_PER_SECOND",
    "AutoScaleError",
    "AutoScaleRun",
    "Diagnostic",
    "EvalContext",
    "FormulaError",
    "ParseResult",
    "Program",
    "SampleSeries",
    "Severity",
    "Span",
    "check",
    "compile",
    "datetime_to_ticks",
    "parse",
    "print_formula",
    "ticks_to_datetime",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
