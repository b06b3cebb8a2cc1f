"""One version of an open document and everything computed from it, each part on first use.

A byte-order mark is no error: `batchsim check` drops it when it reads a file (`sources.py`), so
the findings are `check`'s on the text without it, placed where they are in the document. For the
editor features the mark is read as a space, which keeps every offset.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cached_property

from lsprotocol import types

from batchsim.formula import ast
from batchsim.formula.diagnostics import Diagnostic
from batchsim.formula.parser import parse
from batchsim.lsp.diagnostics import findings
from batchsim.lsp.index import DocumentIndex
from batchsim.lsp.positions import LineTable

__all__ = ["BOM", "MAX_DOCUMENT_CHARS", "Analysis"]

BOM = "\ufeff"
# Past this size a document gets its diagnostics only (hover, completion, navigation, formatting and
# evaluation answer nothing): twice the service's limit of 8,192 characters (formula reference §7),
# room to edit a formula that is over it back under, while a 1 MB file cannot make the server slow.
MAX_DOCUMENT_CHARS = 2 * 8192


class Analysis:
    """A document's text at one version: its line table, index, `check` findings and tree."""

    def __init__(
        self,
        uri: str,
        text: str,
        version: int | None = None,
        *,
        encoding: str = types.PositionEncodingKind.Utf16,
        strict: bool = False,
    ) -> None:
        self.uri = uri
        self.text = text
        self.version = version
        self.encoding = encoding
        self.strict = strict

    @property
    def has_bom(self) -> bool:
        return self.text.startswith(BOM)

    @cached_property
    def source(self) -> str:
        """The text the editor features read: the byte-order mark, if any, as a space."""
        return " " + self.text[1:] if self.has_bom else self.text

    @cached_property
    def lines(self) -> LineTable:
        return LineTable(self.text, self.encoding)

    @cached_property
    def index(self) -> DocumentIndex:
        return DocumentIndex(self.source)

    @cached_property
    def findings(self) -> list[Diagnostic]:
        """Exactly what `batchsim check` reports for the text (never raises), BOM dropped as it does."""
        if not self.has_bom:
            return findings(self.text, strict=self.strict)
        return [_after_bom(d) for d in findings(self.text[1:], strict=self.strict)]

    @cached_property
    def tree(self) -> ast.Formula | None:
        try:
            return parse(self.source).formula
        except RecursionError:
            return None

    def offset(self, position: types.Position) -> int:
        return self.lines.offset(position)


def _after_bom(diagnostic: Diagnostic) -> Diagnostic:
    """A finding on the text without its byte-order mark, moved to its place in the document."""
    span = diagnostic.span
    moved = replace(
        span,
        column=span.column + (span.line == 1),
        end_column=span.end_column + (span.end_line == 1),
        start_offset=span.start_offset + 1,
        end_offset=span.end_offset + 1,
    )
    return replace(diagnostic, span=moved)
