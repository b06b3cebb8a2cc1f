"""AST → formula text that parses back to the same tree (`ast.same_tree`).

Parentheses are written only where precedence or associativity needs them (formula reference §3.2),
and around a unary minus applied to a unary minus (`-(-1)`, never `--1`).
"""

from __future__ import annotations

import re
from decimal import Decimal

from batchsim.formula import ast

__all__ = ["print_formula"]

# Binding strength, higher binds tighter (reference §3.2).
_BINARY_LEVEL = {"||": 1, "&&": 2, "<": 3, "<=": 3, "==": 3, ">=": 3, ">": 3, "!=": 3, "+": 4, "-": 4, "*": 5, "/": 5}
_CONDITIONAL, _UNARY, _POSTFIX = 0, 6, 7
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")


def print_formula(node: ast.Node) -> str:
    """Formula text for any node: a whole formula, a statement or an expression."""
    if isinstance(node, ast.Formula):
        return ";\n".join(print_formula(s) for s in node.statements) + ";"
    if isinstance(node, ast.Assignment):
        return f"{node.target} = {_expr(node.value, _CONDITIONAL)}"
    if isinstance(node, ast.ExprStatement):
        return _expr(node.expr, _CONDITIONAL)
    return _expr(node, _CONDITIONAL)


def _level(node: ast.Expr) -> int:
    if isinstance(node, ast.Conditional):
        return _CONDITIONAL
    if isinstance(node, ast.Binary):
        return _BINARY_LEVEL[node.op]
    if isinstance(node, ast.Unary):
        return _UNARY
    return _POSTFIX


def _number(value: float, text: str) -> str:
    if _NUMBER.fullmatch(text) and float(text) == value:
        return text
    literal = repr(float(value))
    if _NUMBER.fullmatch(literal):
        return literal
    # The grammar has no exponents: write the double's exact decimal expansion, which reads back exactly.
    exact = format(Decimal(value), "f")
    return exact.rstrip("0").rstrip(".") if "." in exact else exact


def _expr(root: ast.Expr, minimum: int) -> str:
    """`root` printed, each sub-expression in parentheses when it binds looser than its place needs.

    Iterative (an explicit stack of pieces still to write), so that trees deeper than Python's
    recursion limit print too.
    """
    out: list[str] = []
    stack: list[tuple[ast.Expr, int] | str] = [(root, minimum)]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        node, needed = item
        pieces = _pieces(node)
        if _level(node) < needed:
            pieces = ["(", *pieces, ")"]
        stack.extend(reversed(pieces))
    return "".join(out)


def _pieces(node: ast.Expr) -> list[tuple[ast.Expr, int] | str]:
    """A node as text and sub-expressions (each with the binding level its position needs)."""
    if isinstance(node, ast.Number):
        return [_number(node.value, node.text)]
    if isinstance(node, ast.String):
        return [f'"{node.value}"']
    if isinstance(node, (ast.TimeConstant, ast.DeallocKeyword, ast.Name)):
        return [node.name]
    if isinstance(node, ast.Call):
        return [f"{node.name}(", *_args(node.args), ")"]
    if isinstance(node, ast.Field):
        return [(node.target, _POSTFIX), f".{node.name}"]
    if isinstance(node, ast.MethodCall):
        return [(node.target, _POSTFIX), f".{node.name}(", *_args(node.args), ")"]
    if isinstance(node, ast.Unary):
        if node.op == "-" and isinstance(node.operand, ast.Unary) and node.operand.op == "-":
            return ["-(", (node.operand, _CONDITIONAL), ")"]  # never `--`: whether the service reads it is unknown
        return [node.op, (node.operand, _UNARY)]
    if isinstance(node, ast.Binary):
        level = _BINARY_LEVEL[node.op]
        # Left-associative: the right operand needs parentheses at the same level.
        return [(node.left, level), f" {node.op} ", (node.right, level + 1)]
    # Right-associative: a conditional in the condition needs parentheses, in a branch it does not.
    return [(node.condition, 1), " ? ", (node.then, _CONDITIONAL), " : ", (node.otherwise, _CONDITIONAL)]


def _args(args: tuple[ast.Expr, ...]) -> list[tuple[ast.Expr, int] | str]:
    pieces: list[tuple[ast.Expr, int] | str] = []
    for i, arg in enumerate(args):
        if i:
            pieces.append(", ")
        pieces.append((arg, _CONDITIONAL))
    return pieces
