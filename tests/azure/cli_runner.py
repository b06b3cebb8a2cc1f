"""`batchsim ...` against a running local Batch service, shared-key flags filled in (imported by the
tests as a module of its own: `from conftest import` would depend on which conftest.py was imported last)."""

from __future__ import annotations

from batch_server import Running
from typer.testing import CliRunner

from batchsim.cli import app


class Cli:
    """`batchsim ...` against a running local service, shared-key flags filled in."""

    def __init__(self, running: Running) -> None:
        self.running = running
        self.runner = CliRunner()

    def flags(self, key: str | None = None) -> list[str]:
        service = self.running.service
        return [
            "--endpoint",
            self.running.url,
            "--account-name",
            service.account,
            "--account-key",
            key or service.key,
            "--retries",
            "0",
        ]

    def __call__(self, *args: str, key: str | None = None) -> tuple[int, str]:
        result = self.runner.invoke(app, [*args, *self.flags(key)])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        return result.exit_code, result.output
