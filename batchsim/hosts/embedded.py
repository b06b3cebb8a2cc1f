"""A formula cut out of a host file, with the host offset of every one of its characters.

Every host format encodes the formula differently (heredoc indentation, backslash escapes, JSON
`\\u0041`, YAML block indentation), so each decoder builds the formula one piece at a time and
records where each piece came from; a diagnostic's formula position then maps back to the host
file's own line and column through that table, whatever the escapes were.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from batchsim.formula.diagnostics import Diagnostic, Span

__all__ = [
    "PLACEHOLDER",
    "Builder",
    "EmbeddedFormula",
    "HostProblem",
    "Interpolation",
    "closing_brace",
    "host_span",
    "line_starts",
    "offsets_span",
    "relocate",
]

# What an interpolation stands for when no --var gives it a value: a number keeps the expression
# around it well formed wherever a formula can hold a count, a threshold or a multiplier.
PLACEHOLDER = "1"


@dataclass(frozen=True, slots=True)
class Interpolation:
    """`${expression}` in the host text, at [start, end) of the host file."""

    expression: str
    start: int
    end: int
    given: bool  # True when --var supplied its value
    directive: bool = False  # `%{ if ... }`: no value, left out of the formula

    def __str__(self) -> str:
        return f"{'%' if self.directive else '$'}{{{self.expression}}}"


@dataclass(frozen=True, slots=True)
class EmbeddedFormula:
    """One formula found in a host file.

    resource: the pool resource it belongs to (`azurerm_batch_pool.render`, a Bicep symbol, an ARM name).
    origins: for each character of `text`, the [start, end) range of host offsets it was decoded from;
        `end_offset` is the host offset just after the formula's last character.
    """

    resource: str
    text: str
    origins: tuple[tuple[int, int], ...]
    end_offset: int
    interpolations: tuple[Interpolation, ...] = ()


@dataclass(slots=True)
class Builder:
    """Accumulates decoded characters and their host ranges."""

    variables: Mapping[str, str]
    chars: list[str] = field(default_factory=list)
    origins: list[tuple[int, int]] = field(default_factory=list)
    interpolations: list[Interpolation] = field(default_factory=list)

    def literal(self, host: str, start: int, end: int) -> None:
        """Host text copied as it is: character i comes from offset start + i."""
        for i in range(start, end):
            self.chars.append(host[i])
            self.origins.append((i, i + 1))

    def decoded(self, text: str, start: int, end: int) -> None:
        """`text` decoded from the host range [start, end) (an escape, a folded line break)."""
        for char in text:
            self.chars.append(char)
            self.origins.append((start, end))

    def interpolation(self, expression: str, start: int, end: int) -> None:
        """`${expression}`: the --var value when given, else the placeholder number."""
        name = expression.strip()
        value = self.variables.get(name)
        if value is None:
            for prefix in ("var.", "local.", "parameters('", "variables('"):
                if name.startswith(prefix):
                    value = self.variables.get(name[len(prefix) :].rstrip("')"))
                    break
        self.interpolations.append(Interpolation(name, start, end, value is not None))
        self.decoded(PLACEHOLDER if value is None else value, start, end)

    def directive(self, expression: str, start: int, end: int) -> None:
        """`%{ if ... }` and its kin: no value, so nothing of it reaches the formula."""
        self.interpolations.append(Interpolation(expression.strip(), start, end, False, directive=True))

    def build(self, resource: str, end_offset: int) -> EmbeddedFormula:
        return EmbeddedFormula(
            resource, "".join(self.chars), tuple(self.origins), end_offset, tuple(self.interpolations)
        )


class HostProblem(Exception):
    """The host file cannot be read as its format (broken HCL, JSON or YAML), at a host offset."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


def closing_brace(host: str, start: int, limit: int) -> int:
    """The offset just after the `}` that closes the `{` at `start`; quoted strings inside are skipped.

    An interpolation holds an expression of the host language (`${var.x}`, `${format("%d", n)}`),
    which can itself hold braces and strings: counting depth outside strings finds its end.
    """
    depth, i = 0, start
    while i < limit:
        char = host[i]
        if char in "\"'":
            quote, i = char, i + 1
            while i < limit and host[i] != quote:
                i += 2 if host[i] == "\\" else 1
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise HostProblem("unterminated interpolation: no closing '}'", start)


def line_starts(text: str) -> list[int]:
    """Offsets at which each line starts, a line ending at `\\n`, `\\r\\n` or a lone `\\r` (as the parser counts)."""
    return [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]


def _position(starts: list[int], offset: int) -> tuple[int, int]:
    from bisect import bisect_right

    line = bisect_right(starts, offset)
    return line, offset - starts[line - 1] + 1


def offsets_span(host_starts: list[int], start: int, end: int) -> Span:
    """The host range [start, end) as lines and columns."""
    line, column = _position(host_starts, start)
    end_line, end_column = _position(host_starts, max(end, start + 1))
    return Span(line, column, end_line, end_column, start, max(end, start + 1))


def host_span(formula: EmbeddedFormula, host_starts: list[int], span: Span) -> Span:
    """`span` (in the formula's own lines and columns) as a range of the host file."""
    starts = line_starts(formula.text)

    def offset(line: int, column: int) -> int:
        line = min(max(line, 1), len(starts))
        return min(starts[line - 1] + column - 1, len(formula.text))

    first = offset(span.line, span.column)
    last = max(offset(span.end_line, span.end_column), first + 1)
    if first >= len(formula.origins):
        start = end = formula.end_offset
    else:
        start = formula.origins[first][0]
        end = formula.origins[min(last, len(formula.origins)) - 1][1]
    return offsets_span(host_starts, start, end)


def relocate(formula: EmbeddedFormula, host_starts: list[int], diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """The diagnostics of `formula`, at the host file's lines and columns."""
    return [Diagnostic(d.code, d.severity, d.message, host_span(formula, host_starts, d.span)) for d in diagnostics]
