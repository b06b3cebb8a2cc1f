"""Formula text → the same formula laid out by the printer, with every comment kept.

The printer works on the AST, which has no comments (the grammar ignores them), so printing a
parsed formula alone would delete them. This module prints each statement with the printer (one
statement per line, each ended by `;`) and puts the comments back around them:

- a comment on the line where a statement ends stays at the end of that line;
- a comment on a line of its own stays on a line of its own before the next statement (or at the
  end of the file);
- a comment inside a statement that spans several lines moves to a line of its own just above the
  statement: the printer writes a statement on one line, where a `//` would swallow the rest.

One blank line is kept wherever the source had one or more; empty statements (`;;`) are dropped.
Line endings follow the source (CRLF when most lines end so). The result is verified before it is
returned: it parses to the same tree, holds the same comments in the same order, and stays within
the service's length limit; otherwise `CannotFormat` is raised and the caller keeps its text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from batchsim.formula.ast import same_tree
from batchsim.formula.diagnostics import Diagnostic, Severity, Span
from batchsim.formula.parser import MAX_FORMULA_CHARS, parse
from batchsim.formula.printer import print_formula
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
    inner: list[str] = field(default_factory=list)
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

    for statement, node in zip(statements, parsed.formula.statements, strict=True):
        for comment in statement.leading:
            emit(comment.text, comment.blank_before)
        blank = statement.blank_before
        for comment_text in statement.inner:
            emit(comment_text, blank)
            blank = False
        line = print_formula(node) + ";"
        if statement.trailing:
            line += "  " + statement.trailing[0]
        emit(line, blank)
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
            statements[position].inner.append(text)
            continue
        previous = statements[position - 1] if position > 0 else None
        if previous is not None and _same_line(tokens, previous.last, index):
            previous.trailing.append(text)
        elif position < len(statements):
            statements[position].leading.append(_Comment(text, _blank_before(tokens, index)))
        else:
            footer.append(_Comment(text, _blank_before(tokens, index)))
    return statements, footer


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
