"""`batchsim skus` with the real ARM clients against the local Resource Manager over https."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from arm_server import IDENTITY_SECRET, TOKEN, FakeArm
from batch_server import Running
from cli_runner import Cli
from typer.testing import CliRunner

from batchsim.azure.errors import AzureIntegrationError
from batchsim.azure.skus import fetch_skus
from batchsim.cli import app
from batchsim.scenario import load_scenario


class FakeToken:
    """A TokenCredential: the library takes any; the CLI uses DefaultAzureCredential."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: object) -> object:
        from azure.core.credentials import AccessToken

        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)


def rows_by_size(document: dict[str, object]) -> dict[str, dict[str, object]]:
    rows = document["rows"]
    assert isinstance(rows, list)
    return {f"{row['vm_size']}/{row['os']}": row for row in rows}


def test_sizes_and_quotas(arm: FakeArm) -> None:
    credential = FakeToken()
    document = fetch_skus(
        credential, "sub-1", "eastus", resource_group="rg", account="acct", base_url=arm.url, retries=0
    )
    assert document["format"] == "batchsim-price-catalog/1"
    rows = rows_by_size(document)
    # Disks and the size restricted for this subscription are dropped; page 2 (nextLink) is read.
    assert sorted(rows) == ["Standard_B1ls/linux", "Standard_D2s_v3/linux", "Standard_NC6s_v3/linux"]
    d2 = rows["Standard_D2s_v3/linux"]
    assert (d2["vcpus"], d2["memory_gib"], d2["gpus"], d2["family"]) == (2, 8, 0, "standardDSv3Family")
    assert (d2["dedicated_per_hour"], d2["spot_per_hour"], d2["low_priority_capable"]) == (None, None, True)
    assert rows["Standard_NC6s_v3/linux"]["gpus"] == 1
    assert rows["Standard_B1ls/linux"]["memory_gib"] == 0.5
    # Per-family quotas are enforced: the family's cores, 0 for a family without quota.
    assert d2["quota"] == {"dedicated_cores": 48, "spot_cores": 100}
    assert rows["Standard_NC6s_v3/linux"]["quota"] == {"dedicated_cores": 0, "spot_cores": 100}
    assert rows["Standard_B1ls/linux"]["quota"] == {"dedicated_cores": 0, "spot_cores": 100}
    quota = document["quota"]
    assert isinstance(quota, dict)
    assert (quota["dedicated_cores"], quota["spot_cores"], quota["pool_allocation_mode"]) == (500, 100, "BatchService")
    assert quota["dedicated_cores_per_family_enforced"] is True
    requests = [r for r in arm.arm_requests() if "Microsoft.Compute" in r[1]]
    assert [r[2].get("$skiptoken") for r in requests[:2]] == [None, ["1"]]
    assert all(r[2]["$filter"] == ["location eq 'eastus'"] for r in requests[:2])
    assert all(r[3]["authorization"] == f"Bearer {TOKEN}" for r in requests)
    assert credential.scopes[0] == ("https://management.azure.com/.default",)


def test_unenforced_family_quota_uses_the_account_quota(arm: FakeArm) -> None:
    arm.accounts[("rg", "acct")]["properties"]["dedicatedCoreQuotaPerVMFamilyEnforced"] = False
    document = fetch_skus(FakeToken(), "sub-1", "eastus", resource_group="rg", account="acct", base_url=arm.url)
    assert rows_by_size(document)["Standard_NC6s_v3/linux"]["quota"] == {"dedicated_cores": 500, "spot_cores": 100}


def test_prices_are_merged_from_a_catalog_file(arm: FakeArm, tmp_path: Path) -> None:
    prices = tmp_path / "prices.json"
    rows = [
        {"vm_size": "Standard_D2s_v3", "region": "eastus", "os": "linux", "dedicated_per_hour": 0.096,
         "spot_per_hour": 0.0192, "source": "retail", "date": "2026-11-01"},
        {"vm_size": "Standard_D2s_v3", "region": "eastus", "os": "windows", "dedicated_per_hour": 0.188,
         "spot_per_hour": 0.0376, "source": "retail", "date": "2026-11-01"},
        {"vm_size": "Standard_D2s_v3", "region": "westus", "os": "linux", "dedicated_per_hour": 1.0,
         "spot_per_hour": 1.0, "source": "elsewhere", "date": "2026-11-01"},
    ]  # fmt: skip
    prices.write_text(json.dumps({"format": "batchsim-price-catalog/1", "currency": "USD", "rows": rows}))
    out = tmp_path / "skus.json"
    code, output = run_skus(arm, "--out", str(out), "--prices", str(prices), "--resource-group", "rg")
    assert code == 0, output
    merged = rows_by_size(json.loads(out.read_text()))
    assert merged["Standard_D2s_v3/linux"]["dedicated_per_hour"] == 0.096
    assert merged["Standard_D2s_v3/windows"]["spot_per_hour"] == 0.0376
    assert merged["Standard_D2s_v3/windows"]["vcpus"] == 2
    assert merged["Standard_NC6s_v3/linux"]["dedicated_per_hour"] is None


