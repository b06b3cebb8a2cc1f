"""The rest of the Azure edge: If-Match on enable, JSON output, Batch-supported SKUs, sovereign clouds,
--debug logging with keys redacted, quiet azure-identity, and the monitor extra."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from arm_server import IDENTITY_SECRET, FakeArm
from batch_server import Running, autoscale_on
from cli_runner import Cli
from typer.testing import CliRunner

from batchsim.cli import app

FORMULA = "$TargetDedicatedNodes = 1;"
RESULTS = "$TargetDedicatedNodes=2;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue"


def test_enable_sends_the_pools_etag_as_if_match(cli: Cli, batch: Running, formula: Path) -> None:
    etag = batch.service.pools["render"]["eTag"]
    code, output = cli("export", str(formula), "--pool", "render")
    assert code == 0, output
    (enable,) = batch.service.posts("/enableautoscale")
    assert {k.lower(): v for k, v in enable.headers.items()}["if-match"] == f'"{etag}"'
    assert batch.service.pools["render"]["enableAutoScale"] is True


def test_a_pool_changed_since_it_was_read_is_not_overwritten(cli: Cli, batch: Running, formula: Path) -> None:
    batch.service.change_after_get = True  # someone else updates the pool between our read and our enable
    code, output = cli("export", str(formula), "--pool", "render")
    assert code == 1
    assert "was changed after batchsim read it" in output and "412" in output and "not changed" in output
    assert batch.service.pools["render"]["enableAutoScale"] is False
    assert [r.status for r in batch.service.posts("/enableautoscale")] == [412]


def test_export_dry_run_as_json(cli: Cli, batch: Running, formula: Path) -> None:
    batch.service.pools["render"].update(autoscale_on(FORMULA, RESULTS))
    code, output = cli("export", str(formula), "--pool", "render", "--dry-run", "--format", "json")
    assert code == 0
    document = json.loads(output[output.index("{") :])  # the diff goes to stderr, mixed in by the runner
    assert document["dry_run"] is True and document["enabled"] is False and document["evaluated_by"] == "service"
    assert document["current"]["formula"] == FORMULA and document["current"]["last_run"]["results"] == RESULTS
    assert document["new"]["run"]["results"].startswith("$TargetDedicatedNodes=5")
    assert document["formula_changed"] is True
    result = CliRunner().invoke(
        app, ["export", str(formula), "--pool", "render", "--dry-run", "--format", "json", *cli.flags()]
    )
    assert json.loads(result.stdout)["pool_id"] == "render"  # stdout alone is one JSON document
    assert batch.service.posts("/enableautoscale") == []


def test_pool_pull_as_json(cli: Cli, batch: Running, tmp_path: Path) -> None:
    batch.service.pools["render"].update(autoscale_on(FORMULA, RESULTS))
    result = CliRunner().invoke(
        app, ["pool", "pull", "render", "--out", str(tmp_path / "s.yaml"), "--format", "json", *cli.flags()]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["scenario"] == str(tmp_path / "s.yaml") and document["formula"].endswith("render.formula")
    assert document["target"] == {"dedicated": 2, "spot": 3} and document["last_autoscale_run"]["results"] == RESULTS


def _identity(patch: pytest.MonkeyPatch, arm: FakeArm) -> None:
    patch.setenv("IDENTITY_ENDPOINT", f"{arm.url}/msi/token")
    patch.setenv("IDENTITY_HEADER", IDENTITY_SECRET)


def test_skus_from_the_batch_supported_list(arm: FakeArm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    arm.batch_skus = [
        {
            "name": "Standard_D2s_v3",
            "familyName": "standardDSv3Family",
            "capabilities": [
                {"name": "vCPUs", "value": "2"},
                {"name": "MemoryGB", "value": "8"},
                {"name": "LowPriorityCapable", "value": "True"},
            ],
            "batchSupportEndOfLife": "2027-03-31T00:00:00Z",
        },
        {
            "name": "Standard_NC6s_v3",
            "familyName": "standardNCSv3Family",
            "capabilities": [
                {"name": "vCPUs", "value": "6"},
                {"name": "MemoryGB", "value": "112"},
                {"name": "GPUs", "value": "1"},
            ],
        },
    ]
    _identity(monkeypatch, arm)
    out = tmp_path / "skus.json"
    result = CliRunner().invoke(
        app,
        [
            "skus",
            "--region",
            "eastus",
            "--subscription",
            "sub-1",
            "--management-endpoint",
            arm.url,
            "--retries",
            "0",
            "--out",
            str(out),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"out": str(out), "region": "eastus", "rows": 2, "quota": None}
    rows = {row["vm_size"]: row for row in json.loads(out.read_text())["rows"]}
    assert rows["Standard_D2s_v3"]["batch_support_end_of_life"].startswith("2027-03-31")
    assert rows["Standard_NC6s_v3"]["gpus"] == 1 and rows["Standard_D2s_v3"]["source"].startswith(
        "Batch supported VM SKUs"
    )
    assert not any("Microsoft.Compute" in r[1] for r in arm.arm_requests())  # the fallback was not needed


@pytest.mark.parametrize(
    ("endpoint", "scope"),
    [
        ("https://acct.chinanorth2.batch.chinacloudapi.cn", "https://batch.chinacloudapi.cn/.default"),
        ("https://acct.usgovvirginia.batch.usgovcloudapi.net", "https://batch.core.usgovcloudapi.net/.default"),
        ("https://acct.eastus.batch.azure.com", "https://batch.core.windows.net//.default"),
    ],
)
def test_sovereign_clouds_ask_for_their_own_batch_scope(endpoint: str, scope: str) -> None:
    from azure.core.credentials import AccessToken

    from batchsim.azure.client import batch_client, resolve_settings

    class Token:
        def __init__(self) -> None:
            self.scopes: list[tuple[str, ...]] = []

        def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
            self.scopes.append(scopes)
            return AccessToken("t", int(time.time()) + 3600)

    sent: list[tuple[str, str]] = []

    class Sent(Exception):
        pass

    def stop(request: object) -> None:  # after authentication, before any socket
        http = request.http_request  # type: ignore[attr-defined]
        sent.append((http.url, http.headers["Authorization"]))
        raise Sent

    credential = Token()
    settings = resolve_settings(endpoint, None, None, retries=0)
    with batch_client(settings, credential=credential) as client, pytest.raises(Sent):
        client.get_pool("render", raw_request_hook=stop)
    assert credential.scopes == [(scope,)]
    assert sent[0][0].startswith(endpoint + "/pools/render?api-version=2025-06-01") and sent[0][1] == "Bearer t"


def test_debug_logs_http_with_keys_redacted(batch: Running, formula: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "batchsim",
        "export",
        str(formula),
        "--pool",
        "render",
        "--dry-run",
        "--debug",
        *Cli(batch).flags(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Request URL" in done.stderr and "/pools/render" in done.stderr
    assert "'Authorization': 'REDACTED'" in done.stderr
    key = batch.service.key
    assert key not in done.stderr + done.stdout and "SharedKey acct:" not in done.stderr.replace(
        "SharedKey acct:REDACTED", ""
    )
    quiet = subprocess.run([c for c in command if c != "--debug"], capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 0 and "Request URL" not in quiet.stderr


def test_no_azure_identity_warnings_reach_the_terminal(arm: FakeArm, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{arm.url}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", "wrong secret")  # managed identity refuses; nothing else is set up
    monkeypatch.setenv("PATH", "/nonexistent")  # no az, azd or pwsh to try either
    result = CliRunner().invoke(
        app,
        ["skus", "--region", "eastus", "--subscription", "sub-1", "--management-endpoint", arm.url, "--retries", "0"],
    )
    assert result.exit_code == 1
    assert "no Microsoft Entra ID credential is available" in result.output
    assert "WARNING" not in result.output and "DefaultAzureCredential failed" not in result.output.split("error:")[0]


def test_the_monitor_extra_is_named_when_missing(tmp_path: Path) -> None:
    out = str(tmp_path / "h")
    script = (
        "import sys\n"
        "sys.modules['azure.monitor.querymetrics'] = None\n"
        f"sys.argv = ['batchsim', 'history', 'pull', 'render', '--out', {out!r}, '--endpoint', 'http://127.0.0.1:9',"
        " '--resource-id', '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Batch/batchAccounts/a']\n"
        "from batchsim.cli import main\nmain()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "pip install 'batchsim[monitor]'" in done.stderr and "Traceback" not in done.stderr
