"""`batchsim history pull|import` (DESIGN §7, fixed): a live pool's past as a history directory."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import typer

from batchsim.cli._azure import ACCOUNT_HELP, DEBUG_HELP, ENDPOINT_HELP, KEY_HELP, RETRIES_HELP, TIMEOUT_HELP
from batchsim.cli.app import OutputFormat, app
from batchsim.cli.errors import EXIT_USAGE, fail, require_extra

history_app = typer.Typer(
    help="A pool's past as a history directory: pull it from the Batch service, or import its service logs.",
    no_args_is_help=True,
)
app.add_typer(history_app, name="history")


def when(text: str | None, option: str, now: datetime) -> datetime | None:
    """`--since 7d` (that long before now) or an ISO 8601 time (UTC unless it says otherwise)."""
    if text is None:
        return None
    from batchsim.history.directory import parse_time
    from batchsim.units import parse_duration_s

    try:
        return now - timedelta(seconds=parse_duration_s(text))
    except ValueError:
        pass
    try:
        return parse_time(text)
    except ValueError:
        fail(
            f"{option} {text!r}: expected a duration before now (7d, 36h) or a time (2026-03-02T10:15:00Z)", EXIT_USAGE
        )


def _pool_json(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        fail(f"--pool-json {path}: cannot read a JSON object: {exc}", EXIT_USAGE)
    if not isinstance(document, dict):
        fail(f"--pool-json {path}: expected the pool as a JSON object (az batch pool show)", EXIT_USAGE)
    return document


@history_app.command("import")
def import_command(
    logs: list[Path] = typer.Argument(
        ..., metavar="LOGS...", help="Log files or directories: PT1H.json blobs, Log Analytics exports."
    ),
    out: Path = typer.Option(
        ..., "--out", help="The history directory to write; an existing history is merged into (see --force)."
    ),
    pool: str | None = typer.Option(
        None, "--pool", help="The pool whose events to keep (needed when the logs hold several)."
    ),
    pool_json: Path | None = typer.Option(
        None, "--pool-json", help="The pool as the REST API returns it (az batch pool show), merged into pool.json."
    ),
    region: str | None = typer.Option(None, "--region", help="The pool's region (the logs do not say it)."),
    since: str | None = typer.Option(None, "--since", help="Keep events from then on: 7d before now, or a time."),
    until: str | None = typer.Option(None, "--until", help="Keep events until then: a duration before now, or a time."),
    force: bool = typer.Option(False, "--force", help="Replace an existing history directory instead of merging."),
    output_format: OutputFormat = typer.Option(
        OutputFormat.text, "--format", help="text or json (what was read and skipped)."
    ),
) -> None:
    """Import Batch service log events (pool resize, autoscale, task start/complete/fail) and platform
    metric records (AzureMetrics rows, insights-metrics-pt1m blobs) into a history; into an existing
    history (a pull's) they are merged, a task, resize or evaluation seen twice being one row."""
    import pandas as pd

    from batchsim import jsonio
    from batchsim.history.directory import HistoryError
    from batchsim.history.logs import import_logs

    now = datetime.now(timezone.utc)
    start, end = when(since, "--since", now), when(until, "--until", now)
    if start is not None and end is not None and end <= start:
        fail("--until must be after --since", EXIT_USAGE)
    try:
        report = import_logs(
            logs,
            out,
            pool_id=pool,
            pool_json=_pool_json(pool_json),
            region=region,
            since=None if start is None else pd.Timestamp(start),
            until=None if end is None else pd.Timestamp(end),
            force=force,
        )
    except HistoryError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror}")
    summary = {"out": str(out), "pool_id": report.pool_id, **report.as_dict(), "notes": report.notes}
    if output_format is OutputFormat.json:
        typer.echo(jsonio.dumps(summary))
        return
    used = ", ".join(f"{n} {name}" for name, n in sorted(report.used.items()))
    typer.echo(f"history of pool '{report.pool_id}' written to {out}: {used}")
    skipped = []
    if report.not_json:
        skipped.append(f"{report.not_json} line(s) not JSON (first: {report.first_bad_line})")
    if report.unknown:
        skipped.append("unknown event types: " + ", ".join(f"{k} ×{v}" for k, v in report.unknown.items()))
    if report.ignored:
        skipped.append("not needed: " + ", ".join(f"{k} ×{v}" for k, v in report.ignored.items()))
    if report.other_pools:
        skipped.append("other pools: " + ", ".join(f"{k} ×{v}" for k, v in report.other_pools.items()))
    if report.no_execution_info:
        skipped.append(f"{report.no_execution_info} task event(s) without executionInfo")
    for line in skipped:
        typer.echo(f"skipped: {line}", err=True)
    for note in report.notes:
        typer.echo(f"note: {note}", err=True)


