"""Completion from the cursor's context, on text as it is while being typed:

- after `$`: the service variables and the `$` user variables in scope;
- after `.`: the sample methods on a sampled variable, the fields on a timestamp;
- after `$NodeDeallocationOption =`: the deallocation keywords;
- elsewhere: user variables in scope, service variables, functions, `TimeInterval_*` constants;
- nothing inside a comment or a string.
"""

from __future__ import annotations

import re

from lsprotocol import types

from batchsim.formula.symbols import (
    DEALLOC_KEYWORDS,
    DEPRECATED,
    FUNCTIONS,
    READ_ONLY_SCALARS,
    READ_WRITE,
    SAMPLE_METHODS,
    SAMPLED,
    STRICT_OFF_FUNCTIONS,
    TIME_CONSTANTS,
    TIMESTAMP_FIELDS,
)
from batchsim.lsp import docs
from batchsim.lsp.document import Analysis
from batchsim.lsp.inference import SAMPLE, TIMESTAMP

__all__ = ["TRIGGER_CHARACTERS", "complete"]

TRIGGER_CHARACTERS = ["$", "."]
_PREFIX = re.compile(r"\$?[A-Za-z_][A-Za-z0-9_]*$|\$$")
_SERVICE = (*READ_WRITE, *READ_ONLY_SCALARS, *SAMPLED)


def _markdown(text: str | None) -> types.MarkupContent | None:
    return None if text is None else types.MarkupContent(kind=types.MarkupKind.Markdown, value=text)


class _Builder:
    def __init__(self, edit_range: types.Range, snippets: bool) -> None:
        self.range = edit_range
        self.snippets = snippets
        self.items: list[types.CompletionItem] = []

    def add(
        self,
        label: str,
        kind: types.CompletionItemKind,
        detail: str,
        documentation: str | None,
        *,
        call: bool = False,
        sort_group: int = 1,
    ) -> None:
        deprecated = label in DEPRECATED
        text = f"{label}($0)" if call and self.snippets else label
        self.items.append(
            types.CompletionItem(
                label=label,
                kind=kind,
                detail=detail,
                documentation=_markdown(documentation),
                tags=[types.CompletionItemTag.Deprecated] if deprecated else None,
                sort_text=f"{sort_group + 5 * deprecated}{label}",
                filter_text=label,
                text_edit=types.TextEdit(range=self.range, new_text=text),
                insert_text_format=types.InsertTextFormat.Snippet
                if call and self.snippets
                else types.InsertTextFormat.PlainText,
            )
        )


def complete(analysis: Analysis, position: types.Position, *, snippets: bool = False) -> types.CompletionList:
    offset = analysis.offset(position)
    text = analysis.source
    line_start = max(text.rfind("\n", 0, offset), text.rfind("\r", 0, offset)) + 1
    before = text[line_start:offset]
    if _in_comment_or_string(before):
        return types.CompletionList(is_incomplete=False, items=[])
    match = _PREFIX.search(before)
    prefix = match.group() if match else ""
    start = offset - len(prefix)
    builder = _Builder(analysis.lines.range_at(start, offset), snippets)
    head = text[:start].rstrip(" \t")
    if head.endswith(".") and not prefix.startswith("$"):
        _members(analysis, builder, head[:-1])
    elif _after_dealloc_assignment(analysis, start):
        for keyword in DEALLOC_KEYWORDS:
            builder.add(keyword, types.CompletionItemKind.Keyword, "dealloc option", docs.keyword_doc(keyword))
    else:
        _names(analysis, builder, start, dollar=prefix.startswith("$"))
    return types.CompletionList(is_incomplete=False, items=builder.items)


def _after_dealloc_assignment(analysis: Analysis, offset: int) -> bool:
    """Whether the statement before `offset` is exactly `$NodeDeallocationOption =` (comments and
    line breaks aside)."""
    statement: list[str] = []
    for token in analysis.index.tokens:
        if token.offset >= offset:
            break
        if token.type == "SEMI":
            statement = []
        elif token.type not in ("WS", "COMMENT"):
            statement.append(token.text)
    return statement == ["$NodeDeallocationOption", "="]


def _in_comment_or_string(line_before: str) -> bool:
    """Whether the end of `line_before` (a line up to the cursor) is inside a `//` comment or a string."""
    in_string = False
    for i, char in enumerate(line_before):
        if char == '"':
            in_string = not in_string
        elif not in_string and line_before.startswith("//", i):
            return True
    return in_string


def _members(analysis: Analysis, builder: _Builder, target_text: str) -> None:
    """Methods or fields after a `.`: which ones depends on the type of what stands before it."""
    kind = _target_type(analysis, target_text)
    if kind in (SAMPLE, None):
        for method in SAMPLE_METHODS:
            signatures = docs.method_signatures(method)
            builder.add(method, types.CompletionItemKind.Method, signatures[0], docs.method_doc(method), call=True)
    if kind in (TIMESTAMP, None):
        for name in TIMESTAMP_FIELDS:
            builder.add(name, types.CompletionItemKind.Field, "timestamp field → double", docs.field_doc(name))


def _target_type(analysis: Analysis, target_text: str) -> str | None:
    """The type of the expression ending `target_text`, as far as its last token tells."""
    stripped = target_text.rstrip()
    if stripped.endswith(")"):
        call = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*\([^()]*\)$", stripped)
        if call and call.group(1) == "time":
            return TIMESTAMP
        return "other" if call else None
    name = re.search(r"\$?[A-Za-z_][A-Za-z0-9_]*$", stripped)
    if name is None:
        return "other"
    if name.group() in SAMPLED:
        return SAMPLE
    if name.group() in _SERVICE:
        return "other"
    scope = analysis.index.in_scope(analysis.index.statement_at(len(stripped)))
    definition = scope.get(name.group())
    if definition is None:
        return None
    kind = analysis.index.type_of(definition)
    return kind if kind in (SAMPLE, TIMESTAMP) else None if kind is None else "other"


def _names(analysis: Analysis, builder: _Builder, offset: int, *, dollar: bool) -> None:
    index = analysis.index
    for name, definition in index.in_scope(index.statement_at(offset)).items():
        if name in _SERVICE or (dollar and not name.startswith("$")):
            continue
        kind = index.type_of(definition) or "unknown type"
        line = analysis.lines.position_at(definition.start).line + 1
        builder.add(
            name,
            types.CompletionItemKind.Variable,
            f"user variable: {kind}",
            f"Assigned on line {line}.",
            sort_group=0,
        )
    for name in _SERVICE:
        builder.add(name, types.CompletionItemKind.Variable, docs.variable_summary(name), docs.variable_doc(name))
    if dollar:
        return
    for name in FUNCTIONS:
        if analysis.strict and name in STRICT_OFF_FUNCTIONS:
            continue
        signatures = docs.function_signatures(name)
        builder.add(
            name, types.CompletionItemKind.Function, signatures[0], docs.function_doc(name), call=True, sort_group=2
        )
    for name in TIME_CONSTANTS:
        builder.add(name, types.CompletionItemKind.Constant, "timeinterval", docs.constant_doc(name), sort_group=3)
