"""Hover: what the name under the cursor is — a service variable, a function or method with its
signatures, a timestamp field, a `TimeInterval_*` constant, a deallocation keyword, or a user
variable with where it is assigned and its inferred type."""

from __future__ import annotations

from lsprotocol import types

from batchsim.formula.symbols import FUNCTIONS
from batchsim.lsp import docs
from batchsim.lsp.document import Analysis
from batchsim.lsp.index import Occurrence, is_service_variable

__all__ = ["hover"]


def hover(analysis: Analysis, position: types.Position) -> types.Hover | None:
    index = analysis.index
    found = index.token_at(analysis.offset(position))
    if found is None:
        return None
    number, token = found
    if token.type != "NAME":
        return None
    name = token.text
    before, after = index.significant(number, -1), index.significant(number, 1)
    after_dot = before is not None and before.type == "DOT"
    calls = after is not None and after.type == "LPAR"
    if after_dot:
        text = docs.method_doc(name) if calls else docs.field_doc(name)
    elif calls:
        text = docs.function_doc(name) if name in FUNCTIONS else None
    else:
        text = (
            docs.variable_doc(name)
            or docs.constant_doc(name)
            or docs.keyword_doc(name)
            or (docs.function_doc(name) if name in FUNCTIONS else None)
            or _user_variable(analysis, index.occurrence_at(token.offset))
        )
    if text is None:
        return None
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
        range=analysis.lines.range_at(token.offset, token.end),
    )


def _line(analysis: Analysis, occurrence: Occurrence) -> int:
    return analysis.lines.position_at(occurrence.start).line + 1


def _user_variable(analysis: Analysis, occurrence: Occurrence | None) -> str | None:
    if occurrence is None or is_service_variable(occurrence.name):
        return None
    index = analysis.index
    name = occurrence.name
    assignments = [o for o in index.occurrences_of(name) if o.assigns]
    reads = [o for o in index.occurrences_of(name) if not o.assigns]
    definition = index.definition(occurrence)
    kind = index.type_of(definition) if definition is not None else None
    lines = [f"```batchsim-formula\n{name}: {kind or 'unknown type'}\n```", "User variable."]
    if definition is not None and definition is not occurrence:
        lines.append(f"This read gets the value assigned on line {_line(analysis, definition)}.")
    elif definition is None:
        lines.append(
            "Not assigned before this statement: evaluating it gives `Undefined symbol`."
            if assignments
            else "Never assigned: evaluating it gives `Undefined symbol`."
        )
    if assignments:
        where = ", ".join(str(_line(analysis, o)) for o in assignments)
        lines.append(f"Assigned on line{'s' if len(assignments) > 1 else ''} {where}; read {len(reads)} time(s).")
    if len(assignments) > 1:
        types_seen = sorted({index.type_of(o) or "unknown" for o in assignments})
        if len(types_seen) > 1:
            lines.append(f"Its assignments have different types: {', '.join(types_seen)}.")
    return "\n\n".join(lines)
