"""`batchsim export FORMULA_FILE --pool POOL_ID [--interval 15m] [--dry-run] ...` (DESIGN §2, fixed)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from batchsim.cli._azure import ACCOUNT_HELP, DEBUG_HELP, ENDPOINT_HELP, KEY_HELP, RETRIES_HELP, TIMEOUT_HELP
from batchsim.cli.app import OutputFormat, app
from batchsim.cli.errors import EXIT_BAD_INPUT, EXIT_USAGE, fail, require_extra

if TYPE_CHECKING:
    from batchsim.azure.client import BatchSettings
    from batchsim.azure.errors import ServiceFormulaError


@app.command("export")
def export_command(
    formula_file: Path | None = typer.Argument(
        None, metavar="[FORMULA]", help="The formula file or a shipped formula's name (omitted with --disable)."
    ),
    pool: str = typer.Option(..., "--pool", help="The pool's ID."),
    interval: str = typer.Option("15m", "--interval", help="Evaluation interval, 5m to 168h."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check, read the pool, evaluate and diff; change nothing."),
    endpoint: str | None = typer.Option(None, "--endpoint", help=ENDPOINT_HELP),
    account_name: str | None = typer.Option(None, "--account-name", help=ACCOUNT_HELP),
    account_key: str | None = typer.Option(None, "--account-key", help=KEY_HELP),
    disable: bool = typer.Option(False, "--disable", help="Turn the pool's autoscale off instead."),
    timeout: float = typer.Option(60.0, "--timeout", help=TIMEOUT_HELP),
    retries: int = typer.Option(3, "--retries", min=0, help=RETRIES_HELP),
    strict: bool = typer.Option(False, "--strict", help="Reject ceil/floor/round (absent from the service docs)."),
    debug: bool = typer.Option(False, "--debug", help=DEBUG_HELP),
    output_format: OutputFormat = typer.Option(
        OutputFormat.text, "--format", help="text (the diff) or json (pool before, new results, what was done)."
    ),
) -> None:
    """Enable a checked formula on a live pool, after a diff against the pool's current formula and results."""
    require_extra("azure.batch", "azure")
    from batchsim.azure.client import SettingsError, resolve_settings
    from batchsim.azure.export import validate_interval
    from batchsim.units import parse_duration_s

    if disable and formula_file is not None:
        fail("--disable takes no FORMULA_FILE", EXIT_USAGE)
    if not disable and formula_file is None:
        fail("missing FORMULA_FILE (or give --disable)", EXIT_USAGE)
    text = None if formula_file is None else _checked_formula(formula_file, strict)
    try:
        interval_s = validate_interval(parse_duration_s(interval))
    except ValueError as exc:
        fail(f"--interval: {exc}", EXIT_USAGE)
    try:
        settings = resolve_settings(endpoint, account_name, account_key, timeout_s=timeout, retries=retries)
    except SettingsError as exc:
        fail(str(exc), EXIT_USAGE)
    _run(settings, pool, text, formula_file, interval_s, dry_run, strict, debug, output_format is OutputFormat.json)


def _checked_formula(formula_file: Path, strict: bool) -> str:
    """The formula's text when `batchsim check` finds no error; otherwise its report and exit 1."""
    from batchsim.data import resolve_formula as resolve
    from batchsim.formula.checker import check, has_errors
    from batchsim.formula.formatters import FileReport, format_text
    from batchsim.formula.sources import read_formula

    formula_file = resolve(formula_file)
    if not formula_file.is_file():
        fail(f"no such file: {formula_file}", EXIT_USAGE)
    try:
        source = read_formula(formula_file)
    except OSError as exc:
        fail(f"{formula_file}: cannot read: {exc.strerror}")
    diagnostics = [source.problem] if source.problem else check(source.text, strict=strict)
    if diagnostics:
        report = format_text([FileReport(source.path, source.text, diagnostics)])
        if has_errors(diagnostics):
            typer.echo(report, nl=False)
            fail(f"{formula_file} fails batchsim check; nothing was sent to the pool")
        typer.echo(report, nl=False, err=True)
    return source.text


def _run(
    settings: BatchSettings,
    pool: str,
    text: str | None,
    formula_file: Path | None,
    interval_s: float,
    dry_run: bool,
    strict: bool,
    debug: bool = False,
    as_json: bool = False,
) -> None:
    from batchsim import jsonio
    from batchsim.azure.client import batch_client
    from batchsim.azure.errors import AzureIntegrationError, ServiceFormulaError, redact
    from batchsim.azure.export import LocalCheckFailed, disable_autoscale, export_formula
    from batchsim.azure.logging_setup import configure_azure_logging

    secrets = settings.secrets()
    configure_azure_logging(debug, secrets)

    def echo(line: str) -> None:
        # With --format json the diff goes to stderr, so that stdout is one JSON document.
        typer.echo(redact(line, secrets), err=as_json)

    try:
        with batch_client(settings) as client:
            if text is None:
                disabled = disable_autoscale(client, pool, endpoint=settings.endpoint, dry_run=dry_run, echo=echo)
                if as_json:
                    typer.echo(jsonio.dumps({"pool_id": pool, "disabled": disabled, "dry_run": dry_run}))
            else:
                result = export_formula(
                    client,
                    pool,
                    text,
                    interval_s=interval_s,
                    label=str(formula_file),
                    endpoint=settings.endpoint,
                    dry_run=dry_run,
                    strict=strict,
                    echo=echo,
                )
                if as_json:
                    typer.echo(redact(jsonio.dumps(result.document(text)), secrets))
    except ServiceFormulaError as exc:
        _report_service_formula_error(exc, formula_file, text or "")
    except LocalCheckFailed as exc:
        from batchsim.formula.formatters import FileReport, format_text

        typer.echo(format_text([FileReport(str(formula_file), text or "", exc.diagnostics)]), nl=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except AzureIntegrationError as exc:
        fail(redact(str(exc), secrets))


def _report_service_formula_error(exc: ServiceFormulaError, formula_file: Path | None, text: str) -> None:
    """The service's formula error as `path:line:col: error CODE detail` with the source line, then exit 1."""
    from batchsim.formula.diagnostics import Diagnostic, Severity, Span
    from batchsim.formula.formatters import FileReport, format_text

    if exc.line is not None and exc.column is not None:
        span = Span(exc.line, exc.column, exc.line, exc.column + 1)
        diagnostic = Diagnostic(exc.code, Severity.ERROR, exc.detail or exc.message, span)
        report = format_text([FileReport(str(formula_file), text, [diagnostic])])
        typer.echo("\n".join(report.splitlines()[:-1]))
    fail(f"the service rejected the formula: {exc}; the pool was not changed")
