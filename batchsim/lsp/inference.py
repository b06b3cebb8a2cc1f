"""The static type of an expression, for hover and completion (formula reference §3.3, §4, §6).

Every expression of the language has a static type (§6.2). The compiler knows it too, but keeps it
inside its private compile state; this is the editor's view, from the reference's tables and
`symbols.py`, and it answers `None` where the compiler would report a type error (the diagnostic
says why). Iterative, so no formula is too deep for it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from batchsim.formula import ast
from batchsim.formula.symbols import (
    FUNCTIONS,
    READ_ONLY_SCALARS,
    SAMPLE_METHODS,
    SAMPLED,
    TARGET_ALIASES,
)

__all__ = [
    "DEALLOC",
    "DOUBLE",
    "DOUBLE_VEC",
    "SAMPLE",
    "STRING",
    "TIMEINTERVAL",
    "TIMESTAMP",
    "infer",
    "service_type",
    "walk",
]

DOUBLE = "double"
DOUBLE_VEC = "doubleVec"
STRING = "string"
TIMESTAMP = "timestamp"
TIMEINTERVAL = "timeinterval"
SAMPLE = "sample object"
DEALLOC = "dealloc option"

_TARGETS = ("$TargetDedicatedNodes", "$TargetLowPriorityNodes", *TARGET_ALIASES)
_COMPARABLE = (DOUBLE, STRING, TIMESTAMP, TIMEINTERVAL)

# §3.3: (left, operator, right) → result, for + - * /.
_ARITHMETIC: dict[tuple[str, str, str], str] = {}
for _op in "+-*/":
    _ARITHMETIC[(DOUBLE, _op, DOUBLE)] = DOUBLE
    _ARITHMETIC[(DOUBLE_VEC, _op, DOUBLE)] = DOUBLE_VEC
    _ARITHMETIC[(DOUBLE_VEC, _op, DOUBLE_VEC)] = DOUBLE_VEC
_ARITHMETIC.update(
    {
        (DOUBLE, "*", TIMEINTERVAL): TIMEINTERVAL,
        (TIMEINTERVAL, "*", DOUBLE): TIMEINTERVAL,
        (TIMEINTERVAL, "/", DOUBLE): TIMEINTERVAL,
        (TIMEINTERVAL, "+", TIMEINTERVAL): TIMEINTERVAL,
        (TIMEINTERVAL, "-", TIMEINTERVAL): TIMEINTERVAL,
        (TIMEINTERVAL, "+", TIMESTAMP): TIMESTAMP,
        (TIMESTAMP, "+", TIMEINTERVAL): TIMESTAMP,
        (TIMESTAMP, "-", TIMESTAMP): TIMEINTERVAL,
    }
)


def service_type(name: str) -> str | None:
    """The type of a service variable (§5), or None for any other name."""
    if name in _TARGETS or name in READ_ONLY_SCALARS:
        return DOUBLE
    if name == "$NodeDeallocationOption":
        return DEALLOC
    if name in SAMPLED:
        return SAMPLE
    return None


def _children(node: ast.Expr) -> tuple[ast.Expr, ...]:
    if isinstance(node, ast.Unary):
        return (node.operand,)
    if isinstance(node, ast.Binary):
        return (node.left, node.right)
    if isinstance(node, ast.Conditional):
        return (node.condition, node.then, node.otherwise)
    if isinstance(node, ast.Call):
        return node.args
    if isinstance(node, ast.Field):
        return (node.target,)
    if isinstance(node, ast.MethodCall):
        return (node.target, *node.args)
    return ()


def walk(formula: ast.Formula) -> Iterator[ast.Expr]:
    """Every expression of a formula, parents before children (iterative)."""
    stack: list[ast.Expr] = []
    for statement in reversed(formula.statements):
        stack.append(statement.value if isinstance(statement, ast.Assignment) else statement.expr)
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(_children(node)))


def infer(expr: ast.Expr, env: Mapping[str, str | None]) -> str | None:
    """The type of `expr`, with `env` giving the user variables' types; None when unknown or invalid."""
    # Post-order without recursion: a node is typed once all its children are.
    types: dict[int, str | None] = {}
    stack: list[tuple[ast.Expr, bool]] = [(expr, False)]
    while stack:
        node, ready = stack.pop()
        children = _children(node)
        if not ready and children:
            stack.append((node, True))
            stack.extend((child, False) for child in children)
            continue
        types[id(node)] = _type_of(node, [types[id(c)] for c in children], env)
    return types[id(expr)]


def _type_of(node: ast.Expr, kids: list[str | None], env: Mapping[str, str | None]) -> str | None:
    if isinstance(node, ast.Number):
        return DOUBLE
    if isinstance(node, ast.String):
        return STRING
    if isinstance(node, ast.TimeConstant):
        return TIMEINTERVAL
    if isinstance(node, ast.DeallocKeyword):
        return DEALLOC
    if isinstance(node, ast.Name):
        if node.name in env:
            return env[node.name]
        return service_type(node.name)
    if isinstance(node, ast.Unary):
        (operand,) = kids
        if operand == DOUBLE or (operand == TIMEINTERVAL and node.op == "-"):
            return operand
        return None
    if isinstance(node, ast.Binary):
        left, right = kids
        if node.op in ("&&", "||"):
            return DOUBLE if left == right == DOUBLE else None
        if node.op in ("+", "-", "*", "/"):
            return _ARITHMETIC.get((left or "", node.op, right or ""))
        return DOUBLE if left == right and left in _COMPARABLE else None
    if isinstance(node, ast.Conditional):
        _, then, otherwise = kids
        return then if then == otherwise else None
    if isinstance(node, ast.Call):
        function = FUNCTIONS.get(node.name)
        if function is None:
            return None
        if function.kind == "elementwise":
            return DOUBLE if kids == [DOUBLE] else DOUBLE_VEC
        return None if function.returns == "none" else function.returns
    if isinstance(node, ast.Field):
        return DOUBLE if kids[0] == TIMESTAMP else None
    result = SAMPLE_METHODS.get(node.name)
    return result if kids and kids[0] == SAMPLE else None
