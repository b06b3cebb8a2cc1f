"""The editor features on documents, in process (the end-to-end tests drive the same code over stdio)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types

from batchsim.formula import check
from batchsim.formula.symbols import DEALLOC_KEYWORDS, FUNCTIONS, SAMPLE_METHODS, TIME_CONSTANTS, TIMESTAMP_FIELDS
from batchsim.lsp import actions, completion, docs, hover, navigation
from batchsim.lsp.document import Analysis
from batchsim.lsp.signatures import signature_help

URI = "file:///work/f.formula"
ROOT = Path(__file__).resolve().parents[2]


def analysis(text: str) -> Analysis:
    return Analysis(URI, text, 1)


def at(text: str, marker: str = "|") -> tuple[str, types.Position]:
    """The text without `marker`, and the LSP position where it stood (ASCII tests: code points)."""
    offset = text.index(marker)
    before = text[:offset]
    line = before.count("\n")
    return text.replace(marker, "", 1), types.Position(line=line, character=offset - (before.rfind("\n") + 1))


def hover_text(source: str) -> str:
    text, position = at(source)
    result = hover.hover(analysis(text), position)
    assert result is not None, source
    assert isinstance(result.contents, types.MarkupContent)
    return result.contents.value


def labels(source: str) -> list[str]:
    text, position = at(source)
    return [item.label for item in completion.complete(analysis(text), position).items]


def apply(text: str, edits: list[types.TextEdit]) -> str:
    """Apply LSP edits (non-overlapping) to `text`."""
    a = analysis(text)
    spans = sorted(((a.offset(e.range.start), a.offset(e.range.end), e.new_text) for e in edits), reverse=True)
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


# -- hover -------------------------------------------------------------------------------------


def test_hover_on_a_sampled_variable_names_type_access_sampling_and_meaning() -> None:
    text = hover_text("x = $Pending|Tasks.GetSample(1);")
    assert "sample object" in text and "**read-only**" in text and "**sampled** (task counts)" in text
    assert "active or running" in text and "GetSamplePercent" in text


def test_hover_on_a_target_shows_its_alias_and_on_the_alias_its_full_name() -> None:
    full = hover_text("$TargetDedicated|Nodes = 1;")
    assert "**read-write**" in full and "**not sampled**" in full and "`$TargetDedicated` (deprecated)" in full
    alias = hover_text("$TargetDed|icated = 1;")
    assert "Deprecated: use `$TargetDedicatedNodes`" in alias and "full name's value wins" in alias


def test_hover_on_functions_methods_fields_constants_keywords() -> None:
    assert "avg(L) → double" in hover_text("x = av|g(1, 2);")
    log = hover_text("x = l|og(10);")
    assert "log(double x) → double" in log and "log(L) → doubleVec" in log
    assert "percentile(doubleVec v, double p) → double" in hover_text("x = percentile|($CPUPercent.GetSample(1), 5);")
    sample = hover_text("x = $CPUPercent.GetSam|ple(TimeInterval_Minute);")
    assert "GetSample(bound start [, double pct]) → doubleVec" in sample and "InsufficientSampleData" in sample
    assert "GetSamplePercent(bound start [, bound end]) → double" in hover_text("x = $CPUPercent.GetSamplePerc|ent(1);")
    assert "1 = Monday" in hover_text("x = time().week|day;")
    minute = hover_text("x = TimeInterval_Min|ute;")
    assert "60 s" in minute and "600,000,000 ticks" in minute
    assert "Lets running tasks finish" in hover_text("$NodeDeallocationOption = taskcompl|etion;")


def test_hover_on_a_user_variable_says_where_it_is_assigned_and_its_type() -> None:
    source = "now = time();\nwindow = TimeInterval_Minute * 5;\nx = 1;\nsamples = $CPUPercent.GetSample(window);\ny = avg(samp|les) + x;"
    text = hover_text(source)
    assert "samples: doubleVec" in text and "assigned on line 4" in text.lower()
    assert "now: timestamp" in hover_text("now| = time();")
    assert "window: timeinterval" in hover_text("window = TimeInterval_Minute * 5;\nz = win|dow;")


def test_hover_on_a_read_before_assignment_warns_of_undefined_symbol() -> None:
    text = hover_text("y = x| + 1;\nx = 2;")
    assert "Not assigned before this statement" in text and "Assigned on line 2" in text


def test_hover_works_on_text_that_does_not_parse() -> None:
    text = hover_text("a = $ActiveTasks.GetSample(1);\nb = avg(a) +;\nc = a| + ")
    assert "a: doubleVec" in text


def test_every_name_of_the_language_has_a_text() -> None:
    for name in docs.KNOWN_NAMES:
        found = (
            docs.variable_doc(name)
            or docs.function_doc(name)
            or docs.method_doc(name)
            or docs.field_doc(name)
            or docs.constant_doc(name)
            or docs.keyword_doc(name)
        )
        assert found, name


# -- completion --------------------------------------------------------------------------------


def test_completion_after_dollar_offers_service_and_dollar_user_variables_only() -> None:
    found = labels("$tasks = 1;\nx = 2;\n$TargetDedicatedNodes = $|")
    assert {"$PendingTasks", "$TargetLowPriorityNodes", "$CPUPercent", "$tasks"} <= set(found)
    assert "x" not in found and "avg" not in found


def test_completion_replaces_the_dollar_typed() -> None:
    text, position = at("x = $Pen|")
    items = completion.complete(analysis(text), position).items
    item = next(i for i in items if i.label == "$PendingTasks")
    assert isinstance(item.text_edit, types.TextEdit)
    assert apply(text, [item.text_edit]) == "x = $PendingTasks"


def test_completion_after_a_dot_on_a_sampled_variable_offers_its_methods() -> None:
    assert labels("x = $PendingTasks.|") == list(SAMPLE_METHODS)
    assert labels("x = $PendingTasks.GetS|") == list(SAMPLE_METHODS)  # the client filters by prefix


def test_completion_after_a_dot_on_a_timestamp_offers_its_fields() -> None:
    assert labels("x = time().|") == list(TIMESTAMP_FIELDS)
    assert labels("now = time();\nh = now.|") == list(TIMESTAMP_FIELDS)
    assert labels("n = 1;\nh = n.|") == []


def test_completion_after_the_deallocation_option_offers_the_keywords() -> None:
    assert labels("$NodeDeallocationOption = |") == list(DEALLOC_KEYWORDS)
    assert labels("x = 1;\n  $NodeDeallocationOption=task|") == list(DEALLOC_KEYWORDS)
    assert labels("x = 1;\n// how tasks end\n$NodeDeallocationOption =\n  // keep them\n  |") == list(DEALLOC_KEYWORDS)
    assert "requeue" not in labels("$TargetDedicatedNodes = |")


def test_completion_offers_user_variables_in_scope_only() -> None:
    found = labels("a = 1;\nb = |;\nc = 3;")
    assert "a" in found and "c" not in found and "b" not in found
    assert set(FUNCTIONS) <= set(found) and set(TIME_CONSTANTS) <= set(found)


def test_no_completion_inside_comments_or_strings() -> None:
    assert labels("// $Pend|") == []
    assert labels('x = time("2024|') == []


def test_function_completion_uses_a_snippet_when_the_client_can() -> None:
    text, position = at("x = ma|")
    items = completion.complete(analysis(text), position, snippets=True).items
    item = next(i for i in items if i.label == "max")
    assert item.insert_text_format == types.InsertTextFormat.Snippet and item.text_edit.new_text == "max($0)"


# -- signature help ------------------------------------------------------------------------------


def test_signature_help_knows_the_argument_under_the_cursor() -> None:
    text, position = at("x = $CPUPercent.GetSample(TimeInterval_Minute, |")
    result = signature_help(analysis(text), position)
    assert result is not None and result.active_parameter == 1
    assert result.signatures[result.active_signature or 0].label.startswith("GetSample(bound start")
    text, position = at("x = max(1, (2 + |3))")
    result = signature_help(analysis(text), position)
    assert result is not None and result.signatures[0].label == "max(L) → double"


# -- definition, references, symbols, rename --------------------------------------------------------


def test_definition_is_the_latest_earlier_assignment() -> None:
    source = "n = 1;\nn = n + 1;\nm = n|;"
    text, position = at(source)
    (location,) = navigation.definition(analysis(text), position)
    assert location.range.start == types.Position(line=1, character=0)
    text, position = at("n = 1;\nn = n| + 1;")
    (location,) = navigation.definition(analysis(text), position)
    assert location.range.start.line == 0


def test_references_list_every_occurrence() -> None:
    text, position = at("n| = 1;\nm = n * n;\n$TargetDedicatedNodes = m + n;")
    refs = navigation.references(analysis(text), position, include_declaration=True)
    assert [(r.range.start.line, r.range.start.character) for r in refs] == [(0, 0), (1, 4), (1, 8), (2, 28)]
    assert len(navigation.references(analysis(text), position, include_declaration=False)) == 3


def test_document_symbols_list_assignments_with_types() -> None:
    text = "// header\nnow = time();\n$TargetDedicatedNodes = 1;\nx = $PendingTasks.GetSample(1);"
    symbols = navigation.document_symbols(analysis(text))
    assert [(s.name, s.kind, s.detail) for s in symbols] == [
        ("now", types.SymbolKind.Variable, "user variable: timestamp"),
        ("$TargetDedicatedNodes", types.SymbolKind.Property, "service variable: double"),
        ("x", types.SymbolKind.Variable, "user variable: doubleVec"),
    ]


def test_rename_changes_every_occurrence_and_refuses_reserved_names() -> None:
    text, position = at("n| = 1;\n$TargetDedicatedNodes = n;")
    edit = navigation.rename(analysis(text), position, "nodes")
    assert edit is not None and edit.changes is not None
    assert apply(text, list(edit.changes[URI])) == "nodes = 1;\n$TargetDedicatedNodes = nodes;"
    for bad in ("max", "TimeInterval_Hour", "requeue", "$PendingTasks", "1x"):
        with pytest.raises(ValueError):
            navigation.rename(analysis(text), position, bad)
    assert (
        navigation.prepare_rename(analysis("$TargetDedicatedNodes = 1;"), types.Position(line=0, character=2)) is None
    )


# -- code actions ----------------------------------------------------------------------------------------


def fixes(text: str) -> list[types.CodeAction]:
    whole = types.Range(
        start=types.Position(line=0, character=0), end=types.Position(line=text.count("\n") + 1, character=0)
    )
    return [a for a in actions.code_actions(analysis(text), whole) if a.kind == types.CodeActionKind.QuickFix]


def fixed(text: str, title_start: str) -> str:
    action = next(a for a in fixes(text) if a.title.startswith(title_start))
    assert action.edit is not None and action.edit.changes is not None
    return apply(text, list(action.edit.changes[URI]))


def codes(text: str) -> set[str]:
    return {d.code for d in check(text)}


def test_deprecated_alias_is_renamed_everywhere_and_the_result_is_the_same() -> None:
    from batchsim.formula import EvalContext, compile

    text = "$TargetDedicated = 3;\nx = $TargetDedicated * 2;\n$TargetDedicated = min(x, 10);"
    after = fixed(text, "Replace $TargetDedicated with $TargetDedicatedNodes")
    assert "$TargetDedicated " not in after and after.count("$TargetDedicatedNodes") == 3
    assert "BS107" not in codes(after)
    context = EvalContext(now_tick=10**17, target_dedicated_nodes=1)
    assert compile(after).evaluate(context).results == compile(text).evaluate(context).results


def test_alias_fix_is_withheld_when_the_full_name_is_also_assigned() -> None:
    text = "$TargetDedicatedNodes = 5;\n$TargetDedicated = 3;"
    assert not [a for a in fixes(text) if "$TargetDedicatedNodes" in a.title]


def test_other_mechanical_fixes_remove_their_finding() -> None:
    cases = [
        ("x = $CurrentDedicated;\n$TargetDedicatedNodes = x;", "Replace $CurrentDedicated", "BS107"),
        ("$TargetDedicatedNodes = 1;;\n", "Remove the empty statement", "BS111"),
        (
            "p = $CPUPercent.GetSamplePercent(TimeInterval_Minute * 10);\n$TargetDedicatedNodes = p < 0.7 ? 1 : 2;",
            "Compare with 70",
            "BS102",
        ),
        ("x = 1\n$TargetDedicatedNodes = x;", "Insert ';'", "AutoScalingFormulaSyntaxError"),
        ("$TargetDedicatedNodes = 1 & 2;", "Replace '&' with '&&'", "AutoScalingFormulaSyntaxError"),
        ("$TargetDedicatedNodes = 1 | 2;", "Replace '|' with '||'", "AutoScalingFormulaSyntaxError"),
        ("$NodeDeallocationOption = retaineddata;\n$TargetDedicatedNodes = 1;", "Replace retaineddata", "BS107"),
    ]
    for text, title, code in cases:
        assert code in codes(text), text
        after = fixed(text, title)
        assert code not in codes(after), (text, after)
    assert fixed("x = 1 // why\ny = 2;", "Insert ';'") == "x = 1; // why\ny = 2;"


def test_the_evaluate_action_is_a_source_action_and_respects_only() -> None:
    whole = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=1, character=0))
    found = actions.code_actions(analysis("$TargetDedicated = 1;"), whole, [types.CodeActionKind.Source])
    assert [a.kind for a in found] == [types.CodeActionKind.Source]
    assert found[0].command is not None and found[0].command.arguments == [URI]
    found = actions.code_actions(analysis("$TargetDedicated = 1;"), whole, [types.CodeActionKind.QuickFix])
    assert [a.kind for a in found] == [types.CodeActionKind.QuickFix]


# -- evaluate --------------------------------------------------------------------------------------------


def test_evaluate_uses_the_context_beside_the_formula(tmp_path: Path) -> None:
    from batchsim.lsp.evaluate import context_for, evaluate_text

    formula = tmp_path / "queue.formula"
    text = "$TargetDedicatedNodes = max($PendingTasks.GetSample(1));"
    formula.write_text(text)
    assert context_for(formula, None) is None
    (tmp_path / "queue.context.json").write_text(
        '{"time": "2026-01-05T12:00:00Z", "samples": {"$PendingTasks": {"values": [3, 7]}}}'
    )
    assert evaluate_text(text, context_for(formula, None)) == (
        "$TargetDedicatedNodes=7;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue"
    )
    (tmp_path / "other.json").write_text('{"pool": {"bogus": 1}}')
    assert evaluate_text(text, context_for(formula, "other.json")).startswith("error: ")
    assert re.match(r"error: AutoScalingFormulaSyntaxError: Line 1, Col 5: ", evaluate_text("x = %", None))
    assert evaluate_text("x = $y;", None).startswith("error: AutoScalingFormulaEvaluationError: Line 1, Col 5:")


# -- no text breaks a feature ------------------------------------------------------------------------------

_PIECES = [*"ab$_1.;()=+-*/<>!&|?:\"' \n\t\r%", "😋", "\u2028", "//", "$PendingTasks.", "time().", "max(", "GetSample("]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=30).map("".join), st.data())
def test_every_feature_answers_on_any_text(text: str, data: st.DataObject) -> None:
    a = analysis(text)
    lines = a.lines
    line = data.draw(st.integers(0, lines.line_count - 1))
    character = data.draw(st.integers(0, len(lines.line(line)) + 2))
    position = types.Position(line=line, character=character)
    hover.hover(a, position)
    completion.complete(a, position, snippets=True)
    signature_help(a, position)
    navigation.definition(a, position)
    navigation.references(a, position, include_declaration=True)
    navigation.highlights(a, position)
    navigation.document_symbols(a)
    whole = types.Range(
        start=types.Position(line=0, character=0), end=types.Position(line=lines.line_count, character=0)
    )
    actions.code_actions(a, whole)
    for finding in a.findings:
        assert finding.span.line >= 1


def test_a_checker_failure_becomes_a_diagnostic(monkeypatch: pytest.MonkeyPatch) -> None:
    import batchsim.lsp.diagnostics as diagnostics

    def deep(text: str, *, strict: bool = False) -> list[object]:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(diagnostics, "check", deep)
    (finding,) = diagnostics.findings("x = 1;")
    assert finding.code == diagnostics.INTERNAL_CODE and "nested too deeply" in finding.message
    monkeypatch.setattr(diagnostics, "check", lambda text, strict=False: 1 / 0)
    (finding,) = diagnostics.findings("x = 1;")
    assert "ZeroDivisionError" in finding.message


@pytest.mark.parametrize(
    ("source", "label"),
    [
        ("x = max(1, 2, 3, |", "max(L) → double"),  # the fourth argument is still the list's
        ("x = avg($CPUPercent.GetSample(5), 1, |)", "avg(L) → double"),
        ("x = ceil(1, |", "ceil(L) → doubleVec"),  # only the list form takes a second argument
    ],
)
def test_signature_help_points_a_variadic_parameter_at_itself(source: str, label: str) -> None:
    # LSP: activeParameter indexes the signature's parameters; past the last one a client shows none.
    text, position = at(source)
    result = signature_help(analysis(text), position)
    assert result is not None
    signature = result.signatures[result.active_signature or 0]
    assert signature.label == label
    assert result.active_parameter == 0 == signature.active_parameter
    assert signature.parameters is not None and len(signature.parameters) == 1
