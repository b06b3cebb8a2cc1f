"""`check(text)`: every finding about a formula, never an exception (STYLE: findings are values).

Composes the stages: syntax and limits (parser), the errors the service would report at
evaluation (analysis), and the lint warnings.
"""

from __future__ import annotations

from batchsim.formula.analysis import analyze
from batchsim.formula.diagnostics import Diagnostic, Severity
from batchsim.formula.lint import lint
from batchsim.formula.parser import parse

__all__ = ["check", "has_errors"]


def check(text: str, *, strict: bool = False) -> list[Diagnostic]:
    """All diagnostics for `text`, sorted by position; syntax errors stop before analysis."""
    parsed = parse(text)
    if parsed.formula is None:
        return parsed.diagnostics
    findings = parsed.diagnostics + analyze(parsed.formula, strict=strict) + lint(parsed.formula, text)
    return sorted(findings, key=lambda d: (d.span.line, d.span.column, d.severity is not Severity.ERROR, d.code))


def has_errors(diagnostics: list[Diagnostic]) -> bool:
    """True when any finding is an error (what makes `batchsim check` exit 1)."""
    return any(d.severity is Severity.ERROR for d in diagnostics)
