"""What an editor needs to know about a formula's text, even half typed: its tokens, its statements,
where each variable is assigned and read, and the type of each assignment.

Statements and variable occurrences come from the tokens (`batchsim.formula.scanning`), so they
exist for text that does not parse; types come from the AST, of the whole formula when it parses,
else of each statement that does on its own. The language has one scope: a statement sees the
variables assigned by the statements before it (a read before any assignment is
`Undefined symbol` at evaluation, formula reference §8.3).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from functools import cached_property

from batchsim.formula import ast
from batchsim.formula.parser import parse
from batchsim.formula.scanning import Token, scan
from batchsim.formula.symbols import DEALLOC_KEYWORDS, READ_ONLY_SCALARS, READ_WRITE, SAMPLED, TIME_CONSTANTS
from batchsim.lsp.inference import infer

__all__ = ["DocumentIndex", "Occurrence", "Statement", "is_service_variable"]

_TRIVIA = ("WS", "COMMENT")
_SERVICE = frozenset(READ_WRITE) | frozenset(READ_ONLY_SCALARS) | frozenset(SAMPLED)
_NOT_VARIABLES = frozenset(TIME_CONSTANTS) | frozenset(DEALLOC_KEYWORDS)


def is_service_variable(name: str) -> bool:
    return name in _SERVICE


@dataclass(frozen=True, slots=True)
class Occurrence:
    """A variable written in the text: its name, code-point offsets, statement, and whether it is
    the target of an assignment."""

    name: str
    start: int
    end: int
    statement: int
    assigns: bool


@dataclass(slots=True)
class Statement:
    """A statement's tokens: indices into `DocumentIndex.tokens` of its first and last
    significant token; `start`/`end` are code-point offsets."""

    first: int
    last: int
    start: int
    end: int
    stop: int  # the offset of the `;` that ends it, or the text's length
    occurrences: list[Occurrence] = field(default_factory=list)


class DocumentIndex:
    """The index of one version of a document's text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[Token] = scan(text)
        self._offsets = [t.offset for t in self.tokens]
        self.statements: list[Statement] = self._split()
        self.occurrences: list[Occurrence] = []
        for number, statement in enumerate(self.statements):
            statement.occurrences = self._variables(number, statement)
            self.occurrences.extend(statement.occurrences)

    # -- building -------------------------------------------------------------------------------
    def _split(self) -> list[Statement]:
        statements: list[Statement] = []
        first: int | None = None
        last = 0
        for index, token in enumerate(self.tokens):
            if token.type == "SEMI":
                if first is not None:
                    statements.append(self._statement(first, last, token.offset))
                first = None
            elif token.type not in _TRIVIA:
                first = index if first is None else first
                last = index
        if first is not None:
            statements.append(self._statement(first, last, len(self.text)))
        return statements

    def _statement(self, first: int, last: int, stop: int) -> Statement:
        return Statement(first, last, self.tokens[first].offset, self.tokens[last].end, stop)

    def significant(self, index: int, step: int) -> Token | None:
        """The nearest token before (`step` -1) or after (+1) token `index` that is not trivia."""
        index += step
        while 0 <= index < len(self.tokens):
            if self.tokens[index].type not in _TRIVIA:
                return self.tokens[index]
            index += step
        return None

    def _variables(self, number: int, statement: Statement) -> list[Occurrence]:
        found: list[Occurrence] = []
        for index in range(statement.first, statement.last + 1):
            token = self.tokens[index]
            if token.type != "NAME" or token.text in _NOT_VARIABLES:
                continue
            before, after = self.significant(index, -1), self.significant(index, 1)
            if (before is not None and before.type == "DOT") or (after is not None and after.type == "LPAR"):
                continue  # a field, a method or a function
            assigns = index == statement.first and after is not None and after.type == "ASSIGN"
            found.append(Occurrence(token.text, token.offset, token.end, number, assigns))
        return found

    # -- lookups --------------------------------------------------------------------------------
    def token_at(self, offset: int) -> tuple[int, Token] | None:
        """The token under the cursor at `offset`; a cursor just after a word is on that word."""
        index = bisect.bisect_right(self._offsets, offset) - 1
        if index < 0:
            return None
        token = self.tokens[index]
        if token.offset == offset and index > 0 and token.type not in ("NAME", "NUMBER"):
            previous = self.tokens[index - 1]
            if previous.type in ("NAME", "NUMBER"):
                return index - 1, previous
        return index, token

    def statement_at(self, offset: int) -> int:
        """The number of the statement `offset` is in (up to its `;`), or of the one that would start there."""
        for number, statement in enumerate(self.statements):
            if offset <= statement.stop:
                return number
        return len(self.statements)

    def occurrence_at(self, offset: int) -> Occurrence | None:
        for occurrence in self.occurrences:
            if occurrence.start <= offset <= occurrence.end:
                return occurrence
        return None

    def occurrences_of(self, name: str) -> list[Occurrence]:
        return [o for o in self.occurrences if o.name == name]

    def definition(self, occurrence: Occurrence) -> Occurrence | None:
        """The assignment whose value `occurrence` reads: the last one in an earlier statement (an
        assignment is its own definition)."""
        if occurrence.assigns:
            return occurrence
        earlier = [o for o in self.occurrences_of(occurrence.name) if o.assigns and o.statement < occurrence.statement]
        return earlier[-1] if earlier else None

    def in_scope(self, statement: int) -> dict[str, Occurrence]:
        """The variables assigned before `statement`, each with its latest assignment."""
        scope: dict[str, Occurrence] = {}
        for occurrence in self.occurrences:
            if occurrence.statement >= statement:
                break
            if occurrence.assigns:
                scope[occurrence.name] = occurrence
        return scope

    def type_of(self, assignment: Occurrence) -> str | None:
        """The inferred type of the value an assignment stores (None when unknown or invalid)."""
        return self._types.get(assignment.statement)

    @cached_property
    def _types(self) -> dict[int, str | None]:
        """Statement number → the type of the value it assigns, for assignments to user variables."""
        nodes = self._statement_nodes()
        env: dict[str, str | None] = {}
        types: dict[int, str | None] = {}
        for number, node in enumerate(nodes):
            if not isinstance(node, ast.Assignment):
                continue
            try:
                kind = infer(node.value, env)
            except RecursionError:  # pragma: no cover - infer is iterative; kept as a boundary
                kind = None
            types[number] = kind
            if not is_service_variable(node.target):
                env[node.target] = kind
        return types

    def _statement_nodes(self) -> list[ast.Statement | None]:
        """The AST of each statement: from the whole text when it parses, else one at a time."""
        try:
            whole = parse(self.text).formula
        except RecursionError:
            whole = None
        if whole is not None and len(whole.statements) == len(self.statements):
            return list(whole.statements)
        nodes: list[ast.Statement | None] = []
        for statement in self.statements:
            try:
                alone = parse(self.text[statement.start : statement.end]).formula
            except RecursionError:
                alone = None
            nodes.append(alone.statements[0] if alone is not None and len(alone.statements) == 1 else None)
        return nodes
