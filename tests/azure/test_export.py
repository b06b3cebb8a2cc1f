"""`batchsim export` with the real azure-batch client against the local Batch service (azure-sdk.md §8 A)."""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from arm_server import IDENTITY_SECRET, TOKEN, FakeArm
from batch_server import FakeBatchService, Running, autoscale_on, iso_duration_s, make_pool, serve
from cli_runner import Cli

from batchsim.azure.client import BatchSettings, SettingsError, batch_client, resolve_settings
from batchsim.azure.errors import AzureIntegrationError, ServiceFormulaError
from batchsim.azure.export import LocalCheckFailed, export_formula

OLD = "$TargetDedicatedNodes = 2;"
OLD_RESULTS = "$TargetDedicatedNodes=2;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue"


def enable_autoscale(running: Running, pool_id: str = "render") -> None:
    running.service.pools[pool_id].update(autoscale_on(OLD, OLD_RESULTS))


def assert_all_signed(service: FakeBatchService) -> None:
    assert service.requests, "no request reached the service"
    assert service.signature_failures == 0
    assert all(r.query["api-version"] == ["2025-06-01"] for r in service.requests)


def test_enable_happy_path_evaluates_diffs_and_enables(cli: Cli, batch: Running, formula: Path) -> None:
    enable_autoscale(batch)
    code, out = cli("export", str(formula), "--pool", "render", "--interval", "30m")
    assert code == 0, out
    service = batch.service
    assert [(r.method, r.path) for r in service.requests] == [
        ("GET", "/pools/render"),
        ("POST", "/pools/render/evaluateautoscale"),
        ("POST", "/pools/render/enableautoscale"),
    ]
    assert_all_signed(service)
    text = formula.read_text(encoding="utf-8")
    assert service.requests[1].body == {"autoScaleFormula": text}
    enable = service.requests[2].body
    assert enable["autoScaleFormula"] == text
    assert iso_duration_s(enable["autoScaleEvaluationInterval"]) == 1800
    pool = service.pools["render"]
    assert (
        pool["enableAutoScale"] and pool["autoScaleFormula"] == text and pool["autoScaleEvaluationInterval"] == "PT30M"
    )
    # The diff: the formula line by line, the interval, and the results by variable.
    assert "-$TargetDedicatedNodes = 2;" in out
    assert "+$TargetDedicatedNodes = max(1, $CurrentDedicatedNodes);" in out
    assert "interval: 15m -> 30m" in out
    assert "$TargetDedicatedNodes    2        5  *" in out
    assert "autoscale enabled on pool 'render'" in out


def test_autoscale_off_enables_without_evaluate_and_says_why(cli: Cli, batch: Running, formula: Path) -> None:
    code, out = cli("export", str(formula), "--pool", "render")
    assert code == 0, out
    assert [r.path for r in batch.service.posts()] == ["/pools/render/enableautoscale"]
    assert "the service cannot evaluate the formula before it is enabled" in out
    assert "formula: the pool has none (autoscale is off)" in out
    # batchsim's local evaluation against the pool's counts (2 dedicated) gives the new results.
    assert "$TargetDedicatedNodes" in out and "local evaluation" in out
    assert batch.service.pools["render"]["autoScaleEvaluationInterval"] == "PT15M"
    assert_all_signed(batch.service)


@pytest.mark.parametrize(
    "text",
    [
        "$TargetDedicatedNodes = (1 + ;\n",  # syntax error
        "$TargetDedicatedNodes = $NoSuchVariable;\n",  # evaluation error the service would report
        "",  # no statement
    ],
)
def test_invalid_formula_never_reaches_the_service(cli: Cli, batch: Running, tmp_path: Path, text: str) -> None:
    enable_autoscale(batch)
    path = tmp_path / "bad.formula"
    path.write_text(text, encoding="utf-8")
    code, out = cli("export", str(path), "--pool", "render")
    assert code == 1
    assert "fails batchsim check; nothing was sent to the pool" in out
    assert batch.service.requests == []


