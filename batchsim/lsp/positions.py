"""Positions between the language (1-based lines and code-point columns) and LSP (0-based, in the
negotiated code units: UTF-16 unless the client offers UTF-8 or UTF-32).

Hand-written rather than pygls's `PositionCodec`, because that codec splits lines with
`str.splitlines`, which also breaks at U+2028, form feeds and other separators; LSP and the
formula language end lines only at LF, CRLF and a lone CR (formula reference §2), so a string
holding such a character would shift every position after it.
"""

from __future__ import annotations

import bisect
import re

from lsprotocol import types

from batchsim.formula.diagnostics import Span

__all__ = ["LineTable"]

_LINE_END = re.compile(r"\r\n|\r|\n")


def _units(text: str, encoding: str) -> int:
    """The length of `text` in the code units of `encoding`."""
    if encoding == types.PositionEncodingKind.Utf32:
        return len(text)
    if encoding == types.PositionEncodingKind.Utf8:
        return sum(1 if c < "\x80" else 2 if c < "\u0800" else 3 if c < "\U00010000" else 4 for c in text)
    return len(text) + sum(1 for c in text if c > "\uffff")


def _chars_for_units(text: str, units: int, encoding: str) -> int:
    """How many code points of `text` fit in `units` code units (a position inside a character
    rounds down to the character's start)."""
    if encoding == types.PositionEncodingKind.Utf32:
        return min(units, len(text))
    used = 0
    for count, char in enumerate(text):
        used += _units(char, encoding)
        if used > units:
            return count
    return len(text)


class LineTable:
    """Where each line of a text starts, for converting offsets, spans and LSP positions."""

    def __init__(self, text: str, encoding: str = types.PositionEncodingKind.Utf16) -> None:
        self.text = text
        self.encoding = encoding
        self._starts = [0] + [m.end() for m in _LINE_END.finditer(self.text)]

    @property
    def line_count(self) -> int:
        return len(self._starts)

    def line(self, index: int) -> str:
        """The text of 0-based line `index`, without its line ending."""
        start = self._starts[index]
        end = self._starts[index + 1] if index + 1 < len(self._starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")

    # -- from the language to LSP ---------------------------------------------------------------
    def position(self, line: int, column: int) -> types.Position:
        """LSP position of a 1-based line and code-point column, clamped to the text."""
        index = min(max(line - 1, 0), self.line_count - 1)
        content = self.line(index)
        chars = min(max(column - 1, 0), len(content))
        return types.Position(line=index, character=_units(content[:chars], self.encoding))

    def range(self, span: Span) -> types.Range:
        start = self.position(span.line, span.column)
        end = self.position(span.end_line, span.end_column)
        if (end.line, end.character) < (start.line, start.character):
            end = start
        return types.Range(start=start, end=end)

    def position_at(self, offset: int) -> types.Position:
        """LSP position of a code-point offset into the text."""
        offset = min(max(offset, 0), len(self.text))
        index = bisect.bisect_right(self._starts, offset) - 1
        content = self.line(index)
        chars = min(offset - self._starts[index], len(content))
        return types.Position(line=index, character=_units(content[:chars], self.encoding))

    def range_at(self, start: int, end: int) -> types.Range:
        return types.Range(start=self.position_at(start), end=self.position_at(end))

    # -- from LSP to the language -----------------------------------------------------------------
    def offset(self, position: types.Position) -> int:
        """Code-point offset of an LSP position; positions past a line's end mean its end."""
        if position.line >= self.line_count:
            return len(self.text)
        index = max(position.line, 0)
        content = self.line(index)
        return self._starts[index] + _chars_for_units(content, max(position.character, 0), self.encoding)
