"""Fixtures for the Azure tests: the local Batch service, a clean environment, a CLI runner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from arm_server import FakeArm, serve_https
from batch_server import FakeBatchService, Running, make_pool, serve
from cli_runner import Cli

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