def test_invalid_formula_is_refused_by_the_library_too(batch: Running) -> None:
    with client_for(batch) as client, pytest.raises(LocalCheckFailed) as caught:
        export_formula(client, "render", "$TargetDedicatedNodes = ;", endpoint=batch.url, echo=lambda _: None)
    assert caught.value.diagnostics
    assert batch.service.requests == []


def test_evaluation_error_surfaces_with_line_and_column(cli: Cli, batch: Running, tmp_path: Path) -> None:
    enable_autoscale(batch)
    batch.service.evaluate_error = {
        "code": "InsufficientSampleData",
        "message": "Autoscale evaluation failed due to insufficient sample data",
        "values": [
            {
                "name": "Message",
                "value": "Line 1, Col 37: Insufficient data from data set: $PendingTasks wanted 70%, received 0%",
            }
        ],
    }
    path = tmp_path / "samples.formula"
    path.write_text("$TargetDedicatedNodes = max(0, $PendingTasks.GetSample(TimeInterval_Minute * 5, 70));\n")
    code, out = cli("export", str(path), "--pool", "render")
    assert code == 1
    assert f"{path}:1:37: error InsufficientSampleData Insufficient data from data set" in out
    assert "Line 1, Col 37" in out
    assert "the pool was not changed" in out
    assert batch.service.posts("enableautoscale") == []


def test_syntax_error_400_from_evaluate_has_line_and_column(cli: Cli, batch: Running, formula: Path) -> None:
    enable_autoscale(batch)
    batch.service.syntax_error = (1, 25, "Unexpected token 'max'")
    code, out = cli("export", str(formula), "--pool", "render")
    assert code == 1
    assert f"{formula}:1:25: error AutoScalingFormulaSyntaxError Unexpected token 'max'" in out
    assert batch.service.posts("enableautoscale") == []


def test_syntax_error_400_from_enable_when_autoscale_is_off(cli: Cli, batch: Running, formula: Path) -> None:
    batch.service.syntax_error = (1, 5, "Unexpected character '='")
    code, out = cli("export", str(formula), "--pool", "render")
    assert code == 1
    assert "AutoScalingFormulaSyntaxError: Line 1, Col 5: Unexpected character '='" in out
    assert batch.service.pools["render"]["enableAutoScale"] is False


def test_wrong_key_is_authentication_failed(cli: Cli, batch: Running, formula: Path) -> None:
    wrong = "d3Jvbmcta2V5LW5vdC10aGUtYWNjb3VudHMta2V5LTAxMjM="
    code, out = cli("export", str(formula), "--pool", "render", key=wrong)
    assert code == 1
    assert "authentication failed" in out and "AuthenticationFailed" in out
    assert wrong not in out and batch.service.key not in out
    assert batch.service.signature_failures == 1 and batch.service.posts() == []


def test_unknown_pool(cli: Cli, batch: Running, formula: Path) -> None:
    code, out = cli("export", str(formula), "--pool", "nope")
    assert code == 1
    assert "pool 'nope' was not found" in out and "PoolNotFound" in out


def test_pool_resizing_is_refused_with_a_clear_message(cli: Cli, batch: Running, formula: Path) -> None:
    batch.service.pools["render"]["allocationState"] = "resizing"
    code, out = cli("export", str(formula), "--pool", "render")
    assert code == 1
    assert "pool 'render' is resizing" in out and "PoolBeingResized" in out
    assert batch.service.posts("enableautoscale")[0].status == 409


def test_enable_too_soon_waits_the_spacing_and_retries_once(batch: Running, formula: Path) -> None:
    service = batch.service
    service.last_enable_s["render"] = service.clock_s - 5  # someone enabled 5 s ago
    waits: list[float] = []

    def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        service.advance(seconds)

    lines: list[str] = []
    with client_for(batch) as client:
        result = export_formula(
            client, "render", formula.read_text(), endpoint=batch.url, echo=lines.append, sleep=fake_sleep
        )
    assert result.enabled and result.enable_attempts == 2
    assert waits == [30.0]
    assert [r.status for r in service.posts("enableautoscale")] == [503, 200]
    assert any("retrying once in 30s" in line for line in lines)


