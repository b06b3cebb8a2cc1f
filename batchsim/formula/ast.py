"""The syntax tree of a formula: frozen dataclasses, each node with its source span.

This module is the contract between the parser (text → AST), the printer (AST → text), the
checker and linter (AST → diagnostics) and the compiler (AST → program). Nodes carry the spans
the service's error positions need: a name's first character (`Undefined symbol`), the `(` that
opens a call (`Insufficient data from data set`, arity errors), the operator of an operation
(type mismatches, division by zero), the `?` of a conditional (formula reference §8.3).

Parentheses are not nodes: the printer re-inserts them from precedence, so that printing then
parsing gives the same tree (compare with `same_tree`, which ignores spans).

Trees can be thousands of levels deep (a formula of 8,192 characters can nest 4,000 unary minuses
or chain 4,000 additions), deeper than Python's recursion limit. So nothing here recurses: `walk`
and `children` traverse with explicit stacks, and nodes compare, hash and print (`==`, `hash`,
`repr`) iteratively instead of with the dataclass-generated methods, which recurse.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any, TypeAlias

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
    "children",
    "same_tree",
    "walk",
]


class _Node:
    """Iterative `==`, `hash` and `repr` for every node (the generated ones recurse on depth)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return _equal(self, other, spans=True)

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return _hash(self)

    def __repr__(self) -> str:
        return _repr(self)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Number(_Node):
    """A numeric literal. `text` is the literal as written (`600.0`), `value` its nearest double."""

    value: float
    text: str
    span: Span


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class String(_Node):
    """A string literal; `value` excludes the quotes (there are no escapes)."""

    value: str
    span: Span


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TimeConstant(_Node):
    """A `TimeInterval_*` constant, by its full name (`TimeInterval_Minute`)."""

    name: str
    span: Span


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class DeallocKeyword(_Node):
    """A bare deallocation keyword: `requeue`, `terminate`, `taskcompletion`, `retaineddata`."""

    name: str
    span: Span


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Name(_Node):
    """A variable reference, service or user, with its `$` when written (`$PendingTasks`, `x`)."""

    name: str
    span: Span


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Call(_Node):
    """A function call `name(args)`.

    name_span: the function name; lparen_span: the `(` (where arity errors point).
    """

    name: str
    args: tuple[Expr, ...]
    span: Span
    name_span: Span
    lparen_span: Span


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Field(_Node):
    """A timestamp field read `target.name` (`time().hour`); name_span: the field name."""

    target: Expr
    name: str
    span: Span
    name_span: Span


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class MethodCall(_Node):
    """A sample method call `target.Name(args)` (`$PendingTasks.GetSample(1)`).

    name_span: the method name; lparen_span: the `(` (where `InsufficientSampleData` points).
    """

    target: Expr
    name: str
    args: tuple[Expr, ...]
    span: Span
    name_span: Span
    lparen_span: Span


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Unary(_Node):
    """`-operand` or `!operand`; op_span: the operator."""

    op: str
    operand: Expr
    span: Span
    op_span: Span


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Binary(_Node):
    """`left op right` for `+ - * / < <= == >= > != && ||`; op_span: the operator."""

    op: str
    left: Expr
    right: Expr
    span: Span
    op_span: Span


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Conditional(_Node):
    """`condition ? then : otherwise`; question_span: the `?`."""

    condition: Expr
    then: Expr
    otherwise: Expr
    span: Span
    question_span: Span


Expr: TypeAlias = (
    Number | String | TimeConstant | DeallocKeyword | Name | Call | Field | MethodCall | Unary | Binary | Conditional
)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Assignment(_Node):
    """`target = value`; target_span: the assigned name (as written, `$` included)."""

    target: str
    value: Expr
    span: Span
    target_span: Span


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ExprStatement(_Node):
    """A statement that is only an expression; its value is discarded (reference §3.1)."""

    expr: Expr
    span: Span


Statement: TypeAlias = Assignment | ExprStatement


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Formula(_Node):
    """A whole formula: its non-empty statements in order.

    empty_statements: spans of the `;` that end an empty statement (`;;`), for the linter.
    """

    statements: tuple[Statement, ...]
    span: Span
    empty_statements: tuple[Span, ...] = ()


