"""The syntax tree of a formula: frozen dataclasses, each node with its source span.

This module is the contract between the parser (text → AST), the printer (AST → text), the
checker and linter (AST → diagnostics) and the compiler (AST → program). Nodes carry the spans
the service's error positions need: a name's first character (`Undefined symbol`), the `(` that
opens a call (`Insufficient data from data set`, arity errors), the operator of an operation
(type mismatches, division by zero), the `?` of a conditional (formula reference §8.3).

Parentheses are not nodes: the printer re-inserts them from precedence, so that printing then
parsing gives the same tree (compare with `same_tree`, which ignores spans).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TypeAlias

from batchsim.formula.diagnostics import Span

__all__ = [
    "Assignment",
    "Binary",
    "Call",
    "Conditional",
    "DeallocKeyword",
    "Expr",
    "ExprStatement",
    "Field",
    "Formula",
    "MethodCall",
    "Name",
    "Node",
    "Number",
    "Statement",
    "String",
    "TimeConstant",
    "Unary",
    "same_tree",
]


@dataclass(frozen=True, slots=True)
class Number:
    """A numeric literal. `text` is the literal as written (`600.0`), `value` its nearest double."""

    value: float
    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class String:
    """A string literal; `value` excludes the quotes (there are no escapes)."""

    value: str
    span: Span


@dataclass(frozen=True, slots=True)
class TimeConstant:
    """A `TimeInterval_*` constant, by its full name (`TimeInterval_Minute`)."""

    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class DeallocKeyword:
    """A bare deallocation keyword: `requeue`, `terminate`, `taskcompletion`, `retaineddata`."""

    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class Name:
    """A variable reference, service or user, with its `$` when written (`$PendingTasks`, `x`)."""

    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class Call:
    """A function call `name(args)`.

    name_span: the function name; lparen_span: the `(` (where arity errors point).
    """

    name: str
    args: tuple[Expr, ...]
    span: Span
    name_span: Span
    lparen_span: Span


@dataclass(frozen=True, slots=True)
class Field:
    """A timestamp field read `target.name` (`time().hour`); name_span: the field name."""

    target: Expr
    name: str
    span: Span
    name_span: Span


@dataclass(frozen=True, slots=True)
class MethodCall:
    """A sample method call `target.Name(args)` (`$PendingTasks.GetSample(1)`).

    name_span: the method name; lparen_span: the `(` (where `InsufficientSampleData` points).
    """

    target: Expr
    name: str
    args: tuple[Expr, ...]
    span: Span
    name_span: Span
    lparen_span: Span


@dataclass(frozen=True, slots=True)
class Unary:
    """`-operand` or `!operand`; op_span: the operator."""

    op: str
    operand: Expr
    span: Span
    op_span: Span


@dataclass(frozen=True, slots=True)
class Binary:
    """`left op right` for `+ - * / < <= == >= > != && ||`; op_span: the operator."""

    op: str
    left: Expr
    right: Expr
    span: Span
    op_span: Span


@dataclass(frozen=True, slots=True)
class Conditional:
    """`condition ? then : otherwise`; question_span: the `?`."""

    condition: Expr
    then: Expr
    otherwise: Expr
    span: Span
    question_span: Span


Expr: TypeAlias = (
    Number | String | TimeConstant | DeallocKeyword | Name | Call | Field | MethodCall | Unary | Binary | Conditional
)


@dataclass(frozen=True, slots=True)
class Assignment:
    """`target = value`; target_span: the assigned name (as written, `$` included)."""

    target: str
    value: Expr
    span: Span
    target_span: Span


@dataclass(frozen=True, slots=True)
class ExprStatement:
    """A statement that is only an expression; its value is discarded (reference §3.1)."""

    expr: Expr
    span: Span


Statement: TypeAlias = Assignment | ExprStatement


@dataclass(frozen=True, slots=True)
class Formula:
    """A whole formula: its non-empty statements in order.

    empty_statements: spans of the `;` that end an empty statement (`;;`), for the linter.
    """

    statements: tuple[Statement, ...]
    span: Span
    empty_statements: tuple[Span, ...] = ()


Node: TypeAlias = Expr | Statement | Formula


def same_tree(a: object, b: object) -> bool:
    """Structural equality of two trees, ignoring spans and literal spellings (`Number.text`)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, tuple):
        assert isinstance(b, tuple)
        return len(a) == len(b) and all(same_tree(x, y) for x, y in zip(a, b, strict=True))
    if not hasattr(a, "__dataclass_fields__"):
        return a == b
    for f in fields(a):  # type: ignore[arg-type]
        if f.name.endswith("span") or f.name in ("empty_statements", "text"):
            continue
        if not same_tree(getattr(a, f.name), getattr(b, f.name)):
            return False
    return True
