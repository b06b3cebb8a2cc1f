"""Static analysis: the errors the service would report at evaluation, found without running.

Every expression has a static type (formula reference §6.2), so undefined symbols, unknown
functions, arity and type errors, assignments to read-only variables and invalid
`$NodeDeallocationOption` values are all known at compile time. The compiler's lowering pass
finds them; this module is the checker's view of that (no code is generated).
"""

from __future__ import annotations

from batchsim.formula import ast
from batchsim.formula.diagnostics import Diagnostic
from batchsim.formula.lowering import lower

__all__ = ["analyze"]


def analyze(formula: ast.Formula, *, strict: bool = False) -> list[Diagnostic]:
    """Static errors of a parsed formula, in source order (code `AutoScalingFormulaEvaluationError`)."""
    diagnostics = lower(formula, strict=strict).diagnostics
    return sorted(diagnostics, key=lambda d: (d.span.start_offset, d.span.line, d.span.column))
