"""One statement's tokens → lines: the author's parentheses, line breaks and comments kept where
they are, the spacing between tokens made uniform, and lines longer than `WIDTH` wrapped.

The formatter works on tokens, not on the AST, because the AST has no parentheses (the printer
re-inserts only those precedence needs), no comments and no layout: laying out the tokens keeps
every parenthesis a reader added for clarity (`(a > b) == (c > d)`), every comment in its place
inside an expression, and every line break the author chose. Only whitespace changes, with one
exception: a unary minus applied to a unary minus gets parentheses (`-(-1)`), since whether the
service reads `--` as two operators is unknown (issue 25), so `--` is never written.

Layout rules, as code formatters do them:
- one space around binary operators, `?`, `:` and `=`, one after `,`; none inside parentheses,
  around `.`, after a unary operator, before `(` of a call, `,` or `;`;
- a line break of the author's inside a statement is kept (blank lines in it become one), and a
  comment ends its line; a continuation line is indented by `INDENT` per open parenthesis, plus one;
- a line whose code is longer than `WIDTH` is broken after an operator or a comma: among the
  breaks that fit, the outermost (fewest open parentheses), then the loosest (a comma before `?:`,
  before `||`, ..., before `*`), then the latest; with none that fits, the first break there is.
  Breaks are only ever added, and a line that fits is left alone, so formatting its own output
  changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from batchsim.formula.scanning import Token

__all__ = ["INDENT", "WIDTH", "layout"]

WIDTH = 120  # the project's own line length (ruff)
INDENT = "    "
# Operators written with a space on each side (MINUS when binary).
_SPACED = frozenset({"OR", "AND", "CMP", "PLUS", "MINUS", "STAR", "SLASH", "QMARK", "COLON", "ASSIGN"})
# After these a MINUS is unary; after anything else (a name, a number, a string, `)`) it is binary.
_OPERAND_END = frozenset({"NAME", "NUMBER", "STRING", "RPAR"})
# Where a line may break, and how good a break each is: the looser the operator binds, the better
# (a comma first, then a conditional's `?` and `:`, down to `*` and `/`), as code formatters rank them.
_BREAK_AFTER = {
    "COMMA": 6,
    "QMARK": 5,
    "COLON": 5,
    "OR": 4,
    "AND": 3,
    "CMP": 2,
    "PLUS": 1,
    "MINUS": 1,
    "STAR": 0,
    "SLASH": 0,
}


@dataclass(frozen=True, slots=True)
class _Item:
    """A token to write: its type, text, whether it is a unary operator, and whether a line break
    comes before it (the author's, or the end of a comment's line)."""

    type: str
    text: str
    unary: bool = False
    newline_before: bool = False


def layout(tokens: list[Token], opens: dict[int, int], closes: dict[int, int]) -> list[str]:
    """The lines of one statement: `tokens` from its first token to its last (whitespace and
    comments between them included), then `;`. `opens[i]`/`closes[i]`: parentheses to add before
    / after token `i` (the `-(-1)` rule)."""
    items = _items(tokens, opens, closes)
    lines: list[str] = []
    depth = 0
    start = 0
    for end in range(1, len(items) + 1):
        if end < len(items) and not items[end].newline_before:
            continue
        depth = _wrap(items[start:end], depth, not lines, lines)
        start = end
    return lines


def _items(tokens: list[Token], opens: dict[int, int], closes: dict[int, int]) -> list[_Item]:
    items: list[_Item] = []
    newline = False
    previous: str | None = None  # the type of the last code item
    for index, token in enumerate(tokens):
        if token.type == "WS":
            newline = newline or "\n" in token.text
            continue
        if token.type == "COMMENT":
            items.append(_Item("COMMENT", token.text.rstrip(), newline_before=newline and bool(items)))
            newline = True  # a comment runs to the end of its line
            continue
        for _ in range(opens.get(index, 0)):
            items.append(_Item("LPAR", "(", newline_before=newline and bool(items)))
            newline, previous = False, "LPAR"
        unary = token.type == "BANG" or (token.type == "MINUS" and previous not in _OPERAND_END)
        items.append(_Item(token.type, token.text, unary, newline and bool(items)))
        newline, previous = False, token.type
        for _ in range(closes.get(index, 0)):
            items.append(_Item("RPAR", ")"))
            previous = "RPAR"
    items.append(_Item("SEMI", ";"))
    return items


def _space(before: _Item, item: _Item) -> str:
    """What separates two items on one line."""
    if item.type == "COMMENT":
        return "  "
    if before.type == "LPAR" or item.type in ("RPAR", "COMMA", "SEMI", "DOT") or before.type == "DOT":
        return ""
    if before.type == "COMMA":
        return " "
    if before.type == "MINUS" and item.type == "MINUS":
        return " "  # never `--` (the `-(-1)` rule adds parentheses; this keeps it so regardless)
    if before.unary:
        return ""
    if item.type == "LPAR" and before.type == "NAME":
        return ""  # a call
    return " "  # around operators; and never joins two tokens into one


def _depth_change(item: _Item) -> int:
    return 1 if item.type == "LPAR" else -1 if item.type == "RPAR" else 0


def _wrap(line: list[_Item], depth: int, first: bool, lines: list[str]) -> int:
    """Append `line` (items between two line breaks), wrapped to `WIDTH`, to `lines`; `depth`:
    parentheses open before it. Returns the depth after it."""
    while True:
        opening = depth - (1 if line[0].type == "RPAR" else 0)
        indent = "" if first else INDENT * (1 + max(opening, 0))
        texts: list[str] = []
        widths: list[int] = []  # the code's width up to and including each item
        depths: list[int] = []  # parentheses open after each item
        level, total = depth, len(indent)
        for k, item in enumerate(line):
            texts.append((_space(line[k - 1], item) if k else "") + item.text)
            total += len(texts[-1])
            widths.append(total if item.type != "COMMENT" else -1)
            level += _depth_change(item)
            depths.append(level)
        code_width = max(widths)
        cut = _cut(line, widths, depths) if code_width > WIDTH else None
        if cut is None:
            lines.append(indent + "".join(texts))
            return level
        lines.append(indent + "".join(texts[: cut + 1]))
        depth = depths[cut]
        line = [*line[cut + 1 :]]
        first = False


def _cut(line: list[_Item], widths: list[int], depths: list[int]) -> int | None:
    """The index of the item to break after, or None when the line has no break."""
    candidates = [
        k
        for k, item in enumerate(line[:-1])
        if item.type in _BREAK_AFTER and not item.unary and line[k + 1].type not in ("COMMENT", "SEMI")
    ]
    if not candidates:
        return None
    fitting = [k for k in candidates if widths[k] <= WIDTH]
    if not fitting:
        return candidates[0]
    return max(fitting, key=lambda k: (-depths[k], _BREAK_AFTER[line[k].type], k))
