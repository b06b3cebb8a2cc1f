"""Code actions: fixes for the findings whose fix is mechanical (the text change follows from the
finding alone and keeps what the formula does, or does what the finding says), and the
"evaluate" source action.

- BS107 deprecated name → its current name, every occurrence at once. For the target aliases
  (`$TargetDedicated`, `$TargetLowPriority`) only when the formula never writes the full name: the
  alias is a separate slot and the full name wins (formula reference §5.1), so renaming one of
  two would change the result. `retaineddata` → `taskcompletion` is offered but not preferred: it
  no longer waits for data retention.
- BS111 empty statement → the extra `;` deleted.
- BS102 percentage compared with a fraction → the fraction × 100 (not preferred: it guesses the intent).
- `Missing ';' between statements` → `;` inserted after the previous token.
- `Unexpected character '&'` (or `|`) → the logical operator `&&` (or `||`).
"""

from __future__ import annotations

from collections.abc import Sequence

from lsprotocol import types

from batchsim.formula import ast
from batchsim.formula.diagnostics import Diagnostic, Span
from batchsim.formula.symbols import DEPRECATED, TARGET_ALIASES
from batchsim.lsp.diagnostics import to_lsp
from batchsim.lsp.document import Analysis
from batchsim.lsp.evaluate import COMMAND
from batchsim.lsp.inference import walk

__all__ = ["KINDS", "code_actions"]

KINDS = [types.CodeActionKind.QuickFix, types.CodeActionKind.Source]


def _overlaps(span: Span, request: types.Range) -> bool:
    """Whether a finding shares a line with the requested range: fixes are offered on the whole line."""
    return span.line - 1 <= request.end.line and span.end_line - 1 >= request.start.line


def _wanted(kind: str, only: Sequence[str] | None) -> bool:
    """LSP's `only` filter: a kind is wanted when it is, or falls under, one of the asked kinds."""
    return only is None or any(kind == asked or kind.startswith(f"{asked}.") for asked in only)


def code_actions(analysis: Analysis, request: types.Range, only: Sequence[str] | None = None) -> list[types.CodeAction]:
    actions: dict[str, types.CodeAction] = {}
    if not _wanted(types.CodeActionKind.QuickFix, only):
        return _evaluate(analysis, only)
    for finding in analysis.findings:
        if not _overlaps(finding.span, request):
            continue
        fix = _fix(analysis, finding)
        if fix is None:
            continue
        title, edits, preferred = fix
        diagnostic = to_lsp(finding, analysis.lines)
        if title in actions:  # one action for every finding it fixes (a name used in several places)
            existing = actions[title]
            existing.diagnostics = [*(existing.diagnostics or []), diagnostic]
            continue
        actions[title] = types.CodeAction(
            title=title,
            kind=types.CodeActionKind.QuickFix,
            diagnostics=[diagnostic],
            is_preferred=preferred,
            edit=types.WorkspaceEdit(changes={analysis.uri: edits}),
        )
    return [*actions.values(), *_evaluate(analysis, only)]


def _evaluate(analysis: Analysis, only: Sequence[str] | None) -> list[types.CodeAction]:
    if not _wanted(types.CodeActionKind.Source, only):
        return []
    command = types.Command(title="Evaluate the formula", command=COMMAND, arguments=[analysis.uri])
    return [
        types.CodeAction(
            title="Evaluate the formula (batchsim eval)", kind=types.CodeActionKind.Source, command=command
        )
    ]


def _offset(analysis: Analysis, line: int, column: int) -> int:
    return analysis.lines.offset(analysis.lines.position(line, column))


def _fix(analysis: Analysis, finding: Diagnostic) -> tuple[str, list[types.TextEdit], bool] | None:
    span = finding.span
    start = _offset(analysis, span.line, span.column)
    end = _offset(analysis, span.end_line, span.end_column)
    if finding.code == "BS107":
        return _rename_deprecated(analysis, analysis.text[start:end])
    if finding.code == "BS111" and analysis.text[start:end] == ";":
        return (
            "Remove the empty statement",
            [types.TextEdit(range=analysis.lines.range_at(start, end), new_text="")],
            True,
        )
    if finding.code == "BS102":
        return _percent(analysis, span)
    if finding.code == "AutoScalingFormulaSyntaxError":
        if finding.message.startswith("Missing ';'"):
            found = analysis.index.token_at(start)
            index = found[0] if found is not None else 0
            previous = analysis.index.significant(index, -1)
            if previous is not None:
                where = analysis.lines.range_at(previous.end, previous.end)
                return "Insert ';'", [types.TextEdit(range=where, new_text=";")], True
        for char in "&|":
            if f"(the logical operator is '{char * 2}')" in finding.message:
                edit = types.TextEdit(range=analysis.lines.range_at(start, start + 1), new_text=char * 2)
                return f"Replace '{char}' with '{char * 2}'", [edit], True
    return None


def _rename_deprecated(analysis: Analysis, name: str) -> tuple[str, list[types.TextEdit], bool] | None:
    if name not in DEPRECATED:
        return None
    replacement = DEPRECATED[name].split()[0]
    names = [t for t in analysis.index.tokens if t.type == "NAME"]
    if name in TARGET_ALIASES and any(t.text == replacement for t in names):
        return None  # both slots in use: renaming would change which value wins
    edits = [
        types.TextEdit(range=analysis.lines.range_at(t.offset, t.end), new_text=replacement)
        for t in names
        if t.text == name
    ]
    places = f" ({len(edits)} places)" if len(edits) > 1 else ""
    return f"Replace {name} with {replacement}{places}", edits, name != "retaineddata"


def _percent(analysis: Analysis, span: Span) -> tuple[str, list[types.TextEdit], bool] | None:
    tree = analysis.tree
    if tree is None:
        return None
    for node in walk(tree):
        if isinstance(node, ast.Binary) and node.op_span == span:
            for side in (node.left, node.right):
                if isinstance(side, ast.Number) and 0 < side.value < 1:
                    number = f"{side.value * 100:g}"
                    s = side.span
                    where = analysis.lines.range(s)
                    return (
                        f"Compare with {number} (GetSamplePercent is 0–100)",
                        [types.TextEdit(range=where, new_text=number)],
                        False,
                    )
    return None
