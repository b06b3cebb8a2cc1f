"""`batchsim pool pull POOL_ID --out scenario.yaml`: a scenario skeleton from a live pool;
`batchsim pool create POOL.json [--dry-run]`: a planned pool created through azure-batch."""

from __future__ import annotations

from pathlib import Path

import typer

from batchsim.cli._azure import ACCOUNT_HELP, DEBUG_HELP, ENDPOINT_HELP, KEY_HELP, RETRIES_HELP, TIMEOUT_HELP
from batchsim.cli.app import OutputFormat, app
from batchsim.cli.errors import EXIT_USAGE, fail, require_extra

pool_app = typer.Typer(
    help="Live Batch pools: pull one into a scenario file, or create a planned one.", no_args_is_help=True
)
app.add_typer(pool_app, name="pool")


@pool_app.command("pull")
def pull_command(
    pool_id: str = typer.Argument(..., metavar="POOL_ID", help="The pool's ID."),
    out: Path = typer.Option(..., "--out", help="The scenario file to write; the formula goes to formulas/ beside it."),
    region: str | None = typer.Option(None, "--region", help="Region, when the pool's URL does not tell it."),
    skus: Path | None = typer.Option(
        None, "--skus", help="A `batchsim skus` file: vCPUs, core quotas and prices for the pool's size."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite existing files."),
    endpoint: str | None = typer.Option(None, "--endpoint", help=ENDPOINT_HELP),
    account_name: str | None = typer.Option(None, "--account-name", help=ACCOUNT_HELP),
    account_key: str | None = typer.Option(None, "--account-key", help=KEY_HELP),
    timeout: float = typer.Option(60.0, "--timeout", help=TIMEOUT_HELP),
    retries: int = typer.Option(3, "--retries", min=0, help=RETRIES_HELP),
    debug: bool = typer.Option(False, "--debug", help=DEBUG_HELP),
    output_format: OutputFormat = typer.Option(
        OutputFormat.text, "--format", help="text or json (the files written, the pool)."
    ),
) -> None:
    """Write a scenario skeleton from a live pool: size, region, slots, fill type, nodes, formula, last run."""
    require_extra("azure.batch", "azure")
    from batchsim import jsonio
    from batchsim.azure.client import SettingsError, batch_client, resolve_settings
    from batchsim.azure.errors import AzureIntegrationError, redact
    from batchsim.azure.export import read_pool
    from batchsim.azure.logging_setup import configure_azure_logging
    from batchsim.azure.pull import write_pulled_scenario

    if skus is not None and not skus.is_file():
        fail(f"--skus: no such file: {skus}", EXIT_USAGE)
    try:
        settings = resolve_settings(endpoint, account_name, account_key, timeout_s=timeout, retries=retries)
    except SettingsError as exc:
        fail(str(exc), EXIT_USAGE)
    configure_azure_logging(debug, settings.secrets())
    try:
        with batch_client(settings) as client:
            view = read_pool(client, pool_id, endpoint=settings.endpoint)
        written = write_pulled_scenario(
            view, out, endpoint=settings.endpoint, region=region, skus_file=skus, force=force
        )
    except AzureIntegrationError as exc:
        fail(redact(str(exc), settings.secrets()))
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror}")
    if output_format is OutputFormat.json:
        run = view.last_run
        summary = {
            "pool_id": pool_id,
            "scenario": str(written.scenario),
            "formula": None if written.formula is None else str(written.formula),
            "vm_size": view.vm_size,
            "allocation_state": view.allocation_state,
            "autoscale_enabled": view.autoscale_enabled,
            "current": {"dedicated": view.current_dedicated, "spot": view.current_low_priority},
            "target": {"dedicated": view.target_dedicated, "spot": view.target_low_priority},
            "last_autoscale_run": None
            if run is None
            else {
                "timestamp": None if run.timestamp is None else run.timestamp.isoformat(),
                "results": run.results,
                "error_code": run.error_code,
                "error_message": run.error_detail or run.error_message,
            },
        }
        typer.echo(jsonio.dumps(summary))
        return
    typer.echo(f"scenario for pool '{pool_id}' written to {written.scenario}")
    if written.formula is not None:
        typer.echo(f"its autoscale formula written to {written.formula}")
    else:
        typer.echo("the pool has no autoscale formula: the scenario keeps its sizes fixed")


@pool_app.command("create")
def create_command(
    body_file: Path = typer.Argument(..., metavar="POOL.json", help="A pool-add body, as `batchsim plan` writes it."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check the body and the id; create nothing."),
    endpoint: str | None = typer.Option(None, "--endpoint", help=ENDPOINT_HELP),
    account_name: str | None = typer.Option(None, "--account-name", help=ACCOUNT_HELP),
    account_key: str | None = typer.Option(None, "--account-key", help=KEY_HELP),
    timeout: float = typer.Option(60.0, "--timeout", help=TIMEOUT_HELP),
    retries: int = typer.Option(3, "--retries", min=0, help=RETRIES_HELP),
    debug: bool = typer.Option(False, "--debug", help=DEBUG_HELP),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", help="text or json."),
) -> None:
    """Create a NEW pool from POOL.json; refuses when a pool with its id exists.

    The body is read into the SDK's model (every key must be one of the REST pool-add body's) and its
    autoscale formula checked here before anything reaches the service.
    """
    from batchsim import jsonio
    from batchsim.azure.client import SettingsError, batch_client, resolve_settings
    from batchsim.azure.errors import AzureIntegrationError, redact
    from batchsim.azure.logging_setup import configure_azure_logging
    from batchsim.azure.pool_create import PoolBodyError, create_pool, read_pool_body

    try:
        body = read_pool_body(body_file)
    except PoolBodyError as exc:
        fail(str(exc))
    try:
        settings = resolve_settings(endpoint, account_name, account_key, timeout_s=timeout, retries=retries)
    except SettingsError as exc:
        fail(str(exc), EXIT_USAGE)
    configure_azure_logging(debug, settings.secrets())
    try:
        with batch_client(settings) as client:
            done = create_pool(client, body, endpoint=settings.endpoint, dry_run=dry_run)
    except AzureIntegrationError as exc:
        fail(redact(str(exc), settings.secrets()))
    if output_format is OutputFormat.json:
        typer.echo(jsonio.dumps({"pool_id": done.pool_id, "created": done.created, "dry_run": dry_run}))
        return
    what = f"{body['vmSize']}, {body.get('taskSlotsPerNode', 1)} slots per node"
    if done.created:
        typer.echo(f"pool '{done.pool_id}' created at {settings.endpoint} ({what})")
    else:
        typer.echo(f"dry run: pool '{done.pool_id}' ({what}) does not exist at {settings.endpoint}; nothing created")
