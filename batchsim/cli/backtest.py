"""`batchsim backtest HISTORY_DIR [--scenario S] [--seeds K] [--out DIR]` (DESIGN §7, fixed)."""

from __future__ import annotations

from pathlib import Path

import typer

from batchsim.cli.app import OutputFormat, app
from batchsim.cli.errors import EXIT_USAGE, fail


@app.command("backtest")
def backtest_command(
    history_dir: Path = typer.Argument(
        ..., metavar="HISTORY_DIR", help="A history directory (from `batchsim history pull` or `import`)."
    ),
    scenario: Path | None = typer.Option(
        None, "--scenario", help="The scenario to replay the window with (default: calibrate's, from the history)."
    ),
    seeds: int = typer.Option(
        5,
        "--seeds",
        min=1,
        help="Simulations of the window, seeds from the scenario's on; each figure gets its 95 % interval over them.",
    ),
    out: Path | None = typer.Option(None, "--out", help="Directory for backtest.json and an HTML report."),
    keep_workload: bool = typer.Option(
        False,
        "--keep-workload",
        help="Simulate the scenario's own workload and failure probability (by default the record's replace them).",
    ),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", help="text or json."),
) -> None:
    """Replay the recorded window and say how well a scenario reproduces what the pool really did."""
    from batchsim import jsonio
    from batchsim.data import resolve_scenario
    from batchsim.history.backtest import backtest, score_rows
    from batchsim.history.directory import HistoryError, read_history
    from batchsim.scenario import ScenarioError, load_scenario

    if out is not None and out.exists() and not out.is_dir():
        fail(f"--out {out} exists and is not a directory", EXIT_USAGE)
    try:
        history = read_history(history_dir)
        chosen = load_scenario(resolve_scenario(scenario)) if scenario is not None else None
        result = backtest(history, chosen, seeds=seeds, keep_workload=keep_workload)
    except (HistoryError, ScenarioError) as exc:
        fail(str(exc))
    document = result.document
    if out is not None:
        from batchsim.files import write_atomically
        from batchsim.history.backtest_report import write_report

        try:
            out.mkdir(parents=True, exist_ok=True)
            write_atomically(out / "backtest.json", jsonio.dumps(document) + "\n")
            write_report(result, out)
        except OSError as exc:
            typer.echo(jsonio.dumps(document))
            fail(f"cannot write {out}: {exc.strerror}; the scores are above")
    if output_format is OutputFormat.json:
        typer.echo(jsonio.dumps(document))
        return
    window = document["window"]
    typer.echo(
        f"backtest of {history.pool_id}, {window['start']} .. {window['end']}, scenario {document['scenario']}, "
        f"{document['seeds']} seed(s)"
    )
    if document["replaced"]:
        typer.echo(f"  replaced by the record: {', '.join(document['replaced'])}")
    header = ("metric", "recorded", "simulated", "95% interval", "record")
    rows = [header, *score_rows(document)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        typer.echo("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    for key, why in document["unavailable"].items():
        typer.echo(f"  not computed: {key}: {why}")
    for note in document["notes"]:
        typer.echo(f"note: {note}")
    typer.echo(f"verdict: {document['verdict']['summary']}")
    if out is not None:
        typer.echo(f"report written to {out / 'report.html'}")