Node: TypeAlias = Expr | Statement | Formula


_NODE_TYPES: tuple[type, ...] = (
    Number,
    String,
    TimeConstant,
    DeallocKeyword,
    Name,
    Call,
    Field,
    MethodCall,
    Unary,
    Binary,
    Conditional,
    Assignment,
    ExprStatement,
    Formula,
)
# Field names of each node type, in declaration order.
_FIELDS: dict[type, tuple[str, ...]] = {t: tuple(f.name for f in fields(t)) for t in _NODE_TYPES}
# The fields that hold sub-trees (a node or a tuple of nodes), in source and evaluation order.
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {
    Call: ("args",),
    Field: ("target",),
    MethodCall: ("target", "args"),
    Unary: ("operand",),
    Binary: ("left", "right"),
    Conditional: ("condition", "then", "otherwise"),
    Assignment: ("value",),
    ExprStatement: ("expr",),
    Formula: ("statements",),
}


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-trees of `node`, in source order (which is also evaluation order)."""
    found: list[Node] = []
    for name in _CHILD_FIELDS.get(type(node), ()):
        value = getattr(node, name)
        if isinstance(value, tuple):
            found.extend(value)
        else:
            found.append(value)
    return tuple(found)


def walk(node: Node) -> Iterator[Node]:
    """`node` and every node below it, depth first, in source order; no recursion."""
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def _ignored(name: str, spans: bool) -> bool:
    return not spans and (name.endswith("span") or name in ("empty_statements", "text"))


def _equal(a: object, b: object, *, spans: bool) -> bool:
    stack: list[tuple[object, object]] = [(a, b)]
    while stack:
        x, y = stack.pop()
        if x is y:
            continue
        if type(x) is not type(y):
            return False
        if isinstance(x, tuple):
            assert isinstance(y, tuple)
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=True))
            continue
        names = _FIELDS.get(type(x))
        if names is None:
            if x != y:
                return False
            continue
        stack.extend((getattr(x, n), getattr(y, n)) for n in names if not _ignored(n, spans))
    return True


def same_tree(a: object, b: object) -> bool:
    """Structural equality of two trees, ignoring spans and literal spellings (`Number.text`)."""
    return _equal(a, b, spans=False)


def _hash(node: object) -> int:
    """A hash consistent with `==`: post-order over the tree, combining each node's field hashes."""
    hashes: dict[int, int] = {}
    stack: list[tuple[object, bool]] = [(node, False)]
    while stack:
        current, ready = stack.pop()
        names = _FIELDS.get(type(current))
        if not ready and (names is not None or isinstance(current, tuple)):
            stack.append((current, True))
            parts = current if isinstance(current, tuple) else [getattr(current, n) for n in names or ()]
            stack.extend((part, False) for part in parts)
            continue
        if isinstance(current, tuple):
            hashes[id(current)] = hash(("tuple", *(_child_hash(hashes, p) for p in current)))
        elif names is not None:
            values = (_child_hash(hashes, getattr(current, n)) for n in names)
            hashes[id(current)] = hash((type(current).__name__, *values))
    return hashes[id(node)]


def _child_hash(hashes: dict[int, int], part: object) -> int:
    return hashes[id(part)] if id(part) in hashes else hash(part)


def _repr(node: object) -> str:
    """`Binary(op='+', left=Number(...), ...)`, as the dataclass repr reads, built with a stack."""
    out: list[str] = []
    stack: list[Any] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, _Text):
            out.append(item.text)
            continue
        names = _FIELDS.get(type(item))
        if names is not None:
            parts: list[Any] = [_Text(f"{type(item).__name__}(")]
            for i, name in enumerate(names):
                parts.append(_Text(f"{', ' if i else ''}{name}="))
                parts.append(getattr(item, name))
            parts.append(_Text(")"))
            stack.extend(reversed(parts))
        elif isinstance(item, tuple):
            parts = [_Text("(")]
            for i, element in enumerate(item):
                if i:
                    parts.append(_Text(", "))
                parts.append(element)
            parts.append(_Text(",)" if len(item) == 1 else ")"))
            stack.extend(reversed(parts))
        else:
            out.append(repr(item))
    return "".join(out)


@dataclass(frozen=True, slots=True)
class _Text:
    text: str