def test_enable_operation_timed_out_is_retried_once(batch: Running, formula: Path) -> None:
    """A live recording shows an enable answered 500 OperationTimedOut that then succeeded on retry."""
    batch.service.enable_failures.append((500, "OperationTimedOut", "The operation timed out."))
    waits: list[float] = []
    with client_for(batch) as client:
        result = export_formula(
            client, "render", formula.read_text(), endpoint=batch.url, echo=lambda _: None, sleep=waits.append
        )
    assert result.enable_attempts == 2 and waits == [30.0]
    assert [r.status for r in batch.service.posts("enableautoscale")] == [500, 200]


def test_evaluate_refused_in_the_current_state(cli: Cli, batch: Running, formula: Path) -> None:
    """Autoscale turned off between the GET and the evaluate: the service's 409 is explained."""
    enable_autoscale(batch)
    original = batch.service._evaluate

    def evaluate_after_disable(pool: dict[str, Any], body: dict[str, Any]) -> tuple[int, Any]:
        pool["enableAutoScale"] = False
        return original(pool, body)

    batch.service._evaluate = evaluate_after_disable  # type: ignore[method-assign]
    code, out = cli("export", str(formula), "--pool", "render")
    assert code == 1
    assert "the service refused to evaluate the formula: pool 'render' is not in a state that allows it" in out
    assert "OperationInvalidForCurrentState" in out


def test_enable_too_soon_twice_is_explained(
    cli: Cli, batch: Running, formula: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = batch.service
    service.last_enable_s["render"] = service.clock_s
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)  # the service clock does not move: refused again
    code, out = cli("export", str(formula), "--pool", "render")
    assert code == 1
    assert "at most once every 30 s" in out and "TooManyEnableAutoScaleRequests" in out
    assert "after one retry 30s later" in out
    assert waits == [30.0]
    assert [r.status for r in service.posts("enableautoscale")] == [503, 503]


