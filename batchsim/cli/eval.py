"""`batchsim eval FORMULA_FILE [--context CONTEXT.json] [--format text|json]` (DESIGN §2–3)."""

from __future__ import annotations

from pathlib import Path

import typer

from batchsim.cli.app import OutputFormat, app
from batchsim.cli.errors import EXIT_USAGE, fail


@app.command("eval")
def eval_command(
    formula_file: Path = typer.Argument(
        ..., metavar="FORMULA", help="The formula file, or a shipped formula's name (`batchsim formula list`)."
    ),
    context: Path | None = typer.Option(
        None,
        "--context",
        help="Evaluation context JSON: the time, pool counts and metric samples (format: docs/context-file.md).",
    ),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", help="Output format."),
    strict: bool = typer.Option(False, "--strict", help="Reject ceil/floor/round (absent from the service docs)."),
) -> None:
    """Evaluate a formula once, as the service's evaluate call would; print the results string."""
    from batchsim import jsonio
    from batchsim.data import resolve_formula as resolve
    from batchsim.formula.compiler import FormulaError, compile
    from batchsim.formula.context import EvalContext, datetime_to_ticks
    from batchsim.formula.context_file import ContextFileError, load_context
    from batchsim.formula.diagnostics import Diagnostic
    from batchsim.formula.formatters import FileReport, format_text
    from batchsim.formula.sources import read_formula
    from batchsim.formula.values import TIMESTAMP, format_value

    formula_file = resolve(formula_file)
    if formula_file.is_dir():
        fail(f"{formula_file}: is a directory; give one formula file (`batchsim check` takes directories)", EXIT_USAGE)
    if not formula_file.is_file():
        fail(f"no such file: {formula_file}", EXIT_USAGE)
    if context is not None:
        try:
            ctx = load_context(context)
        except ContextFileError as exc:
            fail(str(exc))
    else:
        from datetime import datetime, timezone

        ctx = EvalContext(now_tick=datetime_to_ticks(datetime.now(timezone.utc)))
    timestamp = format_value(TIMESTAMP, ctx.now_tick)

    def rejected(diagnostics: list[Diagnostic], text: str) -> None:
        """A formula the service refuses at request time (syntax, limits, empty): no run, exit 1."""
        if output_format is OutputFormat.json:
            first = diagnostics[0]
            message = f"Line {first.span.line}, Col {first.span.column}: {first.message}"
            document = {"timestamp": timestamp, "results": None, "error": {"code": first.code, "message": message}}
            typer.echo(jsonio.dumps(document, indent=None))
        else:
            typer.echo(format_text([FileReport(str(formula_file), text, diagnostics)]), nl=False)
        raise typer.Exit(1)

    source = read_formula(formula_file)
    if source.problem is not None:
        rejected([source.problem], "")
    try:
        program = compile(source.text, strict=strict)
    except FormulaError as exc:
        rejected(exc.diagnostics, source.text)
    run = program.evaluate(ctx)
    if output_format is OutputFormat.json:
        error = None if run.error is None else {"code": run.error.code, "message": run.error.detail}
        document = {"timestamp": timestamp, "results": run.results, "error": error}
        typer.echo(jsonio.dumps(document, indent=None))
    elif run.error is None:
        typer.echo(run.results)
    else:
        typer.echo(f"error: {run.error.code}: {run.error.detail}")
    if run.error is not None:
        raise typer.Exit(1)
