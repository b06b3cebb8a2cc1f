"""One version of an open document and everything computed from it, each part on first use."""

from __future__ import annotations

from functools import cached_property

from lsprotocol import types

from batchsim.formula import ast
from batchsim.formula.diagnostics import Diagnostic
from batchsim.formula.parser import parse
from batchsim.lsp.diagnostics import findings
from batchsim.lsp.index import DocumentIndex
from batchsim.lsp.positions import LineTable

__all__ = ["Analysis"]


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

    @cached_property
    def lines(self) -> LineTable:
        return LineTable(self.text, self.encoding)

    @cached_property
    def index(self) -> DocumentIndex:
        return DocumentIndex(self.text)

    @cached_property
    def findings(self) -> list[Diagnostic]:
        """Exactly what `batchsim check` reports for the text (never raises)."""
        return findings(self.text, strict=self.strict)

    @cached_property
    def tree(self) -> ast.Formula | None:
        try:
            return parse(self.text).formula
        except RecursionError:
            return None

    def offset(self, position: types.Position) -> int:
        return self.lines.offset(position)
