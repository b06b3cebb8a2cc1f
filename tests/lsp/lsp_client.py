"""A real LSP client (pygls's `LanguageClient`) driving `batchsim lsp` in a subprocess over stdio,
with blocking calls for tests: the client's asyncio loop runs in a thread of its own."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from lsprotocol import types
from pygls.lsp.client import LanguageClient

T = TypeVar("T")

SERVER = [sys.executable, "-m", "batchsim", "lsp"]


class _Client(LanguageClient):
    """pygls's client, remembering the server process's exit code (its documented hook)."""

    returncode: int | None = None

    async def server_exit(self, server: asyncio.subprocess.Process) -> None:
        self.returncode = server.returncode


class Session:
    """One server process and one client; every method blocks until the server answered."""

    def __init__(
        self,
        command: list[str] | None = None,
        *,
        initialization_options: dict[str, Any] | None = None,
        position_encodings: list[types.PositionEncodingKind] | None = None,
        snippets: bool = True,
    ) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.client = _Client("batchsim-tests", "1")
        self.published: list[tuple[float, types.PublishDiagnosticsParams]] = []
        self.messages: list[types.LogMessageParams | types.ShowMessageParams] = []
        self._changed = threading.Condition()
        self._versions: dict[str, int] = {}
        self._opened_at: dict[str, int] = {}  # publications before a document's last open are stale

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
            with self._changed:
                self.published.append((time.perf_counter(), params))
                self._changed.notify_all()

        @self.client.feature(types.WINDOW_LOG_MESSAGE)
        def on_log(params: types.LogMessageParams) -> None:
            self.messages.append(params)

        @self.client.feature(types.WINDOW_SHOW_MESSAGE)
        def on_show(params: types.ShowMessageParams) -> None:
            self.messages.append(params)

        command = command or SERVER
        self.call(self.client.start_io(*command))
        capabilities = types.ClientCapabilities(
            general=types.GeneralClientCapabilities(position_encodings=position_encodings)
            if position_encodings
            else None,
            text_document=types.TextDocumentClientCapabilities(
                completion=types.CompletionClientCapabilities(
                    completion_item=types.ClientCompletionItemOptions(snippet_support=snippets)
                ),
                hover=types.HoverClientCapabilities(content_format=[types.MarkupKind.Markdown]),
                publish_diagnostics=types.PublishDiagnosticsClientCapabilities(version_support=True),
            ),
        )
        self.initialize_result = self.call(
            self.client.initialize_async(
                types.InitializeParams(
                    capabilities=capabilities, initialization_options=initialization_options, process_id=None
                )
            )
        )
        self.client.initialized(types.InitializedParams())

    # -- plumbing -----------------------------------------------------------------------------
    def call(self, coroutine: Coroutine[Any, Any, T], timeout_s: float = 20) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout_s)

    def notify(self, method: Any, params: Any) -> float:
        """Send a notification from the client's loop; returns when it was handed to the writer."""
        sent = threading.Event()
        stamp: list[float] = []

        def send() -> None:
            stamp.append(time.perf_counter())
            method(params)
            sent.set()

        self.loop.call_soon_threadsafe(send)
        sent.wait(10)
        return stamp[0]

    # -- documents ------------------------------------------------------------------------------
    def open(self, uri: str, text: str, language_id: str = "batchsim-formula") -> float:
        self._versions[uri] = 1
        with self._changed:
            self._opened_at[uri] = len(self.published)
        item = types.TextDocumentItem(uri=uri, language_id=language_id, version=1, text=text)
        return self.notify(self.client.text_document_did_open, types.DidOpenTextDocumentParams(text_document=item))

    def change(self, uri: str, text: str) -> float:
        """Replace the whole text (the server syncs in full); returns when the change was sent."""
        self._versions[uri] += 1
        params = types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self._versions[uri]),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
        return self.notify(self.client.text_document_did_change, params)

    def close(self, uri: str) -> None:
        params = types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        self.notify(self.client.text_document_did_close, params)

    def version(self, uri: str) -> int:
        return self._versions[uri]

    def diagnostics(self, uri: str, version: int | None = None, timeout_s: float = 10) -> list[types.Diagnostic]:
        """The first diagnostics published for `uri` at `version` (default: the latest sent)."""
        return self.wait_publication(uri, version, timeout_s)[1].diagnostics

    def wait_publication(
        self, uri: str, version: int | None = None, timeout_s: float = 10
    ) -> tuple[float, types.PublishDiagnosticsParams]:
        """When and what the server first published for `uri` at `version` (default: the latest sent)."""
        wanted = self._versions[uri] if version is None else version
        return self.wait_for(uri, lambda params: params.version == wanted, timeout_s)

    def wait_for(
        self, uri: str, match: Callable[[types.PublishDiagnosticsParams], bool], timeout_s: float = 10
    ) -> tuple[float, types.PublishDiagnosticsParams]:
        """The first publication for `uri` since it was last opened that `match`es."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                for stamp, params in self.published[self._opened_at.get(uri, 0) :]:
                    if params.uri == uri and match(params):
                        return stamp, params
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no matching diagnostics for {uri}")
                self._changed.wait(remaining)

    # -- requests -----------------------------------------------------------------------------------
    @staticmethod
    def _doc(uri: str) -> types.TextDocumentIdentifier:
        return types.TextDocumentIdentifier(uri=uri)

    def hover(self, uri: str, line: int, character: int) -> types.Hover | None:
        position = types.Position(line=line, character=character)
        return self.call(
            self.client.text_document_hover_async(types.HoverParams(text_document=self._doc(uri), position=position))
        )

    def complete(self, uri: str, line: int, character: int) -> list[types.CompletionItem]:
        position = types.Position(line=line, character=character)
        result = self.call(
            self.client.text_document_completion_async(
                types.CompletionParams(text_document=self._doc(uri), position=position)
            )
        )
        if result is None:
            return []
        return list(result.items if isinstance(result, types.CompletionList) else result)

    def definition(self, uri: str, line: int, character: int) -> Any:
        position = types.Position(line=line, character=character)
        return self.call(
            self.client.text_document_definition_async(
                types.DefinitionParams(text_document=self._doc(uri), position=position)
            )
        )

    def references(self, uri: str, line: int, character: int, include_declaration: bool = True) -> Any:
        position = types.Position(line=line, character=character)
        context = types.ReferenceContext(include_declaration=include_declaration)
        return self.call(
            self.client.text_document_references_async(
                types.ReferenceParams(text_document=self._doc(uri), position=position, context=context)
            )
        )

    def symbols(self, uri: str) -> Any:
        return self.call(
            self.client.text_document_document_symbol_async(types.DocumentSymbolParams(text_document=self._doc(uri)))
        )

    def format(self, uri: str) -> list[types.TextEdit] | None:
        options = types.FormattingOptions(tab_size=4, insert_spaces=True)
        return self.call(
            self.client.text_document_formatting_async(
                types.DocumentFormattingParams(text_document=self._doc(uri), options=options)
            )
        )

    def code_actions(self, uri: str, start_line: int, end_line: int) -> list[Any]:
        whole = types.Range(
            start=types.Position(line=start_line, character=0), end=types.Position(line=end_line, character=0)
        )
        context = types.CodeActionContext(diagnostics=[])
        result = self.call(
            self.client.text_document_code_action_async(
                types.CodeActionParams(text_document=self._doc(uri), range=whole, context=context)
            )
        )
        return list(result or [])

    def signature_help(self, uri: str, line: int, character: int) -> types.SignatureHelp | None:
        position = types.Position(line=line, character=character)
        return self.call(
            self.client.text_document_signature_help_async(
                types.SignatureHelpParams(text_document=self._doc(uri), position=position)
            )
        )

    def execute(self, command: str, *arguments: Any) -> Any:
        return self.call(
            self.client.workspace_execute_command_async(
                types.ExecuteCommandParams(command=command, arguments=list(arguments))
            )
        )

    def shutdown(self) -> int | None:
        """The LSP goodbye (shutdown, then exit); the server process's exit code."""
        try:
            self.call(self.client.shutdown_async(None))
            self.client.exit(None)
            deadline = time.monotonic() + 10
            while self.client.returncode is None and time.monotonic() < deadline:
                time.sleep(0.02)
            return self.client.returncode
        finally:
            self.call(self.client.stop())
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
