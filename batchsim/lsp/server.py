"""`batchsim lsp`: the language server for `*.formula` files, on pygls over stdio.

Documents are synchronised in full (a formula is at most 8192 characters, so a whole-text update
costs nothing and avoids applying incremental edits with a line model other than LSP's).
Diagnostics are published at once when a document opens or is saved, and `debounce_s` after the
last change while typing; every handler stands behind a boundary that turns any failure into a
logged message and an empty answer, so no text can stop the server.

The server answers for documents whose name ends in `.formula` (in any case: `X.FORMULA`) or
whose language id is one of `LANGUAGE_IDS`, and ignores any other document a client sends it: a
generic client that can only pick documents by language (VS Code's, mapping `*.formula` to plain
text) then leaves every other plain-text file alone. A document over `MAX_DOCUMENT_CHARS` gets its
diagnostics and nothing else.

Where pygls 2.1 departs from the LSP specification, `_Protocol` and `_framed` follow the spec:
- a request whose params fail validation is answered with InvalidParams (-32602) and its id (pygls
  only logs it, so the client waits forever);
- a request before `initialize` is answered with ServerNotInitialized (-32002), and a notification
  before it dropped; a request after `shutdown` with InvalidRequest (-32600);
- a refused rename is a RequestFailed (-32803) answer with the reason, and nothing in the log;
- header names are case-insensitive (`content-length: 12`): pygls matches `Content-Length` only;
- `exit` ends the process with 0 after `shutdown` and 1 without (`exit_code`; pygls raises the
  `SystemExit` inside its loop, which then swallows it);
- when the `processId` given at `initialize` dies, the server exits (POSIX: a check a second).

Initialisation options (all optional): `{"debounceMs": 150, "strict": false}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import re
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, BinaryIO, TypeVar, cast

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import to_fs_path

from batchsim import __version__
from batchsim.formula.reformat import CannotFormat, reformat
from batchsim.lsp import actions, completion, hover, navigation
from batchsim.lsp.diagnostics import to_lsp
from batchsim.lsp.document import BOM, MAX_DOCUMENT_CHARS, Analysis
from batchsim.lsp.evaluate import COMMAND, context_for, evaluate_text
from batchsim.lsp.signatures import signature_help

__all__ = ["DEFAULT_DEBOUNCE_S", "LANGUAGE_IDS", "MAX_DOCUMENT_CHARS", "FormulaServer", "Refused", "build_server"]

DEFAULT_DEBOUNCE_S = 0.15
LANGUAGE_IDS = frozenset({"batchsim-formula", "azure-batch-formula"})
PARENT_CHECK_S = 1.0
logger = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
_CONTENT_LENGTH = re.compile(rb"content-length[ \t]*:[ \t]*(\d+)[ \t]*\r?\n?", re.IGNORECASE)


class Refused(Exception):
    """A request the server declines with a reason (a rename to a taken name): RequestFailed."""


class _Answered:
    """A message already answered while it was read (its params failed validation)."""


_ANSWERED = _Answered()


class _Protocol(LanguageServerProtocol):
    """pygls's protocol, with the answers the LSP specification asks for (module docstring)."""

    initialize_seen = False

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException:
            if "method" not in data or "id" not in data:
                raise  # a notification or a response: nobody waits for an answer
            message = f"invalid params for {data['method']}"
            self._send_response(data["id"], error=_error(types.ErrorCodes.InvalidParams, message))
            return _ANSWERED

    def handle_message(self, message: Any) -> None:
        if message is _ANSWERED:
            return
        method = getattr(message, "method", None)
        if method == types.INITIALIZE:
            self.initialize_seen = True
        elif not self.initialize_seen and method not in (None, types.EXIT):
            if hasattr(message, "id"):
                error = _error(types.ErrorCodes.ServerNotInitialized, f"{method} before initialize")
                self._send_response(message.id, error=error)
            return  # a notification before initialize is dropped (LSP: "initialize" request)
        elif self._shutdown and method not in (None, types.EXIT) and hasattr(message, "id"):
            # pygls drops it silently; the client would wait forever (LSP: "shutdown" request)
            self._send_response(message.id, error=_error(types.ErrorCodes.InvalidRequest, f"{method} after shutdown"))
            return
        super().handle_message(message)

    def _send_handler_result(self, future: Future[Any], *, msg_id: Any) -> None:
        refused = None if future.cancelled() else future.exception()
        if isinstance(refused, Refused):  # an answer, not a failure: no traceback in the log
            self._request_futures.pop(msg_id, None)
            self._send_response(msg_id, error=_error(types.LSPErrorCodes.RequestFailed, str(refused)))
            return
        super()._send_handler_result(future, msg_id=msg_id)


