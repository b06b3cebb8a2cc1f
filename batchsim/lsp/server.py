"""`batchsim lsp`: the language server for `*.formula` files, on pygls over stdio.

Documents are synchronised in full (a formula is at most 8192 characters, so a whole-text update
costs nothing and avoids applying incremental edits with a line model other than LSP's).
Diagnostics are published at once when a document opens or is saved, and `debounce_s` after the
last change while typing; every handler stands behind a boundary that turns any failure into a
logged message and an empty answer, so no text can stop the server.

The server answers for documents whose name ends in `.formula` or whose language id is one of
`LANGUAGE_IDS`, and ignores any other document a client sends it: a generic client that can only
pick documents by language (VS Code's, mapping `*.formula` to plain text) then leaves every other
plain-text file alone.

Initialisation options (all optional): `{"debounceMs": 150, "strict": false}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from batchsim import __version__
from batchsim.formula.reformat import CannotFormat, reformat
from batchsim.lsp import actions, completion, hover, navigation
from batchsim.lsp.diagnostics import to_lsp
from batchsim.lsp.document import Analysis
from batchsim.lsp.evaluate import COMMAND, context_for, evaluate_text
from batchsim.lsp.signatures import signature_help

__all__ = ["DEFAULT_DEBOUNCE_S", "LANGUAGE_IDS", "FormulaServer", "build_server"]

DEFAULT_DEBOUNCE_S = 0.15
LANGUAGE_IDS = frozenset({"batchsim-formula", "azure-batch-formula"})
logger = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


class FormulaServer(LanguageServer):
    """The server's state: options, one analysis per open document, pending debounced publications."""

    def __init__(self, debounce_s: float = DEFAULT_DEBOUNCE_S) -> None:
        super().__init__("batchsim", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Full)
        self.debounce_s = debounce_s
        self.strict = False
        self._analyses: dict[str, Analysis] = {}
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self._foreign: set[str] = set()  # open documents that are not formulas

    def serves(self, uri: str) -> bool:
        return uri not in self._foreign

    def opened(self, uri: str, language_id: str) -> bool:
        """Note a document the client opened; whether it is a formula this server answers for."""
        path = to_fs_path(uri) or uri
        if path.endswith(".formula") or language_id in LANGUAGE_IDS:
            self._foreign.discard(uri)
            return True
        self._foreign.add(uri)
        return False

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

    def forget(self, uri: str) -> None:
        self._foreign.discard(uri)
        pending = self._pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        self._analyses.pop(uri, None)

    def log(self, message: str, kind: types.MessageType = types.MessageType.Error) -> None:
        """Tell the client's log (and this process's logger, which editors show as stderr)."""
        logger.log(logging.ERROR if kind == types.MessageType.Error else logging.INFO, message)
        with contextlib.suppress(Exception):  # no client to tell (shutting down): the logger has it
            self.window_log_message(types.LogMessageParams(type=kind, message=message))


def _guarded(default: Callable[[], object], *, formulas_only: bool = True) -> Callable[[F], F]:
    """A handler that answers `default()` instead of failing, after logging why (and, with
    `formulas_only`, for documents that are not formulas)."""

    def wrap(handler: F) -> F:
        @functools.wraps(handler)
        def run(ls: FormulaServer, params: Any) -> Any:
            document = getattr(params, "text_document", None)
            if formulas_only and document is not None and not ls.serves(str(document.uri)):
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
        options = params.initialization_options
        if isinstance(options, dict):
            if isinstance(options.get("debounceMs"), (int, float)) and options["debounceMs"] >= 0:
                ls.debounce_s = float(options["debounceMs"]) / 1000
            if isinstance(options.get("strict"), bool):
                ls.strict = options["strict"]

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    @_guarded(lambda: None, formulas_only=False)
    def did_open(ls: FormulaServer, params: types.DidOpenTextDocumentParams) -> None:
        if ls.opened(_uri(params), params.text_document.language_id):
            ls.schedule(_uri(params), 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    @_guarded(lambda: None)
    def did_change(ls: FormulaServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(_uri(params), ls.debounce_s)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    @_guarded(lambda: None)
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
        # A refused name is an error the client shows; pygls turns the ValueError into the response.
        if not ls.serves(_uri(params)):
            return None
        return navigation.rename(ls.analysis(_uri(params)), params.position, params.new_name)

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    @_guarded(list)
    def on_symbols(ls: FormulaServer, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol]:
        return navigation.document_symbols(ls.analysis(_uri(params)))

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    @_guarded(list)
    def on_formatting(ls: FormulaServer, params: types.DocumentFormattingParams) -> list[types.TextEdit]:
        analysis = ls.analysis(_uri(params))
        try:
            formatted = reformat(analysis.text)
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
        try:
            result = evaluate_text(ls.analysis(uri).text, context_for(formula_path, context), strict=ls.strict)
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
