"""`batchsim lsp` end to end: a real LSP client (pygls's) talks to the server process over stdio."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsp_client import Session
from lsprotocol import types

from batchsim.formula import check
from batchsim.formula.reformat import reformat

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus" / "formulas"
_LINE_END = re.compile(r"\r\n|\r|\n")

BROKEN = '// café ☕, then 😋: positions count UTF-16 code units\nlabel = "😋😋";\n$TargetDedicated = max(1, %);\n'
FIXED = "// café ☕\nn = 2;\n$TargetDedicatedNodes = max(1, n);\n"


def lines_of(text: str) -> list[str]:
    return _LINE_END.split(text)


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def expected(text: str, encoding: str = "utf-16") -> list[tuple[str, str, int, tuple[int, int, int, int]]]:
    """`check`'s findings as an LSP client must see them, computed here from the text alone."""
    lines = lines_of(text)

    def unit(line: int, column: int) -> tuple[int, int]:
        index = min(line - 1, len(lines) - 1)
        prefix = lines[index][: column - 1]
        return index, utf16(prefix) if encoding == "utf-16" else len(prefix.encode("utf-8"))

    severity = {"error": 1, "warning": 2, "info": 3}
    found = []
    for d in check(text):
        start, end = unit(d.span.line, d.span.column), unit(d.span.end_line, d.span.end_column)
        found.append((d.code, d.message, severity[d.severity.value], (*start, *end)))
    return found


def seen(diagnostics: list[types.Diagnostic]) -> list[tuple[str, str, int, tuple[int, int, int, int]]]:
    return [
        (
            str(d.code),
            d.message,
            int(d.severity or 0),
            (d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character),
        )
        for d in diagnostics
    ]


@pytest.fixture(scope="module")
def session() -> Iterator[Session]:
    server = Session(initialization_options={"debounceMs": 10})
    yield server
    assert server.shutdown() == 0
    errors = [m for m in server.messages if m.type == types.MessageType.Error]
    assert not errors, errors


def test_initialize_announces_the_features(session: Session) -> None:
    capabilities = session.initialize_result.capabilities
    assert capabilities.position_encoding == types.PositionEncodingKind.Utf16
    sync = capabilities.text_document_sync
    assert isinstance(sync, types.TextDocumentSyncOptions) and sync.change == types.TextDocumentSyncKind.Full
    assert capabilities.hover_provider and capabilities.definition_provider and capabilities.references_provider
    assert capabilities.document_symbol_provider and capabilities.document_formatting_provider
    assert capabilities.completion_provider is not None
    assert set(capabilities.completion_provider.trigger_characters or []) == {"$", "."}
    assert capabilities.code_action_provider and capabilities.rename_provider
    assert capabilities.execute_command_provider is not None
    assert list(capabilities.execute_command_provider.commands) == ["batchsim.evaluate"]
    assert session.initialize_result.server_info is not None
    assert session.initialize_result.server_info.name == "batchsim"


def test_a_broken_formula_gets_checks_findings_at_utf16_positions(session: Session) -> None:
    uri = "file:///tmp/broken.formula"
    session.open(uri, BROKEN)
    diagnostics = session.diagnostics(uri)
    assert seen(diagnostics) == expected(BROKEN)
    (error,) = [d for d in diagnostics if d.severity == types.DiagnosticSeverity.Error]
    assert error.code == "AutoScalingFormulaSyntaxError" and error.message.startswith("Unexpected character '%'")
    # `%` is the 27th code point of line 3, after no astral character: column 26 in UTF-16 too.
    assert (error.range.start.line, error.range.start.character) == (2, 26)

    session.change(uri, BROKEN.replace("%", "2"))
    warnings = session.diagnostics(uri)
    assert [d.code for d in warnings] == ["BS109", "BS107"]  # label unused; $TargetDedicated deprecated
    emoji = '// 😋😋 ok\nx = "😋" + %;'
    session.change(uri, emoji)
    (error,) = session.diagnostics(uri)
    # `%` is code point 11 of line 2; the emoji before it takes two UTF-16 units.
    assert (error.range.start.line, error.range.start.character) == (1, 11)
    assert seen([error]) == expected(emoji)[:1]


def test_a_change_that_fixes_the_error_clears_it(session: Session) -> None:
    uri = "file:///tmp/fixed.formula"
    session.open(uri, BROKEN)
    assert any(d.severity == types.DiagnosticSeverity.Error for d in session.diagnostics(uri))
    session.change(uri, FIXED)
    assert list(session.diagnostics(uri)) == []
    session.close(uri)
    # Closing clears the document's diagnostics (a publication without a version).
    session.wait_for(uri, lambda params: params.version is None and not params.diagnostics)


def test_documents_that_are_not_formulas_are_left_alone(session: Session) -> None:
    notes = "file:///tmp/notes.txt"
    session.open(notes, "shopping list: eggs; milk %", language_id="plaintext")
    formula = "file:///tmp/named.anything"
    session.open(formula, "x = %", language_id="batchsim-formula")
    assert session.diagnostics(formula)[0].code == "AutoScalingFormulaSyntaxError"
    assert session.hover(notes, 0, 2) is None and session.complete(notes, 0, 1) == []
    assert not [p for _, p in session.published if p.uri == notes]
    session.close(notes)
    session.close(formula)