def _error(code: int, message: str) -> types.ResponseError:
    return types.ResponseError(code=code, message=message)


class _FramedReader:
    """stdin for pygls's loop, each header line handed over as pygls matches it: header names are
    case-insensitive (JSON-RPC over HTTP-style headers), pygls's pattern is `Content-Length` only."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def readline(self) -> bytes:
        line = self._stream.readline()
        match = _CONTENT_LENGTH.fullmatch(line)
        return b"Content-Length: " + match.group(1) + b"\r\n" if match else line

    def read(self, size: int) -> bytes:
        return self._stream.read(size)


class FormulaServer(LanguageServer):
    """The server's state: options, one analysis per open document, pending debounced publications."""

    def __init__(self, debounce_s: float = DEFAULT_DEBOUNCE_S) -> None:
        super().__init__(
            "batchsim", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Full, protocol_cls=_Protocol
        )
        self.debounce_s = debounce_s
        self.strict = False
        self.shut_down = False
        self.exit_code = 0  # what the process ends with (`exit` decides; 0 when the client just goes away)
        self._analyses: dict[str, Analysis] = {}
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self._foreign: set[str] = set()  # open documents that are not formulas
        self._formulas: set[str] = set()  # open documents that are formulas by their language id

    def serves(self, uri: str) -> bool:
        return uri not in self._foreign

    def is_formula(self, uri: str) -> bool:
        """A formula document: opened as one, or named `*.formula` (in any case)."""
        return uri in self._formulas or _formula_name(uri)

    def opened(self, uri: str, language_id: str) -> bool:
        """Note a document the client opened; whether it is a formula this server answers for."""
        if _formula_name(uri) or language_id in LANGUAGE_IDS:
            self._foreign.discard(uri)
            self._formulas.add(uri)
            return True
        self._foreign.add(uri)
        return False

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve over stdio, reading headers case-insensitively (`_FramedReader`)."""
        import sys

        super().start_io(cast(BinaryIO, _FramedReader(stdin or sys.stdin.buffer)), stdout)

    def watch_parent(self, pid: int) -> None:
        """End the process when `pid` (the editor) is gone (LSP `processId`); POSIX only, where
        signal 0 tests a process without touching it."""
        if os.name != "posix":
            return

        def watch() -> None:
            while _alive(pid):
                time.sleep(PARENT_CHECK_S)
            logger.info("the parent process %d is gone: exiting", pid)
            # The stdin reader thread is blocked in read() and would keep the process alive.
            os._exit(1)

        threading.Thread(target=watch, name="parent-watch", daemon=True).start()

    def analysis(self, uri: str) -> Analysis:
        """The analysis of the document's current text (cached per version)."""
        document = self.workspace.get_text_document(uri)
        text = document.source
        cached = self._analyses.get(uri)
        if cached is not None and cached.version == document.version and cached.text == text:
            return cached
        negotiated = self.workspace.position_encoding or types.PositionEncodingKind.Utf16
        encoding = negotiated.value if isinstance(negotiated, types.PositionEncodingKind) else negotiated
        analysis = Analysis(uri, text, document.version, encoding=encoding, strict=self.strict)
        self._analyses[uri] = analysis
        return analysis

    def publish(self, uri: str) -> None:
        self._pending.pop(uri, None)
        try:
            analysis = self.analysis(uri)
            diagnostics = [to_lsp(d, analysis.lines) for d in analysis.findings]
        except Exception:  # the boundary: report, never die
            self.log(f"diagnostics failed for {uri}:\n{traceback.format_exc()}")
            return
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, version=analysis.version, diagnostics=diagnostics)
        )

    def schedule(self, uri: str, delay_s: float) -> None:
        """Publish diagnostics for `uri` after `delay_s`, replacing any publication still pending."""
        pending = self._pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        if delay_s <= 0:
            self.publish(uri)
            return
        self._pending[uri] = asyncio.get_running_loop().call_later(delay_s, self.publish, uri)

    def usable(self, uri: str) -> bool:
        """Whether the editor features answer for `uri`: a formula within `MAX_DOCUMENT_CHARS`."""
        if not self.serves(uri):
            return False
        document = self.workspace.text_documents.get(uri)
        return document is None or len(document.source) <= MAX_DOCUMENT_CHARS

    def forget(self, uri: str) -> None:
        self._foreign.discard(uri)
        self._formulas.discard(uri)
        pending = self._pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        self._analyses.pop(uri, None)

    def log(self, message: str, kind: types.MessageType = types.MessageType.Error) -> None:
        """Tell the client's log (and this process's logger, which editors show as stderr)."""
        logger.log(logging.ERROR if kind == types.MessageType.Error else logging.INFO, message)
        with contextlib.suppress(Exception):  # no client to tell (shutting down): the logger has it
            self.window_log_message(types.LogMessageParams(type=kind, message=message))


