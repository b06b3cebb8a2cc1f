"""One diagnostic type for every finding about a formula; formatters live elsewhere.

A `Diagnostic` is a value: the checker returns lists of them, never raises them. Positions are
1-based lines and columns counted in code points, a tab being one column (formula reference §2).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["Diagnostic", "Severity", "Span"]


class Severity(str, Enum):
    """How bad a finding is; only errors make `batchsim check` exit 1."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Span:
    """A source range: start line/column inclusive, end line/column exclusive, all 1-based."""

    line: int
    column: int
    end_line: int
    end_column: int
    start_offset: int = 0
    end_offset: int = 0


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A finding about a formula.

    code: the service's error code where one applies (`AutoScalingFormulaSyntaxError`,
        `AutoScalingFormulaEvaluationError`, ...), otherwise a project code (`BS101`, ...).
    message: the detail in the domain's words, without the `Line L, Col C:` prefix.
    """

    code: str
    severity: Severity
    message: str
    span: Span
