"""Formula text → the same formula laid out uniformly, with every comment and parenthesis kept.

Each statement starts a line of its own and ends with `;`; inside it, `layout.py` lays out the
author's own tokens (their parentheses, line breaks and comments where they are; long lines
wrapped). Comments between statements:

- a comment on the line where a statement ends stays at the end of that line;
- a comment on a line of its own stays on a line of its own before the next statement (or at the
  end of the file);
- a comment inside a statement stays where it is, at the end of its line (`layout.py`).

One blank line is kept wherever the source had one or more; empty statements (`;;`) are dropped.
Line endings follow the source (CRLF when most lines end so). The result is verified before it is
returned: it parses to the same tree, holds the same comments in the same order, and stays within
the service's length limit; otherwise `CannotFormat` is raised and the caller keeps its text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from batchsim.formula import ast
from batchsim.formula.ast import same_tree
from batchsim.formula.diagnostics import Diagnostic, Severity, Span
from batchsim.formula.layout import layout
from batchsim.formula.parser import MAX_FORMULA_CHARS, parse
from batchsim.formula.scanning import Token, scan

__all__ = ["FORMAT_CODE", "CannotFormat", "reformat"]

FORMAT_CODE = "BS002"
_START = Span(1, 1, 1, 2, 0, 1)


class CannotFormat(ValueError):
    """The text was not formatted; `diagnostics` say where and why (a syntax error, ...)."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        first = diagnostics[0]
        super().__init__(f"{first.span.line}:{first.span.column}: {first.message}")
        self.diagnostics = diagnostics


@dataclass(slots=True)
class _Comment:
    text: str
    blank_before: bool


@dataclass(slots=True)
class _Statement:
    first: int  # token indices of the statement's first and last tokens
    last: int
    blank_before: bool = False
    leading: list[_Comment] = field(default_factory=list)
    trailing: list[str] = field(default_factory=list)


def _internal(message: str) -> CannotFormat:
    return CannotFormat([Diagnostic(FORMAT_CODE, Severity.ERROR, message, _START)])


def reformat(text: str) -> str:
    """`text` formatted; raises `CannotFormat` when it does not parse or cannot be laid out safely."""
    try:
        return _reformat(text)
    except RecursionError:
        raise _internal("the formula is nested too deeply to format") from None


def _reformat(text: str) -> str:
    parsed = parse(text)
    if parsed.formula is None:
        raise CannotFormat(parsed.diagnostics)
    newline = "\r\n" if text.count("\r\n") * 2 > text.count("\n") else "\n"
    # As the parser does: a lone CR ends a line; offsets do not move.
    tokens = scan(re.sub(r"\r(?!\n)", "\n", text))
    statements, footer = _attach_comments(tokens)
    if len(statements) != len(parsed.formula.statements):
        raise _internal("the statements of the formula could not be told apart")
    lines: list[str] = []

    def emit(line: str, blank_before: bool) -> None:
        if blank_before and lines:
            lines.append("")
        lines.append(line)

    opens, closes = _double_minus_parentheses(parsed.formula, tokens)
    for statement in statements:
        for comment in statement.leading:
            emit(comment.text, comment.blank_before)
        statement_lines = layout(
            tokens[statement.first : statement.last + 1], *_shifted(opens, closes, statement.first)
        )
        if statement.trailing:
            statement_lines[-1] += "  " + statement.trailing[0]
        emit(statement_lines[0], statement.blank_before)
        for line in statement_lines[1:]:
            emit(line, False)
        for comment_text in statement.trailing[1:]:
            emit(comment_text, False)
    for comment in footer:
        emit(comment.text, comment.blank_before)
    formatted = newline.join(lines) + newline
    _verify(text, formatted, parsed.formula)
    return formatted


def _blank_before(tokens: list[Token], index: int) -> bool:
    """Whether a blank line separates token `index` from the token before the whitespace before it."""
    if index < 2 or tokens[index - 1].type != "WS":
        return False
    return tokens[index - 1].text.count("\n") >= 2


