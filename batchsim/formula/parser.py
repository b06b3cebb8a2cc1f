"""Text → AST: the lark grammar in `grammar.lark`, errors in the domain's words.

`parse` never raises. Syntax errors use the service's code `AutoScalingFormulaSyntaxError` with the
details of formula reference §8.1 (`Unexpected character '%'`, `Missing ';' between statements`,
...), enriched where it helps the reader (`expected ')' to close '(' opened at 3:11`). After an
error, parsing resumes after the next `;`, so one run reports every broken statement (§2: `;`
separates statements, which makes it the natural recovery point).

Line endings: LF, CRLF and a lone CR each end a line (§2); a lone CR is read as LF, which keeps
every offset and makes lark count the line.

Depth: lark's LALR parser is a loop over a stack, and the AST is built while parsing (lark's
inline transformer: `_Builder`'s callbacks run at each reduction), so no tree is walked
recursively — lark's `Transformer.transform` would recurse once per level, and formulas within
the 8,192-character limit nest 4,000 levels deep. Error recovery parses into plain lark trees,
which are read only for their positions.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from batchsim.formula import ast
from batchsim.formula.diagnostics import Diagnostic, Severity, Span
from batchsim.formula.symbols import DEALLOC_KEYWORDS, FUNCTIONS, TIME_CONSTANTS

# lark imports the third-party `regex` module whenever it is installed, for `Lark(regex=True)` and
# `\p{...}` terminals, neither of which this grammar uses (its widths come from the standard `re`
# either way). Loading `regex` is a sixth of `batchsim check`'s start-up, so it is kept out while
# lark loads; whoever needs it later (python-hcl2) imports it as usual.
_REGEX_ABSENT = "regex" not in sys.modules
if _REGEX_ABSENT:
    sys.modules["regex"] = None  # type: ignore[assignment]  # `import regex` raises ImportError
try:
    from lark import Lark, Token, Transformer, v_args
    from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError
finally:
    if _REGEX_ABSENT:
        del sys.modules["regex"]

__all__ = [
    "EMPTY_CODE",
    "MAX_FORMULA_CHARS",
    "MAX_STATEMENTS",
    "SYNTAX_CODE",
    "TOO_LONG_CODE",
    "ParseResult",
    "parse",
]

SYNTAX_CODE = "AutoScalingFormulaSyntaxError"
TOO_LONG_CODE = "AutoScalingFormulaTooLong"
EMPTY_CODE = "InvalidAutoScalingSettings"
MAX_FORMULA_CHARS = 8192  # formula reference §7 (.NET SDK constant)
MAX_STATEMENTS = 100  # formula reference §7

# Friendly names of terminals, for "expected ..." hints.
_TERMINAL_NAMES = {
    "NAME": "a name",
    "NUMBER": "a number",
    "STRING": "a string",
    "CMP": "a comparison",
    "OR": "'||'",
    "AND": "'&&'",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "STAR": "'*'",
    "SLASH": "'/'",
    "BANG": "'!'",
    "QMARK": "'?'",
    "COLON": "':'",
    "ASSIGN": "'='",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "DOT": "'.'",
    "SEMI": "';'",
    "$END": "the end of the formula",
}
# Tokens that begin a statement: seeing one where an operator or `;` was due means a missing `;`.
_STATEMENT_START = {"NAME", "NUMBER", "STRING", "LPAR", "MINUS", "BANG"}
_RESERVED = frozenset(TIME_CONSTANTS) | frozenset(DEALLOC_KEYWORDS) | frozenset(FUNCTIONS)


@dataclass(slots=True)
class ParseResult:
    """The outcome of `parse`: a tree when the text is syntactically valid, and the findings."""

    formula: ast.Formula | None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.formula is not None and not any(d.severity is Severity.ERROR for d in self.diagnostics)


def _grammar() -> str:
    # Beside this module (the package is always installed as files: not importlib.resources, whose
    # import costs more than the read).
    return Path(__file__).with_name("grammar.lark").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _lark() -> Lark:
    """The plain parser: trees for error recovery and lexing."""
    return Lark(
        _grammar(), parser="lalr", lexer="contextual", propagate_positions=True, maybe_placeholders=True, cache=True
    )


@lru_cache(maxsize=1)
def _building_lark() -> tuple[Lark, _Builder]:
    """A parser that builds the AST while parsing (no intermediate tree): the fast path."""
    builder = _Builder("")
    parser = Lark(
        _grammar(), parser="lalr", lexer="contextual", maybe_placeholders=True, transformer=builder, cache=True
    )
    return parser, builder


def parse(text: str) -> ParseResult:
    """Parse a formula. Never raises: problems come back as diagnostics."""
    text = _normalise_newlines(text)
    if len(text) > MAX_FORMULA_CHARS:
        span = _span_at(text, MAX_FORMULA_CHARS)
        message = f"The formula has {len(text)} characters; the limit is {MAX_FORMULA_CHARS}"
        return ParseResult(None, [Diagnostic(TOO_LONG_CODE, Severity.ERROR, message, span)])
    parser, builder = _building_lark()
    builder.text = text
    try:
        formula = cast(ast.Formula, parser.parse(text))  # the transformer builds the AST while parsing
    except _ReservedName as exc:  # a reserved word where a user name is due
        return ParseResult(None, [exc.diagnostic])
    except VisitError as exc:
        if isinstance(exc.orig_exc, _ReservedName):
            return ParseResult(None, [exc.orig_exc.diagnostic])
        raise
    except UnexpectedInput:
        return ParseResult(None, _syntax_errors(text))
    diagnostics: list[Diagnostic] = []
    if not formula.statements:
        message = "The formula has no statement"
        diagnostics.append(Diagnostic(EMPTY_CODE, Severity.ERROR, message, _span_at(text, 0)))
        return ParseResult(None, diagnostics)
    if len(formula.statements) > MAX_STATEMENTS:
        extra = formula.statements[MAX_STATEMENTS]
        message = f"The formula has {len(formula.statements)} statements; the limit is {MAX_STATEMENTS}"
        return ParseResult(None, [Diagnostic(TOO_LONG_CODE, Severity.ERROR, message, extra.span)])
    return ParseResult(formula, diagnostics)


def _normalise_newlines(text: str) -> str:
    return re.sub(r"\r(?!\n)", "\n", text)


def _syntax_errors(text: str) -> list[Diagnostic]:
    """Every syntax error, resuming after the `;` that follows each one."""
    errors: list[Diagnostic] = []
    start = 0
    while start <= len(text):
        masked = text if start == 0 else _mask(text, start)
        try:
            _lark().parse(masked)
            break
        except UnexpectedInput as exc:
            errors.append(_describe(exc, masked))
            resume = _next_statement(masked, exc.pos_in_stream or 0)
            if resume is None or resume <= start:
                break
            start = resume
    return errors


def _mask(text: str, upto: int) -> str:
    """`text` with everything before `upto` blanked, newlines kept, so positions stay true."""
    head = re.sub(r"[^\n]", " ", text[:upto])
    return head + text[upto:]


def _next_statement(text: str, error_at: int) -> int | None:
    """The offset just after the first `;` at or after `error_at` outside strings and comments."""
    i = error_at
    while i < len(text):
        c = text[i]
        if c == ";":
            return i + 1
        if c == '"':
            end = text.find('"', i + 1)
            newline = text.find("\n", i + 1)
            if end == -1 or (newline != -1 and newline < end):
                i = newline if newline != -1 else len(text)
                continue
            i = end + 1
            continue
        if text.startswith("//", i):
            newline = text.find("\n", i)
            i = newline if newline != -1 else len(text)
            continue
        i += 1
    return None


def _describe(exc: UnexpectedInput, text: str) -> Diagnostic:
    offset = exc.pos_in_stream if exc.pos_in_stream is not None else len(text)
    if isinstance(exc, UnexpectedCharacters):
        char = text[offset] if offset < len(text) else ""
        if char == '"':
            message = "Unterminated string"
        else:
            message = f"Unexpected character '{char}'"
            if char in "&|" and text[offset : offset + 2] not in ("&&", "||"):
                message += f" (the logical operator is '{char * 2}')"
            elif char == "%":
                message += " (the formula language has no '%' operator)"
        return Diagnostic(SYNTAX_CODE, Severity.ERROR, message, _span_at(text, offset, 1))
    assert isinstance(exc, UnexpectedToken)
    token: Token = exc.token
    expected = set(exc.expected) - {"COMMENT", "WS"}
    if token.type == "$END":
        offset = len(text.rstrip())
        message = "Unexpected end of formula"
        opener = _unclosed_paren(text, len(text))
        if opener is not None and "RPAR" in expected:
            message += f": expected ')' to close '(' opened at {opener[0]}:{opener[1]}"
        elif expected:
            message += f": expected {_expected(expected)}"
        return Diagnostic(SYNTAX_CODE, Severity.ERROR, message, _span_at(text, offset, 0))
    width = max(len(str(token)), 1)
    if token.type in _STATEMENT_START and "SEMI" in expected and _unclosed_paren(text, offset) is None:
        return Diagnostic(SYNTAX_CODE, Severity.ERROR, "Missing ';' between statements", _span_at(text, offset, width))
    message = f"Unexpected token '{token}'"
    opener = _unclosed_paren(text, offset)
    if opener is not None and "RPAR" in expected:
        message += f": expected ')' to close '(' opened at {opener[0]}:{opener[1]}"
    elif expected:
        message += f": expected {_expected(expected)}"
    return Diagnostic(SYNTAX_CODE, Severity.ERROR, message, _span_at(text, offset, width))


def _expected(terminals: set[str]) -> str:
    names = sorted({_TERMINAL_NAMES.get(t, t) for t in terminals})
    if len(names) > 6:
        return "an expression or an operator"
    return " or ".join(names) if len(names) <= 2 else ", ".join(names[:-1]) + " or " + names[-1]


def _unclosed_paren(text: str, upto: int) -> tuple[int, int] | None:
    """Line and column of the innermost `(` still open before `upto`, if any."""
    stack: list[int] = []
    try:
        for token in _lark().lex(text[:upto]):
            if token.type == "LPAR":
                stack.append(token.start_pos or 0)
            elif token.type == "RPAR" and stack:
                stack.pop()
    except UnexpectedInput:
        pass
    if not stack:
        return None
    span = _span_at(text, stack[-1])
    return span.line, span.column


def _span_at(text: str, offset: int, width: int = 1) -> Span:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return Span(line, column, line, column + width, offset, offset + width)


class _ReservedName(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def _tok_span(token: Token) -> Span:
    return Span(
        token.line or 1,
        token.column or 1,
        token.end_line or 1,
        token.end_column or 1,
        token.start_pos or 0,
        token.end_pos or 0,
    )


def _join(first: Any, last: Any) -> Span:
    a, b = _span_of(first), _span_of(last)
    return Span(a.line, a.column, b.end_line, b.end_column, a.start_offset, b.end_offset)


def _span_of(item: Any) -> Span:
    if isinstance(item, Token):
        return _tok_span(item)
    return item.span  # type: ignore[no-any-return]


@v_args(inline=True)
class _Builder(Transformer[Token, ast.Formula]):
    """Lark tree → frozen AST nodes with spans (ast.py)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def start(self, *items: Any) -> ast.Formula:
        statements: list[ast.Statement] = []
        empty: list[Span] = []
        previous_was_separator = True
        for item in items:
            if item is None:
                continue
            if isinstance(item, Token):  # SEMI
                if previous_was_separator:
                    empty.append(_tok_span(item))
                previous_was_separator = True
            else:
                statements.append(item)
                previous_was_separator = False
        span = _join(statements[0], statements[-1]) if statements else _span_at(self.text, 0, 0)
        return ast.Formula(tuple(statements), span, tuple(empty))

    def assignment(self, name: Token, _eq: Token, value: ast.Expr) -> ast.Assignment:
        target = str(name)
        if target in _RESERVED:
            message = f"Unexpected token '{target}': a reserved word cannot be assigned"
            raise _ReservedName(Diagnostic(SYNTAX_CODE, Severity.ERROR, message, _tok_span(name)))
        return ast.Assignment(target, value, _join(name, value), _tok_span(name))

    def expr_stmt(self, expr: ast.Expr) -> ast.ExprStatement:
        return ast.ExprStatement(expr, expr.span)

    def conditional(self, cond: ast.Expr, q: Token, then: ast.Expr, _c: Token, other: ast.Expr) -> ast.Conditional:
        return ast.Conditional(cond, then, other, _join(cond, other), _tok_span(q))

    def binary(self, left: ast.Expr, op: Token, right: ast.Expr) -> ast.Binary:
        return ast.Binary(str(op), left, right, _join(left, right), _tok_span(op))

    def unary(self, op: Token, operand: ast.Expr) -> ast.Unary:
        return ast.Unary(str(op), operand, _join(op, operand), _tok_span(op))

    def field(self, target: ast.Expr, _dot: Token, name: Token) -> ast.Field:
        return ast.Field(target, str(name), _join(target, name), _tok_span(name))

    def method(self, target: ast.Expr, _dot: Token, name: Token, lpar: Token, args: Any, rpar: Token) -> ast.MethodCall:
        return ast.MethodCall(target, str(name), args or (), _join(target, rpar), _tok_span(name), _tok_span(lpar))

    def number(self, tok: Token) -> ast.Number:
        return ast.Number(float(tok), str(tok), _tok_span(tok))

    def string(self, tok: Token) -> ast.String:
        return ast.String(str(tok)[1:-1], _tok_span(tok))

    def name(self, tok: Token) -> ast.Expr:
        text = str(tok)
        if text in TIME_CONSTANTS:
            return ast.TimeConstant(text, _tok_span(tok))
        if text in DEALLOC_KEYWORDS:
            return ast.DeallocKeyword(text, _tok_span(tok))
        return ast.Name(text, _tok_span(tok))

    def call(self, name: Token, lpar: Token, args: Any, rpar: Token) -> ast.Call:
        return ast.Call(str(name), args or (), _join(name, rpar), _tok_span(name), _tok_span(lpar))

    def args(self, *items: Any) -> tuple[ast.Expr, ...]:
        return tuple(item for item in items if not isinstance(item, Token))

    def primary(self, _lpar: Token, expr: ast.Expr, _rpar: Token) -> ast.Expr:
        return expr
