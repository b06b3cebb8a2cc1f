"""`check`'s findings as LSP diagnostics: the same codes, messages and ranges, 0-based, in the
client's code units.

`findings` is the server's boundary around the checker: whatever the text, it returns diagnostics.
A checker failure (a `RecursionError` on a formula nested deeper than Python's stack, or any bug)
becomes an error diagnostic at the start of the text instead of a dead server.
"""

from __future__ import annotations

from lsprotocol import types

from batchsim.formula.checker import check
from batchsim.formula.diagnostics import Diagnostic, Severity, Span
from batchsim.lsp.positions import LineTable

__all__ = ["INTERNAL_CODE", "SOURCE", "findings", "to_lsp"]

SOURCE = "batchsim"
INTERNAL_CODE = "BS900"
_START = Span(1, 1, 1, 2, 0, 1)
_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
}
# Lint rules whose finding editors can show as faded or struck-through text.
_TAGS = {
    "BS107": [types.DiagnosticTag.Deprecated],
    "BS109": [types.DiagnosticTag.Unnecessary],
    "BS111": [types.DiagnosticTag.Unnecessary],
}


def findings(text: str, *, strict: bool = False) -> list[Diagnostic]:
    """`batchsim.formula.check(text)`, or one diagnostic saying why the checker could not run."""
    try:
        return check(text, strict=strict)
    except RecursionError:
        message = (
            "the formula is nested too deeply for the checker (Python's recursion limit); batchsim check fails too"
        )
    except Exception as exc:  # the server must outlive any checker bug
        message = f"the checker failed on this text ({type(exc).__name__}: {exc}); please report it"
    return [Diagnostic(INTERNAL_CODE, Severity.ERROR, message, _START)]


def to_lsp(diagnostic: Diagnostic, lines: LineTable) -> types.Diagnostic:
    return types.Diagnostic(
        range=lines.range(diagnostic.span),
        message=diagnostic.message,
        severity=_SEVERITY[diagnostic.severity],
        code=diagnostic.code,
        source=SOURCE,
        tags=_TAGS.get(diagnostic.code),
    )