@pytest.mark.conformance
def test_every_corpus_formula_gets_exactly_checks_findings(session: Session) -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    paths = sorted(CORPUS.glob("*.formula")) + sorted((ROOT / "formulas").glob("*.formula"))
    for path in paths:
        text = path.read_text(encoding="utf-8")
        uri = path.resolve().as_uri()
        session.open(uri, text)
        assert seen(session.diagnostics(uri)) == expected(text), path.name
        session.close(uri)
    assert len(paths) > 80


def test_hover_completion_definition_and_symbols_over_stdio(session: Session) -> None:
    uri = "file:///tmp/features.formula"
    text = (
        "samples = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 3);\n"
        "tasks = samples < 70 ? 1 : avg($PendingTasks.GetSample(TimeInterval_Minute * 3));\n"
        "$TargetDedicatedNodes = min(10, tasks);\n"
        "$NodeDeallocationOption = \n"
    )
    session.open(uri, text)
    session.diagnostics(uri)
    hover = session.hover(uri, 0, 14)
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "sample object" in hover.contents.value and "**sampled**" in hover.contents.value
    assert hover.range == types.Range(
        start=types.Position(line=0, character=10), end=types.Position(line=0, character=23)
    )
    hover = session.hover(uri, 2, 33)
    assert hover is not None and "tasks: double" in hover.contents.value  # type: ignore[union-attr]

    methods = [i.label for i in session.complete(uri, 0, 24)]
    assert methods == ["GetSample", "GetSamplePercent", "GetSamplePeriod", "Count", "HistoryBeginTime"]
    keywords = [i.label for i in session.complete(uri, 3, 26)]
    assert keywords == ["requeue", "terminate", "taskcompletion", "retaineddata"]
    names = {i.label for i in session.complete(uri, 2, 24)}
    assert {"samples", "tasks", "min", "$PendingTasks", "TimeInterval_Hour"} <= names

    (location,) = session.definition(uri, 2, 33)
    assert location.range.start == types.Position(line=1, character=0)
    references = session.references(uri, 1, 2)
    assert [(r.range.start.line, r.range.start.character) for r in references] == [(1, 0), (2, 32)]
    symbols = [s.name for s in session.symbols(uri)]
    assert symbols == ["samples", "tasks", "$TargetDedicatedNodes", "$NodeDeallocationOption"]  # the last half typed
    help_ = session.signature_help(uri, 2, 32)
    # the second argument still belongs to the one variadic parameter L (issue 25: was 1, out of range)
    assert help_ is not None and help_.signatures[0].label == "min(L) → double" and help_.active_parameter == 0


def test_formatting_through_the_server_keeps_comments(session: Session) -> None:
    uri = "file:///tmp/format.formula"
    text = "// why\nx=1;y =x*2 ; // because\n$TargetDedicatedNodes=min(y,3)"
    session.open(uri, text)
    session.diagnostics(uri)
    (edit,) = session.format(uri) or []
    assert edit.range.start == types.Position(line=0, character=0)
    assert edit.range.end == types.Position(line=2, character=len("$TargetDedicatedNodes=min(y,3)"))
    assert (
        edit.new_text
        == reformat(text)
        == "// why\nx = 1;\ny = x * 2;  // because\n$TargetDedicatedNodes = min(y, 3);\n"
    )
    session.change(uri, edit.new_text)
    session.diagnostics(uri)
    assert not session.format(uri)
    session.change(uri, "x = (1 + ;")
    session.diagnostics(uri)
    assert not session.format(uri)  # a formula that does not parse is never rewritten


def test_code_action_fixes_and_evaluate_command(session: Session, tmp_path: Path) -> None:
    formula = tmp_path / "queue.formula"
    text = "$TargetDedicated = max($PendingTasks.GetSample(1));\n"
    formula.write_text(text)
    (tmp_path / "queue.context.json").write_text(
        json.dumps({"time": "2026-01-05T12:00:00Z", "samples": {"$PendingTasks": {"values": [4, 9]}}})
    )
    uri = formula.resolve().as_uri()
    session.open(uri, text)
    session.diagnostics(uri)
    found = session.code_actions(uri, 0, 1)
    fixes = [a for a in found if isinstance(a, types.CodeAction) and a.edit is not None]
    (fix,) = [a for a in fixes if a.title.startswith("Replace $TargetDedicated")]
    assert fix.is_preferred and fix.diagnostics and fix.diagnostics[0].code == "BS107"
    assert fix.edit is not None and fix.edit.changes is not None
    (edit,) = fix.edit.changes[uri]
    assert edit.new_text == "$TargetDedicatedNodes" and edit.range.end == types.Position(line=0, character=16)
    result = session.execute("batchsim.evaluate", uri)
    assert result == "$TargetDedicatedNodes=9;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue"
    assert any(getattr(m, "message", "") == result for m in session.messages)