@history_app.command("merge")
def merge_command(
    histories: list[Path] = typer.Argument(
        ..., help="Two or more history directories of one pool, most trusted first."
    ),
    out: Path = typer.Option(..., "--out", help="The merged history directory to write."),
    force: bool = typer.Option(False, "--force", help="Replace an existing directory."),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", help="text or json."),
) -> None:
    """Merge histories of one pool (a pull and an import): rows seen twice are one; history.json lists the sources."""
    from batchsim import jsonio
    from batchsim.history.directory import HistoryError
    from batchsim.history.merge import merge_histories

    if len(histories) < 2:
        fail("give at least two history directories to merge", EXIT_USAGE)
    try:
        report = merge_histories(histories, out, force=force)
    except HistoryError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror}")
    if output_format is OutputFormat.json:
        typer.echo(jsonio.dumps({"out": str(report.out), "rows": report.rows, "duplicates": report.duplicates}))
        return
    rows = ", ".join(f"{name} {n}" for name, n in report.rows.items())
    typer.echo(f"merged {len(histories)} histories into {report.out}: {rows}")
    for name, n in report.duplicates.items():
        typer.echo(f"  {name}: {n} row(s) seen twice, kept once")


@history_app.command("pull")
def pull_command(
    pool_id: str = typer.Argument(..., metavar="POOL_ID", help="The pool's ID."),
    out: Path = typer.Option(..., "--out", help="The history directory to write."),
    since: str = typer.Option("7d", "--since", help="Start of the window: a duration before now (7d) or a time."),
    until: str | None = typer.Option(None, "--until", help="End of the window (default: now)."),
    resource_id: str | None = typer.Option(
        None,
        "--resource-id",
        help="The Batch account's ARM id: also read node counts from Azure Monitor (Entra ID only).",
    ),
    metrics_endpoint: str | None = typer.Option(
        None,
        "--metrics-endpoint",
        help="Azure Monitor metrics URL (default: https://REGION.metrics.monitor.azure.com).",
    ),
    region: str | None = typer.Option(None, "--region", help="The account's region, when its URL does not tell it."),
    force: bool = typer.Option(False, "--force", help="Replace an existing history directory."),
    restart: bool = typer.Option(False, "--restart", help="Discard an interrupted pull instead of continuing it."),
    page_size: int = typer.Option(1000, "--page-size", min=1, max=1000, help="Items per list request (at most 1000)."),
    endpoint: str | None = typer.Option(None, "--endpoint", help=ENDPOINT_HELP),
    account_name: str | None = typer.Option(None, "--account-name", help=ACCOUNT_HELP),
    account_key: str | None = typer.Option(None, "--account-key", help=KEY_HELP),
    timeout: float = typer.Option(60.0, "--timeout", help=TIMEOUT_HELP),
    retries: int = typer.Option(6, "--retries", min=0, help=RETRIES_HELP + " 429 throttling too, after Retry-After."),
    debug: bool = typer.Option(False, "--debug", help=DEBUG_HELP),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", help="text or json (what was pulled)."),
) -> None:
    """Pull a pool's past through azure-batch into a history directory; an interrupted pull continues.

    The pool, its jobs' tasks created in the window, its nodes, the last autoscale run, and with
    --resource-id the node counts from Azure Monitor.
    """
    require_extra("azure.batch", "azure")
    from batchsim import jsonio
    from batchsim.azure.client import SettingsError, batch_client, cloud_of, resolve_settings
    from batchsim.azure.errors import AzureIntegrationError, redact
    from batchsim.azure.history import PullOptions, pull_history, request_counter
    from batchsim.azure.logging_setup import configure_azure_logging
    from batchsim.history.directory import HistoryError

    now = datetime.now(timezone.utc)
    start = when(since, "--since", now)
    end = when(until, "--until", now) or now
    assert start is not None
    if end <= start:
        fail(f"the window is empty: --until {end.isoformat()} is not after --since {start.isoformat()}", EXIT_USAGE)
    try:
        settings = resolve_settings(endpoint, account_name, account_key, timeout_s=timeout, retries=retries)
    except SettingsError as exc:
        fail(str(exc), EXIT_USAGE)
    metrics = None
    if resource_id is not None:
        metrics = _metrics_settings(resource_id, metrics_endpoint, region, settings.endpoint, retries, timeout)
    secrets = settings.secrets()
    configure_azure_logging(debug, secrets)
    counter = request_counter()
    options = PullOptions(
        pool_id, start, end, out, settings.endpoint, force=force, restart=restart, page_size=page_size
    )
    interrupted = False
    try:
        with batch_client(settings, per_retry_policies=[counter]) as client, _progress() as show:
            reader = None if metrics is None else _node_counts_reader(metrics, options, cloud_of(settings.endpoint))
            result = pull_history(client, options, counter=counter, progress=show, node_counts=reader)
    except KeyboardInterrupt:
        interrupted = True
    except (AzureIntegrationError, HistoryError) as exc:
        fail(redact(str(exc), secrets))
    if interrupted:
        typer.echo(
            f"interrupted: what was pulled is saved in {out}.partial; run the same command again to continue",
            err=True,
        )
        raise typer.Exit(130)
    summary = {
        "out": str(result.out),
        "pool_id": pool_id,
        "window": {"start": start.isoformat(), "end": end.isoformat()},
        "jobs": result.jobs,
        "tasks": result.tasks,
        "nodes": result.nodes,
        "requests": result.requests,
        "wall_s": result.wall_s,
        "resumed": result.resumed,
        "notes": result.notes,
    }
    if output_format is OutputFormat.json:
        typer.echo(jsonio.dumps(summary))
        return
    typer.echo(
        f"history of pool '{pool_id}' written to {result.out}: {result.tasks} tasks of {result.jobs} jobs, "
        f"{result.nodes} nodes, {result.requests} requests in {result.wall_s:.1f} s"
        + (" (continued an interrupted pull)" if result.resumed else "")
    )
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)


