"""Against a real Azure account: `pytest -m live tests/azure` (README, "Azure", for the variables).

Skipped unless the credentials are in the environment. Reading tests only read; the one test that
changes the pool also needs BATCHSIM_LIVE_ALLOW_CHANGES=1 and puts the pool's autoscale back as it
found it. Use a scratch pool.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from batchsim.cli import app

pytestmark = pytest.mark.live

POOL = os.environ.get("BATCHSIM_LIVE_POOL")
HAS_BATCH = bool(os.environ.get("AZURE_BATCH_ENDPOINT") and POOL)
HAS_KEY = bool(os.environ.get("AZURE_BATCH_ACCOUNT") and os.environ.get("AZURE_BATCH_ACCESS_KEY"))
HAS_ARM = bool(os.environ.get("AZURE_SUBSCRIPTION_ID"))
ALLOW_CHANGES = os.environ.get("BATCHSIM_LIVE_ALLOW_CHANGES") == "1"

needs_batch = pytest.mark.skipif(not HAS_BATCH, reason="set AZURE_BATCH_ENDPOINT and BATCHSIM_LIVE_POOL")
HARMLESS = "$TargetDedicatedNodes = $CurrentDedicatedNodes;\n$TargetLowPriorityNodes = $CurrentLowPriorityNodes;\n"


def batchsim(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def live_client() -> Any:
    from batchsim.azure.client import batch_client, resolve_settings

    return batch_client(resolve_settings(None, None, None))


@needs_batch
def test_live_dry_run_changes_nothing(tmp_path: Path) -> None:
    from batchsim.azure.export import read_pool

    assert POOL is not None
    endpoint = os.environ["AZURE_BATCH_ENDPOINT"]
    with live_client() as client:
        before = read_pool(client, POOL, endpoint=endpoint)
    path = tmp_path / "harmless.formula"
    path.write_text(HARMLESS)
    code, out = batchsim("export", str(path), "--pool", POOL, "--dry-run")
    assert code == 0, out
    assert "dry run" in out
    with live_client() as client:
        after = read_pool(client, POOL, endpoint=endpoint)
    assert (after.autoscale_enabled, after.formula, after.interval_s) == (
        before.autoscale_enabled,
        before.formula,
        before.interval_s,
    )


@needs_batch
def test_live_pull_loads(tmp_path: Path) -> None:
    from batchsim.scenario import load_scenario

    assert POOL is not None
    out = tmp_path / "pool.yaml"
    code, output = batchsim("pool", "pull", POOL, "--out", str(out))
    assert code == 0, output
    scenario = load_scenario(out)
    assert scenario.origin is not None and scenario.origin.pool_id == POOL


@needs_batch
@pytest.mark.skipif(not HAS_KEY, reason="set AZURE_BATCH_ACCOUNT and AZURE_BATCH_ACCESS_KEY")
def test_live_wrong_key_is_authentication_failed(tmp_path: Path) -> None:
    assert POOL is not None
    path = tmp_path / "harmless.formula"
    path.write_text(HARMLESS)
    wrong = "d3Jvbmcta2V5LWZvci1iYXRjaHNpbS1saXZlLXRlc3RzLTAxMjM0NTY3ODk="
    code, out = batchsim("export", str(path), "--pool", POOL, "--dry-run", "--account-key", wrong)
    assert code == 1 and "authentication failed" in out
    assert wrong not in out and os.environ["AZURE_BATCH_ACCESS_KEY"] not in out


@needs_batch
@pytest.mark.skipif(not ALLOW_CHANGES, reason="set BATCHSIM_LIVE_ALLOW_CHANGES=1 to let a test change the pool")
def test_live_enable_then_restore(tmp_path: Path) -> None:
    from batchsim.azure.export import disable_autoscale, export_formula, read_pool

    assert POOL is not None
    endpoint = os.environ["AZURE_BATCH_ENDPOINT"]
    with live_client() as client:
        before = read_pool(client, POOL, endpoint=endpoint)
        try:
            result = export_formula(client, POOL, HARMLESS, interval_s=600, endpoint=endpoint, echo=print)
            assert result.enabled
            enabled = read_pool(client, POOL, endpoint=endpoint)
            assert enabled.autoscale_enabled and enabled.formula is not None and enabled.interval_s == 600
        finally:
            time.sleep(31)  # the service allows one enable per 30 s
            if before.autoscale_enabled and before.formula:
                export_formula(
                    client, POOL, before.formula, interval_s=before.interval_s or 900, endpoint=endpoint, echo=print
                )
            else:
                disable_autoscale(client, POOL, endpoint=endpoint, echo=print)


@pytest.mark.skipif(not HAS_ARM, reason="set AZURE_SUBSCRIPTION_ID (and sign in for DefaultAzureCredential)")
def test_live_skus(tmp_path: Path) -> None:
    import json

    region = os.environ.get("BATCHSIM_LIVE_REGION", "eastus")
    args = ["skus", "--region", region, "--out", str(tmp_path / "skus.json")]
    if os.environ.get("AZURE_BATCH_RESOURCE_GROUP") and os.environ.get("AZURE_BATCH_ACCOUNT"):
        args += ["--resource-group", os.environ["AZURE_BATCH_RESOURCE_GROUP"]]
    code, out = batchsim(*args)
    assert code == 0, out
    rows = json.loads((tmp_path / "skus.json").read_text())["rows"]
    assert rows and all(row["vcpus"] >= 1 and row["memory_gib"] > 0 for row in rows)
