"""The server against the LSP specification (issue 25 §4): the answers a client waits for, the
process's exit codes, large documents, byte-order marks, names of formula documents.

Sources: the LSP 3.17 specification, https://microsoft.github.io/language-server-protocol/specifications/lsp/3.17/specification/
("Base Protocol": header names; "Response Message": InvalidParams -32602, ServerNotInitialized
-32002, RequestFailed -32803; "Initialize Request": requests before it; "Exit Notification": exit
code 0 after shutdown, else 1; "processId": exit when the parent process is gone).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lsp_client import Session
from lsprotocol import types
from raw_client import RawServer

from batchsim.formula import check
from batchsim.lsp.document import MAX_DOCUMENT_CHARS

HOVER = {"textDocument": {"uri": "file:///tmp/a.formula"}, "position": {"line": 0, "character": 1}}


@pytest.fixture
def raw() -> RawServer:
    server = RawServer()
    yield server  # type: ignore[misc]
    server.close()


def test_a_request_with_invalid_params_gets_invalid_params_with_its_id(raw: RawServer) -> None:
    raw.initialize()
    answer = raw.request(5, "textDocument/hover", {"textDocument": {"uri": 3}, "position": "nowhere"})
    assert answer["id"] == 5 and answer["error"]["code"] == types.ErrorCodes.InvalidParams == -32602
    assert raw.request(6, "shutdown")["result"] is None  # and the server goes on answering


def test_a_request_before_initialize_gets_server_not_initialized(raw: RawServer) -> None:
    answer = raw.request(1, "textDocument/hover", HOVER)
    assert answer["error"]["code"] == types.ErrorCodes.ServerNotInitialized == -32002
    assert "capabilities" in raw.initialize()["result"]
    assert raw.request(2, "textDocument/hover", HOVER).get("error") is None


@pytest.mark.parametrize("header", ["content-length", "CONTENT-LENGTH", "Content-length"])
def test_header_names_are_case_insensitive(raw: RawServer, header: str) -> None:
    answer = raw.request(0, "initialize", {"processId": None, "capabilities": {}}, header=header)
    assert answer["result"]["serverInfo"]["name"] == "batchsim"


def test_exit_after_shutdown_exits_0(raw: RawServer) -> None:
    raw.initialize()
    raw.request(1, "shutdown")
    # a request after shutdown is answered, not left waiting
    assert raw.request(2, "textDocument/hover", HOVER)["error"]["code"] == types.ErrorCodes.InvalidRequest
    raw.send({"method": "exit"})
    assert raw.exit_code() == 0


def test_exit_without_shutdown_exits_1(raw: RawServer) -> None:
    raw.initialize()
    raw.send({"method": "exit"})
    assert raw.exit_code() == 1


def test_the_server_ends_when_its_parent_process_dies(raw: RawServer) -> None:
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        raw.initialize(process_id=parent.pid)
        time.sleep(1.5)
        assert raw.process.poll() is None  # alive while its parent is
    finally:
        parent.kill()
        parent.wait(10)
    assert raw.exit_code(timeout_s=10) == 1


def test_a_refused_rename_is_request_failed_without_a_traceback(raw: RawServer) -> None:
    raw.initialize()
    uri = "file:///tmp/r.formula"
    text = "a = 1;\nb = a + 1;\n$TargetDedicatedNodes = min(3, b);"
    raw.send(
        {
            "method": "textDocument/didOpen",
            "params": {"textDocument": {"uri": uri, "languageId": "batchsim-formula", "version": 1, "text": text}},
        }
    )
    position = {"line": 0, "character": 0}
    for msg_id, name in ((1, "b"), (2, "3x"), (3, "min")):
        answer = raw.request(
            msg_id, "textDocument/rename", {"textDocument": {"uri": uri}, "position": position, "newName": name}
        )
        assert answer["error"]["code"] == types.LSPErrorCodes.RequestFailed == -32803, answer
        assert name in answer["error"]["message"]
    logged = [m for m in raw.received if m.get("method") in ("window/logMessage", "window/showMessage")]
    raw.request(4, "shutdown")
    raw.send({"method": "exit"})
    assert raw.exit_code() == 0
    assert "Traceback" not in raw.stderr() and not any("Traceback" in json.dumps(m) for m in logged)


# -- documents -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def session() -> Session:
    server = Session()
    yield server  # type: ignore[misc]
    server.shutdown()


def test_past_the_size_limit_a_document_gets_diagnostics_only_and_blocks_nothing(session: Session) -> None:
    big = "file:///tmp/big.formula"
    megabyte = "x = 1 + 2; // " + "y" * 1_000_000 + "\n$TargetDedicatedNodes = x;\n"
    session.open(big, megabyte)
    (finding,) = session.diagnostics(big, timeout_s=30)
    assert finding.code == "AutoScalingFormulaTooLong"
    small = "file:///tmp/small.formula"
    started = time.perf_counter()
    hovered = session.hover(big, 0, 0)
    session.open(small, "$TargetDedicatedNodes = max(;")
    assert session.diagnostics(small)[0].code == "AutoScalingFormulaSyntaxError"
    assert hovered is None and session.complete(big, 0, 1) == [] and session.symbols(big) == []
    assert time.perf_counter() - started < 5  # the old server took 31.7 s to hover a 1 MB document
    assert session.execute("batchsim.evaluate", big).startswith("error:")
    # Just under the limit, everything works.
    near = "file:///tmp/near.formula"
    session.open(near, "x = 1;\n$TargetDedicatedNodes = x;\n" + "// " + "z" * (MAX_DOCUMENT_CHARS - 40) + "\n")
    session.diagnostics(near)
    assert session.hover(near, 0, 0) is not None


def test_a_document_that_grows_past_the_limit_and_back_keeps_its_diagnostics(session: Session) -> None:
    uri = "file:///tmp/grows.formula"
    session.open(uri, "$TargetDedicatedNodes = max(;")
    assert session.diagnostics(uri)[0].code == "AutoScalingFormulaSyntaxError"
    session.change(uri, "$TargetDedicatedNodes = 1; // " + "z" * (2 * MAX_DOCUMENT_CHARS))
    assert [d.code for d in session.diagnostics(uri)] == ["AutoScalingFormulaTooLong"]
    session.change(uri, "$TargetDedicatedNodes = 1;")
    assert not session.diagnostics(uri)


def test_a_byte_order_mark_is_handled_as_check_handles_it(session: Session, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from batchsim.cli import app

    text = "$TargetDedicatedNodes = min(3, $CurrentDedicatedNodes + 1);\nx = (1 + ;\n"
    path = tmp_path / "bom.formula"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    reported = json.loads(CliRunner().invoke(app, ["check", "--format", "json", str(path)]).output)
    uri = "file:///tmp/bom.formula"
    session.open(uri, "\ufeff" + text)
    found = session.diagnostics(uri)
    assert [d.code for d in found] == [d.code for d in check(text)] == ["AutoScalingFormulaSyntaxError"]
    assert "Unexpected character" not in found[0].message
    assert json.dumps(reported).count("AutoScalingFormulaSyntaxError") == 1
    assert (found[0].range.start.line, found[0].range.start.character) == (1, 9)  # line 2 is after the mark
    # on line 1, a finding moves one character to the right, past the mark
    session.change(uri, "\ufeffx = $y;")
    (undefined,) = [d for d in session.diagnostics(uri) if d.code == "AutoScalingFormulaEvaluationError"]
    (expected,) = [d for d in check("x = $y;") if d.code == "AutoScalingFormulaEvaluationError"]
    assert undefined.range.start.character == expected.span.column  # 0-based, one past the mark


def test_formatting_a_document_with_a_byte_order_mark_keeps_the_mark(session: Session) -> None:
    uri = "file:///tmp/bom-format.formula"
    session.open(uri, "\ufeffx=1;$TargetDedicatedNodes=min(3,x);")
    session.diagnostics(uri)
    (edit,) = session.format(uri) or []
    assert edit.new_text == "\ufeffx = 1;\n$TargetDedicatedNodes = min(3, x);\n"


def test_the_formula_extension_is_case_insensitive(session: Session) -> None:
    uri = "file:///tmp/UPPER.FORMULA"
    session.open(uri, "$TargetDedicatedNodes = max(;", language_id="plaintext")
    assert session.diagnostics(uri)[0].code == "AutoScalingFormulaSyntaxError"


def test_evaluate_runs_on_formula_documents_only(session: Session) -> None:
    notes = "file:///tmp/notes.txt"
    session.open(notes, "$TargetDedicatedNodes = 3;", language_id="plaintext")
    assert session.execute("batchsim.evaluate", notes).startswith("error:")
    formula = "file:///tmp/run.Formula"
    session.open(formula, "$TargetDedicatedNodes = 3;", language_id="plaintext")
    session.diagnostics(formula)
    assert "$TargetDedicatedNodes=3" in session.execute("batchsim.evaluate", formula)