def _metrics_settings(
    resource_id: str,
    metrics_endpoint: str | None,
    region: str | None,
    batch_endpoint: str,
    retries: int,
    timeout: float,
) -> Any:
    from batchsim.azure.client import cloud_of
    from batchsim.azure.metrics import MetricsSettings, parse_resource_id
    from batchsim.azure.pool import region_of

    try:
        account = parse_resource_id(resource_id)
    except ValueError as exc:
        fail(f"--resource-id: {exc}", EXIT_USAGE)
    # Before any request: a missing `monitor` extra is said now (batchsim.cli.main names it), not after the pull.
    import azure.monitor.querymetrics  # noqa: F401

    cloud = cloud_of(batch_endpoint)
    if metrics_endpoint is None:
        where = region or region_of(batch_endpoint)
        if where is None:
            fail(
                "--resource-id: the Batch endpoint does not say its region; give --region or --metrics-endpoint",
                EXIT_USAGE,
            )
        metrics_endpoint = f"https://{where}.{cloud.metrics_suffix}"
    return MetricsSettings(account, metrics_endpoint.rstrip("/"), cloud.metrics_audience, retries, timeout)


def _node_counts_reader(metrics: Any, options: Any, cloud: Any) -> Any:
    """Reads node_counts.csv's rows from Azure Monitor, once the tasks are in (see batchsim.azure.metrics)."""
    from batchsim.azure.client import default_credential
    from batchsim.azure.metrics import read_node_counts

    def read(pools: list[str]) -> tuple[Any, list[str]]:
        if len(pools) > 1:
            return None, []  # account-wide counts: the pull's note says so (batchsim.azure.pool_nodes)
        counts = read_node_counts(default_credential(cloud), metrics, options.since, options.until)
        return counts, [f"node counts from Azure Monitor ({len(counts)} minutes, the account's only pool)"]

    return read


class _progress:
    """A rich progress bar on stderr for the pull (tasks against the pool's jobs' task counts)."""

    def __enter__(self) -> Any:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("[bold]pull"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("tasks · {task.fields[jobs]} · {task.fields[requests]} requests"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.progress.__enter__()
        self.task = self.progress.add_task("pull", total=None, jobs="jobs ?", requests=0)

        def show(state: dict[str, Any]) -> None:
            self.progress.update(
                self.task,
                completed=state["tasks"],
                total=max(state["tasks_total"], state["tasks"]) or None,
                jobs=f"jobs {state['jobs_done']}/{state['jobs']}",
                requests=state["requests"] if state["requests"] is not None else "?",
            )

        return show

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)


@history_app.command("generate")
def generate_command(
    scenario: Path = typer.Argument(
        ..., help="The scenario (a file or a shipped name) whose run stands in for a pool's record."
    ),
    out: Path = typer.Option(..., "--out", help="The history directory to write."),
    seed: int | None = typer.Option(None, "--seed", min=0, help="Run seed (default: the scenario's)."),
    pool: str = typer.Option("pool", "--pool", help="The pool ID the history records."),
    force: bool = typer.Option(False, "--force", help="Replace an existing history directory."),
) -> None:
    """Write a GENERATED history (labelled so) by simulating a scenario, to test calibrate against a truth.

    The files have the shapes a pull or an import writes; history.json carries the label.
    """
    from batchsim.data import resolve_scenario
    from batchsim.history.directory import HistoryError
    from batchsim.history.synthetic import write_synthetic_history
    from batchsim.scenario import ScenarioError, load_scenario

    try:
        written = write_synthetic_history(
            load_scenario(resolve_scenario(scenario)), out, seed=seed, pool_id=pool, force=force
        )
    except (ScenarioError, HistoryError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror}")
    typer.echo(f"generated history of pool '{pool}' written to {written} (labelled: not a real pool's record)")
