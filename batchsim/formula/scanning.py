"""Every token of any text, comments and malformed input included, for tools that work on source.

The parser discards comments and stops at the first bad character; a formatter must keep the
comments and an editor must understand text that is half typed. This scanner uses the terminals of
`grammar.lark` (the single source of truth for syntax), ordered as lark's own lexer orders them, as
one regular expression; a character no terminal matches becomes an `ERROR` token of one character,
and scanning goes on after it. The parser does not use this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from lark import Lark

__all__ = ["ERROR", "Token", "scan"]

ERROR = "ERROR"


@dataclass(frozen=True, slots=True)
class Token:
    """A token: its terminal name (`NAME`, `COMMENT`, `WS`, ... or `ERROR`), text and code-point offset."""

    type: str
    text: str
    offset: int

    @property
    def end(self) -> int:
        return self.offset + len(self.text)


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern[str]:
    grammar = resources.files("batchsim.formula").joinpath("grammar.lark").read_text(encoding="utf-8")
    terminals = Lark(grammar, parser="lalr", lexer="basic").terminals
    # lark's basic lexer tries terminals by priority, then the longest possible match first.
    ordered = sorted(terminals, key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name))
    return re.compile("|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in ordered))


def scan(text: str) -> list[Token]:
    """All tokens of `text` in order, whitespace and comments included; never raises."""
    pattern = _pattern()
    tokens: list[Token] = []
    offset = 0
    while offset < len(text):
        match = pattern.match(text, offset)
        if match is None or match.end() == offset:
            tokens.append(Token(ERROR, text[offset], offset))
            offset += 1
            continue
        assert match.lastgroup is not None
        tokens.append(Token(match.lastgroup, match.group(), offset))
        offset = match.end()
    return tokens
