"""Go to definition, find references, highlights, rename and document symbols for variables.

A read's definition is the assignment whose value it gets: the latest one in an earlier statement
(the language has one scope and runs statements in order). Service variables that a formula
assigns (`$TargetDedicatedNodes`, ...) have definitions and references too; read-only ones have
only references.
"""

from __future__ import annotations

import re

from lsprotocol import types

from batchsim.formula.parser import parse
from batchsim.lsp.document import Analysis
from batchsim.lsp.index import Occurrence, is_service_variable

__all__ = ["definition", "document_symbols", "highlights", "prepare_rename", "references", "rename"]

_NAME = re.compile(r"\$?[A-Za-z_][A-Za-z0-9_]*")


def _occurrence(analysis: Analysis, position: types.Position) -> Occurrence | None:
    return analysis.index.occurrence_at(analysis.offset(position))


def _location(analysis: Analysis, occurrence: Occurrence) -> types.Location:
    return types.Location(uri=analysis.uri, range=analysis.lines.range_at(occurrence.start, occurrence.end))


def definition(analysis: Analysis, position: types.Position) -> list[types.Location]:
    occurrence = _occurrence(analysis, position)
    if occurrence is None:
        return []
    target = analysis.index.definition(occurrence)
    return [] if target is None else [_location(analysis, target)]


def references(analysis: Analysis, position: types.Position, *, include_declaration: bool) -> list[types.Location]:
    occurrence = _occurrence(analysis, position)
    if occurrence is None:
        return []
    return [
        _location(analysis, o)
        for o in analysis.index.occurrences_of(occurrence.name)
        if include_declaration or not o.assigns
    ]


def highlights(analysis: Analysis, position: types.Position) -> list[types.DocumentHighlight]:
    occurrence = _occurrence(analysis, position)
    if occurrence is None:
        return []
    return [
        types.DocumentHighlight(
            range=analysis.lines.range_at(o.start, o.end),
            kind=types.DocumentHighlightKind.Write if o.assigns else types.DocumentHighlightKind.Read,
        )
        for o in analysis.index.occurrences_of(occurrence.name)
    ]


def prepare_rename(analysis: Analysis, position: types.Position) -> types.Range | None:
    """Only user variables can be renamed; service names are fixed by the service."""
    occurrence = _occurrence(analysis, position)
    if occurrence is None or is_service_variable(occurrence.name):
        return None
    return analysis.lines.range_at(occurrence.start, occurrence.end)


def rename(analysis: Analysis, position: types.Position, new_name: str) -> types.WorkspaceEdit | None:
    """Every occurrence of the user variable under the cursor renamed; raises ValueError for a name
    the language would not take as the same kind of variable."""
    occurrence = _occurrence(analysis, position)
    if occurrence is None or is_service_variable(occurrence.name):
        return None
    if not _NAME.fullmatch(new_name) or is_service_variable(new_name):
        raise ValueError(f"{new_name!r} is not a user variable name")
    probe = parse(f"{new_name} = 1")  # reserved words (functions, constants, keywords) cannot be assigned
    if probe.formula is None:
        raise ValueError(f"{new_name!r} is a reserved word of the formula language")
    if new_name != occurrence.name and analysis.index.occurrences_of(new_name):
        raise ValueError(f"{new_name} is already used in this formula")
    edits = [
        types.TextEdit(range=analysis.lines.range_at(o.start, o.end), new_text=new_name)
        for o in analysis.index.occurrences_of(occurrence.name)
    ]
    return types.WorkspaceEdit(changes={analysis.uri: edits})


def document_symbols(analysis: Analysis) -> list[types.DocumentSymbol]:
    """One symbol per assignment, in order: user variables as variables, service ones as properties."""
    index = analysis.index
    symbols: list[types.DocumentSymbol] = []
    for statement in index.statements:
        target = next((o for o in statement.occurrences if o.assigns), None)
        if target is None:
            continue
        service = is_service_variable(target.name)
        kind = index.type_of(target)
        symbols.append(
            types.DocumentSymbol(
                name=target.name,
                kind=types.SymbolKind.Property if service else types.SymbolKind.Variable,
                range=analysis.lines.range_at(statement.start, statement.end),
                selection_range=analysis.lines.range_at(target.start, target.end),
                detail=("service variable" if service else "user variable") + (f": {kind}" if kind else ""),
            )
        )
    return symbols