def test_a_formula_too_deep_for_the_checker_gets_a_diagnostic_not_a_dead_server(session: Session) -> None:
    uri = "file:///tmp/deep.formula"
    # Deep enough for Python's recursion limit in today's checker; with an error in it either way.
    chain = "$TargetDedicatedNodes = " + "+".join(["1"] * 1500) + " + $undefined;"
    session.open(uri, chain)
    diagnostics = session.diagnostics(uri)
    assert any(d.severity == types.DiagnosticSeverity.Error for d in diagnostics)
    assert session.hover(uri, 0, 3) is not None
    session.complete(uri, 0, 30)
    session.format(uri)
    session.symbols(uri)
    session.code_actions(uri, 0, 1)


def test_debounce_publishes_only_the_last_of_quick_changes() -> None:
    server = Session(initialization_options={"debounceMs": 300})
    try:
        uri = "file:///tmp/debounce.formula"
        server.open(uri, "x = 1;")
        server.diagnostics(uri)
        for k in range(2, 7):
            last_sent = server.change(uri, f"$TargetDedicatedNodes = {k};")
        received, params = server.wait_publication(uri)
        assert params.version == 6 and not params.diagnostics
        assert received - last_sent >= 0.29
        time.sleep(0.4)
        assert {p.version for _, p in server.published if p.uri == uri} == {1, 6}
    finally:
        assert server.shutdown() == 0


def test_utf8_positions_when_the_client_asks_for_them() -> None:
    server = Session(position_encodings=[types.PositionEncodingKind.Utf8, types.PositionEncodingKind.Utf16])
    try:
        assert server.initialize_result.capabilities.position_encoding == types.PositionEncodingKind.Utf8
        uri = "file:///tmp/utf8.formula"
        text = 'x = "é😋" + %;'
        server.open(uri, text)
        (error,) = server.diagnostics(uri)
        assert (error.range.start.line, error.range.start.character) == (0, 15)  # é 2 bytes, 😋 4
        assert seen([error]) == expected(text, "utf-8")
    finally:
        assert server.shutdown() == 0


def test_the_console_script_serves_and_exits_cleanly() -> None:
    script = Path(sys.executable).with_name("batchsim")
    if not script.exists():
        pytest.skip("the batchsim console script is not installed beside this interpreter")
    server = Session([str(script), "lsp", "--stdio"])
    uri = "file:///tmp/script.formula"
    server.open(uri, "$TargetDedicatedNodes = max(;")
    assert server.diagnostics(uri)[0].code == "AutoScalingFormulaSyntaxError"
    assert server.shutdown() == 0


def test_the_server_exits_when_its_editor_goes_away() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "batchsim", "lsp"], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr


def test_without_the_extra_the_command_names_it() -> None:
    program = (
        "import sys; sys.modules['pygls'] = None; sys.argv = ['batchsim', 'lsp']\nfrom batchsim.cli import main\nmain()"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 2
    assert "pip install 'batchsim[lsp]'" in done.stderr and "Traceback" not in done.stderr


# -- random edits never kill the server -----------------------------------------------------------------

_ALPHABET = [
    *"ab$_1.;()=+-*/<>!&|?:\"' \n\t\r%/TGS",
    "😋",
    "é",
    "\u2028",
    "\x0c",
    "\ufeff",
    "//",
    "$PendingTasks.",
]
_SEED = (ROOT / "formulas" / "pending-tasks.formula").read_text(encoding="utf-8")
edits = st.lists(
    st.tuples(st.floats(0, 1), st.integers(0, 12), st.lists(st.sampled_from(_ALPHABET), max_size=6).map("".join)),
    min_size=1,
    max_size=6,
)


def _within(text: str, position: types.Position) -> bool:
    lines = lines_of(text)
    return position.line < len(lines) and position.character <= utf16(lines[position.line])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=edits, probes=st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=3))
def test_random_edits_never_kill_the_server(
    session: Session, edits: list[tuple[float, int, str]], probes: list[tuple[float, float]]
) -> None:
    uri = "file:///tmp/fuzz.formula"
    text = _SEED
    session.open(uri, text)
    for where, delete, insert in edits:
        at = int(where * len(text))
        text = text[:at] + insert + text[at + delete :]
        session.change(uri, text)
    diagnostics = session.diagnostics(uri)
    for d in diagnostics:
        assert _within(text, d.range.start) and _within(text, d.range.end), (text, d)
    lines = lines_of(text)
    for line_fraction, column_fraction in probes:
        line = int(line_fraction * (len(lines) - 1))
        position = (line, int(column_fraction * utf16(lines[line])))
        session.hover(uri, *position)
        session.complete(uri, *position)
        session.definition(uri, *position)
        session.signature_help(uri, *position)
    session.symbols(uri)
    session.code_actions(uri, 0, len(lines))
    session.format(uri)
    session.close(uri)
