"""`batchsim skus --region R [--out FILE]`: VM sizes and Batch core quotas in the catalog format."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from batchsim import jsonio
from batchsim.cli._azure import DEBUG_HELP, RETRIES_HELP, TIMEOUT_HELP
from batchsim.cli.app import OutputFormat, app
from batchsim.cli.errors import EXIT_USAGE, fail, require_extra


@app.command("skus")
def skus_command(
    region: str = typer.Option(..., "--region", help="Azure region (eastus, westeurope, ...)."),
    out: Path | None = typer.Option(None, "--out", help="The catalog file to write, or - for stdout (the default)."),
    subscription: str | None = typer.Option(
        None, "--subscription", help="Subscription ID (else AZURE_SUBSCRIPTION_ID)."
    ),
    resource_group: str | None = typer.Option(
        None,
        "--resource-group",
        help="The Batch account's resource group, for quotas (else AZURE_BATCH_RESOURCE_GROUP).",
    ),
    account_name: str | None = typer.Option(
        None, "--account-name", help="The Batch account, for quotas (else AZURE_BATCH_ACCOUNT)."
    ),
    prices: Path | None = typer.Option(
        None, "--prices", help="A catalog file (e.g. from `batchsim prices import`) whose prices are merged in."
    ),
    management_endpoint: str | None = typer.Option(
        None, "--management-endpoint", help="Resource Manager URL (default: the public cloud's)."
    ),
    timeout: float = typer.Option(60.0, "--timeout", help=TIMEOUT_HELP),
    retries: int = typer.Option(3, "--retries", min=0, help=RETRIES_HELP),
    debug: bool = typer.Option(False, "--debug", help=DEBUG_HELP),
    output_format: OutputFormat = typer.Option(
        OutputFormat.text,
        "--format",
        help="With --out: text (a line) or json (what was written); without, the catalog is JSON.",
    ),
) -> None:
    """List a region's VM sizes (vCPUs, memory, GPUs) and the Batch account's core quotas, as catalog rows.

    Authenticates with Microsoft Entra ID (DefaultAzureCredential): Resource Manager takes no keys.
    """
    require_extra("azure.mgmt.compute", "azure")
    from batchsim.azure.client import default_credential
    from batchsim.azure.errors import AzureIntegrationError
    from batchsim.azure.logging_setup import configure_azure_logging
    from batchsim.azure.skus import fetch_skus, read_price_rows, write_catalog

    configure_azure_logging(debug)
    subscription = subscription or os.environ.get("AZURE_SUBSCRIPTION_ID")
    resource_group = resource_group or os.environ.get("AZURE_BATCH_RESOURCE_GROUP")
    account_name = account_name or os.environ.get("AZURE_BATCH_ACCOUNT")
    if not subscription:
        fail("no subscription: give --subscription or set AZURE_SUBSCRIPTION_ID", EXIT_USAGE)
    if prices is not None and not prices.is_file():
        fail(f"--prices: no such file: {prices}", EXIT_USAGE)
    if bool(resource_group) != bool(account_name):
        fail("quotas need both --resource-group and --account-name (or neither)", EXIT_USAGE)
    try:
        price_rows = read_price_rows(prices) if prices is not None else None
        document = fetch_skus(
            default_credential(),
            subscription,
            region,
            resource_group=resource_group,
            account=account_name,
            base_url=management_endpoint,
            price_rows=price_rows,
            retries=retries,
            timeout_s=timeout,
        )
    except AzureIntegrationError as exc:
        fail(f"skus: {exc}; nothing was written")
    if not resource_group:
        typer.echo("note: no Batch account given (--resource-group, --account-name): rows carry no quota", err=True)
    if out is None or str(out) == "-":  # `-` is stdout, as the default: the catalog alone there
        typer.echo(jsonio.dumps(document))
        return
    try:
        write_catalog(document, out)
    except OSError as exc:
        fail(f"skus: cannot write {out}: {exc.strerror}")
    if output_format is OutputFormat.json:
        summary = {"out": str(out), "region": region, "rows": len(document["rows"]), "quota": document.get("quota")}
        typer.echo(jsonio.dumps(summary))
        return
    typer.echo(f"{len(document['rows'])} VM size rows for {region} written to {out}")