def run_skus(arm: FakeArm, *args: str) -> tuple[int, str]:
    """The CLI, authenticated by DefaultAzureCredential through an App Service managed identity."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IDENTITY_ENDPOINT", f"{arm.url}/msi/token")
        patch.setenv("IDENTITY_HEADER", IDENTITY_SECRET)
        base = ["skus", "--region", "eastus", "--subscription", "sub-1", "--management-endpoint", arm.url]
        if "--resource-group" in args:
            base += ["--account-name", "acct"]
        result = CliRunner().invoke(app, [*base, "--retries", "0", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_cli_with_default_azure_credential(arm: FakeArm, tmp_path: Path) -> None:
    out = tmp_path / "skus.json"
    code, output = run_skus(arm, "--out", str(out), "--resource-group", "rg")
    assert code == 0, output
    assert "3 VM size rows for eastus written to" in output
    assert arm.tokens_issued >= 1
    document = json.loads(out.read_text())
    assert document["quota"]["account"] == "acct"


def test_cli_without_account_prints_rows_without_quota(arm: FakeArm) -> None:
    code, output = run_skus(arm)
    assert code == 0
    assert "rows carry no quota" in output
    start = output.index("{")
    document = json.loads(output[start : output.rindex("}") + 1])
    assert "quota" not in document and all(row["quota"] is None for row in document["rows"])


def test_out_dash_is_stdout_and_writes_no_file(arm: FakeArm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = run_skus(arm, "--out", "-")
    assert code == 0, output
    document = json.loads(output[output.index("{") : output.rindex("}") + 1])
    assert len(document["rows"]) == 3
    assert not (tmp_path / "-").exists()  # `-` is stdout, not a file named "-"


def test_skus_file_feeds_pool_pull(arm: FakeArm, cli: Cli, batch: Running, tmp_path: Path) -> None:
    skus = tmp_path / "skus.json"
    assert run_skus(arm, "--out", str(skus), "--resource-group", "rg")[0] == 0
    out = tmp_path / "pool.yaml"
    code, output = cli("pool", "pull", "render", "--out", str(out), "--skus", str(skus))
    assert code == 0, output
    pool = load_scenario(out).pool
    assert (pool.vcpus_per_node, pool.quota.dedicated_cores, pool.quota.spot_cores) == (2, 48, 100)


def test_authentication_failed(arm: FakeArm) -> None:
    with pytest.raises(AzureIntegrationError, match=r"authentication failed.*InvalidAuthenticationToken.*Reader"):
        fetch_skus(FakeToken("expired"), "sub-1", "eastus", base_url=arm.url, retries=0)


def test_unknown_account_and_subscription(arm: FakeArm) -> None:
    with pytest.raises(AzureIntegrationError, match="Batch account 'nope' in resource group 'rg' was not found"):
        fetch_skus(FakeToken(), "sub-1", "eastus", resource_group="rg", account="nope", base_url=arm.url, retries=0)
    with pytest.raises(AzureIntegrationError, match=r"subscription 'sub-2' was not found.*SubscriptionNotFound"):
        fetch_skus(FakeToken(), "sub-2", "eastus", base_url=arm.url, retries=0)


def test_cli_errors(arm: FakeArm, tmp_path: Path) -> None:
    arm.issued_token = "revoked"  # the identity's token is refused by ARM: 401
    code, output = run_skus(arm, "--out", str(tmp_path / "x.json"))
    assert code == 1 and "authentication failed" in output and "nothing was written" in output
    assert not (tmp_path / "x.json").exists()
    result = CliRunner().invoke(app, ["skus", "--region", "eastus"])
    assert result.exit_code == 2 and "AZURE_SUBSCRIPTION_ID" in result.output
    result = CliRunner().invoke(app, ["skus", "--region", "eastus", "--subscription", "s", "--resource-group", "rg"])
    assert result.exit_code == 2 and "both --resource-group and --account-name" in result.output


def test_management_endpoint_unreachable(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(AzureIntegrationError, match="cannot reach"):
        fetch_skus(FakeToken(), "sub-1", "eastus", base_url=f"https://127.0.0.1:{port}", retries=0)
