"""`batchsim history pull|import` (DESIGN §7, fixed): a live pool's past as a history directory."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import Any

import typer

from batchsim.cli.app import app
from batchsim.cli.errors import EXIT_USAGE, fail

history_app = typer.Typer(
    help="A pool's past as a history directory: pull it from the Batch service, or import its service logs.",
    no_args_is_help=True,
)
app.add_typer(history_app, name="history")


class Format(str, Enum):
    text = "text"
    json = "json"


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
    logs: list[Path] = typer.Argument(..., help="Log files or directories: PT1H.json blobs, Log Analytics exports."),
    out: Path = typer.Option(..., "--out", help="The history directory to write."),
    pool: str | None = typer.Option(
        None, "--pool", help="The pool whose events to keep (needed when the logs hold several)."
    ),
    pool_json: Path | None = typer.Option(
        None, "--pool-json", help="The pool as the REST API returns it (az batch pool show), merged into pool.json."
    ),
    region: str | None = typer.Option(None, "--region", help="The pool's region (the logs do not say it)."),
    since: str | None = typer.Option(None, "--since", help="Keep events from then on: 7d before now, or a time."),
    until: str | None = typer.Option(None, "--until", help="Keep events until then: a duration before now, or a time."),
    force: bool = typer.Option(False, "--force", help="Replace an existing history directory."),
    output_format: Format = typer.Option(Format.text, "--format", help="text or json (what was read and skipped)."),
) -> None:
    """Import Batch service log events (pool resize, autoscale, task start/complete/fail) into a history."""
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
    summary = {"out": str(out), "pool_id": report.pool_id, **report.as_dict()}
    if output_format is Format.json:
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