def _attach_comments(tokens: list[Token]) -> tuple[list[_Statement], list[_Comment]]:
    """The statements (as token ranges between `;`) with their comments, and the comments after the last."""
    statements: list[_Statement] = []
    first: int | None = None
    last = 0
    for index, token in enumerate(tokens):
        if token.type == "SEMI":
            if first is not None:
                statements.append(_Statement(first, last, _blank_before(tokens, first)))
            first = None
        elif token.type not in ("WS", "COMMENT"):
            if first is None:
                first = index
            last = index
    if first is not None:
        statements.append(_Statement(first, last, _blank_before(tokens, first)))

    footer: list[_Comment] = []
    position = 0  # the first statement that does not end before the current token
    for index, token in enumerate(tokens):
        if token.type != "COMMENT":
            continue
        while position < len(statements) and statements[position].last < index:
            position += 1
        text = token.text.rstrip()
        if position < len(statements) and statements[position].first < index:
            continue  # inside the statement: laid out with it
        previous = statements[position - 1] if position > 0 else None
        if previous is not None and _same_line(tokens, previous.last, index):
            previous.trailing.append(text)
        elif position < len(statements):
            statements[position].leading.append(_Comment(text, _blank_before(tokens, index)))
        else:
            footer.append(_Comment(text, _blank_before(tokens, index)))
    return statements, footer


def _double_minus_parentheses(formula: ast.Formula, tokens: list[Token]) -> tuple[dict[int, int], dict[int, int]]:
    """Where to add `(` and `)` so that no unary minus is written right before another: `--1`
    becomes `-(-1)`. Keys are token indices: `(` before the token, `)` after it."""
    at = {token.offset: index for index, token in enumerate(tokens) if token.type not in ("WS", "COMMENT")}
    code = sorted(at.values())
    rank = {index: k for k, index in enumerate(code)}
    opens: dict[int, int] = {}
    closes: dict[int, int] = {}
    for node in ast.walk(formula):
        if not (isinstance(node, ast.Unary) and node.op == "-"):
            continue
        inner = node.operand
        if not (isinstance(inner, ast.Unary) and inner.op == "-"):
            continue
        start = at[inner.op_span.start_offset]
        if rank[start] == 0 or code[rank[start] - 1] != at[node.op_span.start_offset]:
            continue  # already apart: `-(-1)`
        # the last token of the inner operand, with the `)` of any parenthesis opened inside it
        k, depth = rank[start], 0
        while True:
            token = tokens[code[k]]
            depth += 1 if token.type == "LPAR" else -1 if token.type == "RPAR" else 0
            if token.end >= inner.span.end_offset and depth <= 0:
                break
            k += 1
        opens[start] = opens.get(start, 0) + 1
        closes[code[k]] = closes.get(code[k], 0) + 1
    return opens, closes


def _shifted(opens: dict[int, int], closes: dict[int, int], first: int) -> tuple[dict[int, int], dict[int, int]]:
    """The parentheses to add, with indices relative to token `first`."""
    return {i - first: n for i, n in opens.items()}, {i - first: n for i, n in closes.items()}


def _same_line(tokens: list[Token], start: int, end: int) -> bool:
    """No line break between token `start` and token `end`."""
    return not any("\n" in tokens[i].text for i in range(start + 1, end))


def _comments(text: str) -> list[str]:
    return [t.text.rstrip() for t in scan(text) if t.type == "COMMENT"]


def _verify(original: str, formatted: str, tree: object) -> None:
    if len(formatted) > MAX_FORMULA_CHARS >= len(original):
        raise _internal(
            f"formatted, the formula would have {len(formatted)} characters, over the service's limit of "
            f"{MAX_FORMULA_CHARS}; it is left as it is"
        )
    again = parse(formatted)
    if again.formula is None or not same_tree(again.formula, tree):
        raise _internal("formatting would change the formula's meaning; it is left as it is")
    if _comments(formatted) != _comments(original):
        raise _internal("formatting would lose or reorder a comment; it is left as it is")