def _formula_name(uri: str) -> bool:
    return (to_fs_path(uri) or uri).lower().endswith(".formula")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, owned by someone else
    return True


def _guarded(default: Callable[[], object], *, formulas_only: bool = True, any_size: bool = False) -> Callable[[F], F]:
    """A handler that answers `default()` instead of failing, after logging why (and, with
    `formulas_only`, for documents that are not formulas or, unless `any_size`, too large for more
    than diagnostics)."""

    def wrap(handler: F) -> F:
        @functools.wraps(handler)
        def run(ls: FormulaServer, params: Any) -> Any:
            document = getattr(params, "text_document", None)
            if formulas_only and document is not None:
                uri = str(document.uri)
                if not (ls.serves(uri) if any_size else ls.usable(uri)):
                    return default()
            try:
                return handler(ls, params)
            except Exception:
                ls.log(f"{handler.__name__} failed:\n{traceback.format_exc()}")
                return default()

        return cast(F, run)

    return wrap


def _uri(params: Any) -> str:
    return str(params.text_document.uri)


def build_server(debounce_s: float = DEFAULT_DEBOUNCE_S) -> FormulaServer:
    """A server with every feature registered (not started: call `start_io`)."""
    server = FormulaServer(debounce_s)

    @server.feature(types.INITIALIZE)
    @_guarded(lambda: None)
    def initialize(ls: FormulaServer, params: types.InitializeParams) -> None:
        if params.process_id is not None:
            ls.watch_parent(params.process_id)
        options = params.initialization_options
        if isinstance(options, dict):
            if isinstance(options.get("debounceMs"), (int, float)) and options["debounceMs"] >= 0:
                ls.debounce_s = float(options["debounceMs"]) / 1000
            if isinstance(options.get("strict"), bool):
                ls.strict = options["strict"]

    @server.feature(types.SHUTDOWN)
    def on_shutdown(ls: FormulaServer, params: None) -> None:
        ls.shut_down = True

    @server.feature(types.EXIT)
    def on_exit(ls: FormulaServer, params: None) -> None:
        ls.exit_code = 0 if ls.shut_down else 1  # LSP: exit without shutdown first exits with 1

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    @_guarded(lambda: None, formulas_only=False)
    def did_open(ls: FormulaServer, params: types.DidOpenTextDocumentParams) -> None:
        if ls.opened(_uri(params), params.text_document.language_id):
            ls.schedule(_uri(params), 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    @_guarded(lambda: None, any_size=True)
    def did_change(ls: FormulaServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(_uri(params), ls.debounce_s)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    @_guarded(lambda: None, any_size=True)
    def did_save(ls: FormulaServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.schedule(_uri(params), 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    @_guarded(lambda: None, formulas_only=False)
    def did_close(ls: FormulaServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = _uri(params)
        served = ls.serves(uri)
        ls.forget(uri)
        if served:
            ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    @_guarded(lambda: None)
    def on_hover(ls: FormulaServer, params: types.HoverParams) -> types.Hover | None:
        return hover.hover(ls.analysis(_uri(params)), params.position)

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=completion.TRIGGER_CHARACTERS)
    )
    @_guarded(lambda: types.CompletionList(is_incomplete=False, items=[]))
    def on_completion(ls: FormulaServer, params: types.CompletionParams) -> types.CompletionList:
        snippets = _snippets(ls.client_capabilities)
        return completion.complete(ls.analysis(_uri(params)), params.position, snippets=snippets)

    @server.feature(types.TEXT_DOCUMENT_SIGNATURE_HELP, types.SignatureHelpOptions(trigger_characters=["(", ","]))
    @_guarded(lambda: None)
    def on_signature_help(ls: FormulaServer, params: types.SignatureHelpParams) -> types.SignatureHelp | None:
        return signature_help(ls.analysis(_uri(params)), params.position)

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    @_guarded(list)
    def on_definition(ls: FormulaServer, params: types.DefinitionParams) -> list[types.Location]:
        return navigation.definition(ls.analysis(_uri(params)), params.position)

    @server.feature(types.TEXT_DOCUMENT_REFERENCES)
    @_guarded(list)
    def on_references(ls: FormulaServer, params: types.ReferenceParams) -> list[types.Location]:
        include = params.context.include_declaration
        return navigation.references(ls.analysis(_uri(params)), params.position, include_declaration=include)

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_HIGHLIGHT)
    @_guarded(list)
    def on_highlight(ls: FormulaServer, params: types.DocumentHighlightParams) -> list[types.DocumentHighlight]:
        return navigation.highlights(ls.analysis(_uri(params)), params.position)

    @server.feature(types.TEXT_DOCUMENT_PREPARE_RENAME)
    @_guarded(lambda: None)
    def on_prepare_rename(ls: FormulaServer, params: types.PrepareRenameParams) -> types.Range | None:
        return navigation.prepare_rename(ls.analysis(_uri(params)), params.position)

    @server.feature(types.TEXT_DOCUMENT_RENAME, types.RenameOptions(prepare_provider=True))
    def on_rename(ls: FormulaServer, params: types.RenameParams) -> types.WorkspaceEdit | None:
        # A refused name is an error the client shows: RequestFailed with the reason (`_Protocol`).
        if not ls.usable(_uri(params)):
            return None
        try:
            return navigation.rename(ls.analysis(_uri(params)), params.position, params.new_name)
        except ValueError as refusal:
            raise Refused(str(refusal)) from None

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    @_guarded(list)
    def on_symbols(ls: FormulaServer, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol]:
        return navigation.document_symbols(ls.analysis(_uri(params)))

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    @_guarded(list)
    def on_formatting(ls: FormulaServer, params: types.DocumentFormattingParams) -> list[types.TextEdit]:
        analysis = ls.analysis(_uri(params))
        bom = BOM if analysis.has_bom else ""
        try:
            formatted = bom + reformat(analysis.text[len(bom) :])
        except CannotFormat as exc:
            ls.log(f"not formatted: {exc}", types.MessageType.Info)
            return []
        if formatted == analysis.text:
            return []
        whole = analysis.lines.range_at(0, len(analysis.text))
        return [types.TextEdit(range=whole, new_text=formatted)]

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(code_action_kinds=actions.KINDS))
    @_guarded(list)
    def on_code_action(ls: FormulaServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return actions.code_actions(ls.analysis(_uri(params)), params.range, params.context.only)

    @server.command(COMMAND)
    def evaluate(ls: FormulaServer, *args: Any) -> str:
        """`[uri]` or `[uri, context file]` → the results string, also shown to the user."""
        if not args or not isinstance(args[0], str):
            raise ValueError(f"{COMMAND} takes the document's URI, then optionally a context file")
        uri = args[0]
        context = args[1] if len(args) > 1 and isinstance(args[1], str) else None
        path = to_fs_path(uri)
        formula_path = Path(path) if path else None
        if not ls.is_formula(uri):
            result = f"error: {uri} is not a formula document (*.formula, or opened as {min(LANGUAGE_IDS)})"
        elif not ls.usable(uri):
            result = f"error: {uri} has over {MAX_DOCUMENT_CHARS} characters; only its diagnostics are served"
        else:
            try:
                analysis = ls.analysis(uri)
                text = analysis.text[1:] if analysis.has_bom else analysis.text
                result = evaluate_text(text, context_for(formula_path, context), strict=ls.strict)
            except Exception as exc:  # e.g. a document neither open nor on disk
                ls.log(f"{COMMAND} failed:\n{traceback.format_exc()}")
                result = f"error: {type(exc).__name__}: {exc}"
        kind = types.MessageType.Error if result.startswith("error:") else types.MessageType.Info
        ls.window_show_message(types.ShowMessageParams(type=kind, message=result))
        return result

    return server


def _snippets(capabilities: types.ClientCapabilities) -> bool:
    document = capabilities.text_document
    item = document.completion.completion_item if document and document.completion else None
    return bool(item and item.snippet_support)
