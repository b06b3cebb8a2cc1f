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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from batchsim.formula.checker import check
    from batchsim.formula.compiler import FormulaError, Program, compile
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
    from batchsim.formula.parser import ParseResult, parse
    from batchsim.formula.printer import print_formula

# Everything is imported on first use, so that `import batchsim` stays light and `batchsim check`
# loads neither the evaluator nor the context types.
_LAZY = {
    "TICKS_PER_SECOND": "batchsim.formula.context",
    "AutoScaleError": "batchsim.formula.context",
    "AutoScaleRun": "batchsim.formula.context",
    "EvalContext": "batchsim.formula.context",
    "SampleSeries": "batchsim.formula.context",
    "datetime_to_ticks": "batchsim.formula.context",
    "ticks_to_datetime": "batchsim.formula.context",
    "Diagnostic": "batchsim.formula.diagnostics",
    "Severity": "batchsim.formula.diagnostics",
    "Span": "batchsim.formula.diagnostics",
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
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
