"""Fixtures for the Azure tests: the local Batch service, a clean environment, a CLI runner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from arm_server import FakeArm, serve_https
from batch_server import FakeBatchService, Running, make_pool, serve
from typer.testing import CliRunner

from batchsim.cli import app

ENV_VARS = (
    "AZURE_BATCH_ENDPOINT",
    "AZURE_BATCH_ACCOUNT",
    "AZURE_BATCH_ACCESS_KEY",
    "AZURE_SUBSCRIPTION_ID",
    "AZURE_BATCH_RESOURCE_GROUP",
)


@pytest.fixture(autouse=True)
def clean_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """No credentials from the developer's shell leak into the offline tests (live tests need them)."""
    if request.node.get_closest_marker("live") is not None:
        return
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def batch() -> Iterator[Running]:
    """The local Batch service with one pool, 'render', autoscale off."""
    yield from serve(FakeBatchService(pools={"render": make_pool("render")}))


@pytest.fixture
def formula(tmp_path: Path) -> Path:
    path = tmp_path / "scale.formula"
    path.write_text("$TargetDedicatedNodes = max(1, $CurrentDedicatedNodes);\n", encoding="utf-8")
    return path


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


@pytest.fixture
def cli(batch: Running) -> Cli:
    return Cli(batch)


@pytest.fixture
def arm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeArm]:
    """The local Resource Manager over https; its self-signed certificate is trusted via REQUESTS_CA_BUNDLE."""
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    for service, cert in serve_https(FakeArm(), tmp_path):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
        yield service