def test_connection_refused(cli: Cli, formula: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cli.running = Running(cli.running.service, f"http://127.0.0.1:{port}")
    code, out = cli("export", str(formula), "--pool", "render")
    assert code == 1
    assert f"cannot reach http://127.0.0.1:{port}" in out and "refused" in out.lower()


def test_timeout(cli: Cli, batch: Running, formula: Path) -> None:
    batch.service.delay_s = 1.0
    code, out = cli("export", str(formula), "--pool", "render", "--timeout", "0.2")
    assert code == 1
    assert "timed out waiting for" in out


def test_dry_run_changes_nothing(cli: Cli, batch: Running, formula: Path) -> None:
    enable_autoscale(batch)
    before = dict(batch.service.pools["render"])
    code, out = cli("export", str(formula), "--pool", "render", "--dry-run")
    assert code == 0, out
    # Only the read-only evaluate is a POST; no enable, no disable.
    assert [r.path for r in batch.service.posts()] == ["/pools/render/evaluateautoscale"]
    assert batch.service.pools["render"] == before
    assert "dry run: pool 'render' was not changed" in out
    assert "+$TargetDedicatedNodes = max(1, $CurrentDedicatedNodes);" in out


def test_dry_run_on_a_pool_without_autoscale_sends_no_post(cli: Cli, batch: Running, formula: Path) -> None:
    code, _ = cli("export", str(formula), "--pool", "render", "--dry-run")
    assert code == 0
    assert batch.service.posts() == []


def test_disable(cli: Cli, batch: Running) -> None:
    enable_autoscale(batch)
    code, out = cli("export", "--pool", "render", "--disable")
    assert code == 0, out
    assert [r.path for r in batch.service.posts()] == ["/pools/render/disableautoscale"]
    assert batch.service.pools["render"]["enableAutoScale"] is False
    assert "autoscale disabled on pool 'render'" in out and "-$TargetDedicatedNodes = 2;" in out
    code, out = cli("export", "--pool", "render", "--disable")
    assert code == 0 and "already off" in out
    assert len(batch.service.posts()) == 1
    assert_all_signed(batch.service)


def test_disable_dry_run(cli: Cli, batch: Running) -> None:
    enable_autoscale(batch)
    code, _ = cli("export", "--pool", "render", "--disable", "--dry-run")
    assert code == 0 and batch.service.posts() == []
    assert batch.service.pools["render"]["enableAutoScale"] is True


@pytest.mark.parametrize("interval", ["4m", "169h", "soon"])
def test_interval_out_of_range_is_a_usage_error(cli: Cli, batch: Running, formula: Path, interval: str) -> None:
    code, out = cli("export", str(formula), "--pool", "render", "--interval", interval)
    assert code == 2 and "--interval" in out
    assert batch.service.requests == []


def test_usage_errors(cli: Cli, formula: Path) -> None:
    code, out = cli("export", "--pool", "render")
    assert code == 2 and "missing FORMULA_FILE" in out
    code, out = cli("export", str(formula), "--pool", "render", "--disable")
    assert code == 2
    from typer.testing import CliRunner

    from batchsim.cli import app

    result = CliRunner().invoke(app, ["export", str(formula), "--pool", "render"])
    assert result.exit_code == 2 and "AZURE_BATCH_ENDPOINT" in result.output


def test_environment_credentials(batch: Running, formula: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from batchsim.cli import app

    monkeypatch.setenv("AZURE_BATCH_ENDPOINT", batch.url)
    monkeypatch.setenv("AZURE_BATCH_ACCOUNT", batch.service.account)
    monkeypatch.setenv("AZURE_BATCH_ACCESS_KEY", batch.service.key)
    result = CliRunner().invoke(app, ["export", str(formula), "--pool", "render", "--retries", "0"])
    assert result.exit_code == 0, result.output
    assert_all_signed(batch.service)
    assert batch.service.key not in result.output


def test_credential_order() -> None:
    env = {"AZURE_BATCH_ENDPOINT": "https://a.eastus.batch.azure.com", "AZURE_BATCH_ACCOUNT": "a",
           "AZURE_BATCH_ACCESS_KEY": "a2V5"}  # fmt: skip
    flags = resolve_settings("https://b.westus.batch.azure.com/", "b", "Yg==", env=env)
    assert (flags.endpoint, flags.account_name, flags.account_key) == ("https://b.westus.batch.azure.com", "b", "Yg==")
    from_env = resolve_settings(None, None, None, env=env)
    assert (from_env.account_name, from_env.account_key, from_env.shared_key) == ("a", "a2V5", True)
    entra = resolve_settings("b.westus.batch.azure.com", "b", None, env={})
    assert entra.endpoint == "https://b.westus.batch.azure.com" and not entra.shared_key
    assert "DefaultAzureCredential" in entra.describe_auth()
    with pytest.raises(SettingsError, match="account name"):
        resolve_settings("https://x", None, "Yg==", env={})
    with pytest.raises(SettingsError, match="AZURE_BATCH_ENDPOINT"):
        resolve_settings(None, "a", "Yg==", env={})


def test_bearer_over_plain_http_is_explained(batch: Running) -> None:
    """Without a key the client uses a TokenCredential, which azure-core sends only over https."""
    from azure.core.credentials import AccessToken

    class FakeToken:
        def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
            return AccessToken("token", int(time.time()) + 3600)

    settings = resolve_settings(batch.url, None, None, env={})
    with batch_client(settings, FakeToken(), retry_total=0) as client, pytest.raises(AzureIntegrationError) as caught:
        export_formula(client, "render", "$TargetDedicatedNodes = 1;", endpoint=batch.url, echo=lambda _: None)
    assert "only over https" in str(caught.value)
    assert batch.service.requests == []


# --- keys never appear -------------------------------------------------------------------


SECRET_CASES = ["ok", "dry-run", "wrong-key", "not-found", "resizing", "eval-error", "syntax", "bad-base64"]


@pytest.mark.parametrize("case", SECRET_CASES)
def test_keys_never_appear_in_output_logs_or_exceptions(
    cli: Cli, batch: Running, formula: Path, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    service = batch.service
    enable_autoscale(batch)
    key = service.key
    pool = "render"
    extra: list[str] = []
    if case == "dry-run":
        extra = ["--dry-run"]
    elif case == "wrong-key":
        key = "c2VjcmV0LXdyb25nLWtleS10aGF0LW11c3Qtbm90LWxlYWs="
    elif case == "not-found":
        pool = "missing"
    elif case == "resizing":
        service.resizing_on_enable = True
    elif case == "eval-error":
        service.evaluate_error = {"code": "AutoScalingFormulaEvaluationError", "message": "x",
                                  "values": [{"name": "Message", "value": "Line 1, Col 1: Undefined symbol: $x"}]}  # fmt: skip
    elif case == "syntax":
        service.syntax_error = (1, 1, "Unexpected token")
    elif case == "bad-base64":
        key = "not base64 at all: s3cr3t!"
    code, out = cli("export", str(formula), "--pool", pool, *extra, key=key)
    assert code == (0 if case in ("ok", "dry-run") else 2 if case == "bad-base64" else 1), out
    for secret in {key, service.key}:
        assert secret not in out
        assert secret not in caplog.text
    if case == "bad-base64":
        assert "not valid base64" in out and service.requests == []


def test_settings_repr_and_library_errors_hide_the_key(batch: Running) -> None:
    settings = resolve_settings(batch.url, "acct", batch.service.key, env={}, retries=0)
    assert batch.service.key not in repr(settings)
    assert settings.secrets() == [batch.service.key]
    wrong = BatchSettings(batch.url, "acct", "d3Jvbmc=", 5.0, 0)
    with batch_client(wrong) as client, pytest.raises(AzureIntegrationError) as caught:
        export_formula(client, "render", "$TargetDedicatedNodes = 1;", endpoint=batch.url, echo=lambda _: None)
    assert "d3Jvbmc=" not in str(caught.value) and "d3Jvbmc=" not in repr(caught.value.args)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_service_formula_error_keeps_position() -> None:
    from batchsim.azure.errors import formula_error

    error = formula_error("AutoScalingFormulaSyntaxError", "m", [("Message", "Line 3, Col 7: Unexpected token ')'")])
    assert isinstance(error, ServiceFormulaError)
    assert (error.line, error.column, error.detail) == (3, 7, "Unexpected token ')'")
    keyed = formula_error("AutoScalingFormulaSyntaxError", "m", [("Line", "2"), ("Column", "4"), ("Message", "bad")])
    assert (keyed.line, keyed.column, keyed.detail) == (2, 4, "bad")


def client_for(running: Running) -> Any:
    settings = resolve_settings(running.url, running.service.account, running.service.key, env={}, retries=0)
    return batch_client(settings)


def test_pool_fields_read_from_the_service(batch: Running) -> None:
    from batchsim.azure.export import read_pool

    batch.service.pools["win"] = make_pool(
        "win", virtualMachineConfiguration={"nodeAgentSKUId": "batch.node.windows amd64", "imageReference": {}}
    )
    with client_for(batch) as client:
        view = read_pool(client, "win", endpoint=batch.url)
    assert (view.os, view.task_slots_per_node, view.node_fill_type, view.allocation_state) == (
        "windows",
        4,
        "pack",
        "steady",
    )


def test_entra_id_through_default_azure_credential(arm: FakeArm, tmp_path: Path, formula: Path) -> None:
    """No key: DefaultAzureCredential gets a token (App Service managed identity) and the client sends it over https."""
    import ssl

    from typer.testing import CliRunner

    from batchsim.cli import app

    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(tmp_path / "arm-cert.pem", tmp_path / "arm-key.pem")
    service = FakeBatchService(pools={"render": make_pool("render")}, bearer_token=TOKEN)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IDENTITY_ENDPOINT", f"{arm.url}/msi/token")
        patch.setenv("IDENTITY_HEADER", IDENTITY_SECRET)
        for running in serve(service, tls):
            result = CliRunner().invoke(
                app, ["export", str(formula), "--pool", "render", "--endpoint", running.url, "--retries", "0"]
            )
    assert result.exit_code == 0, result.output
    assert service.bearer_requests == 2 and service.signature_failures == 0
    assert [r.path for r in service.posts()] == ["/pools/render/enableautoscale"]
    token_requests = [r for r in arm.requests if r[1] == "/msi/token"]
    assert token_requests[0][2]["resource"] == ["https://batch.core.windows.net/"]
