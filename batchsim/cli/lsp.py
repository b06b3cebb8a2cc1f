"""`batchsim lsp` (DESIGN §8): the language server for `*.formula` files, over stdio."""

from __future__ import annotations

import typer

from batchsim.cli.app import app


@app.command("lsp")
def lsp_command(
    debounce_ms: int = typer.Option(
        150, "--debounce-ms", min=0, help="How long after the last change to check the text again, in ms."
    ),
    stdio: bool = typer.Option(
        False, "--stdio", help="Talk over stdin/stdout: the only transport, accepted because editor clients pass it."
    ),
) -> None:
    """Run the formula language server over stdio (needs the lsp extra of batchsim)."""
    from batchsim.lsp.server import build_server

    del stdio  # stdio is the only transport
    server = build_server(debounce_ms / 1000)
    server.start_io()
    if server.exit_code:
        raise typer.Exit(server.exit_code)
