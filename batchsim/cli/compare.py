"""`batchsim compare SCENARIO.yaml FORMULA... [--seeds K] [--format text|json] [--out DIR]`."""

from __future__ import annotations

from pathlib import Path

import typer

from batchsim.cli._runs import EXIT_INTERRUPTED
from batchsim.cli.app import OutputFormat, app
from batchsim.cli.errors import fail
from batchsim.measure.kinds import ExecutorKind


@app.command()
def compare(
    scenario: Path = typer.Argument(
        ...,
        metavar="SCENARIO.yaml",
        help="Scenario file (with pool.autoscale), or a shipped scenario's name (`batchsim scenario list`).",
    ),
    formulas: list[Path] = typer.Argument(..., metavar="FORMULA...", help="Formula files; the first is the reference."),
    seeds: int = typer.Option(5, "--seeds", min=2, help="Seeds (1..K, the same for every formula; at least 2)."),
    overrides: list[str] = typer.Option([], "--set", help="Scenario overrides, as for simulate."),
    output: OutputFormat = typer.Option(OutputFormat.text, "--format", help="text table or a JSON list of rows."),
    out: Path | None = typer.Option(
        None, "--out", help="Writes every run (OUT/runs/FORMULA/seed-N) and report.html with the runs overlaid."
    ),
    executor: ExecutorKind = typer.Option(ExecutorKind.local, "--executor", help="Where runs execute."),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Dask scheduler (default: $DASK_SCHEDULER_ADDRESS)."
    ),
    workers: int | None = typer.Option(None, "--workers", min=1, help="Local worker processes (default: CPU count)."),
) -> None:
    """Formulas on the same workload and seeds, each metric with the paired difference against the first.

    ± is the 95 % t-interval across seeds; a difference whose interval excludes 0 is a real one,
    not noise between workloads.
    """
    from batchsim import jsonio
    from batchsim.cli._output import check_out_dir
    from batchsim.cli._runs import interrupt_once, read_formulas, scenario_file, slug
    from batchsim.measure.cells import METRICS
    from batchsim.measure.executors import Executor, ExecutorError
    from batchsim.measure.text import format_table, plus_minus
    from batchsim.optimize.compare import compare as run_compare
    from batchsim.scenario import ScenarioError, load_scenario

    scenario = scenario_file(scenario)
    try:
        loaded = load_scenario(scenario, overrides)  # a fixed pool takes formulas too: see with_formula
        texts = {label: text for label, text in read_formulas(loaded, formulas).items() if text is not None}
    except ScenarioError as exc:
        fail(str(exc))
    if out is not None:
        check_out_dir(out)
    interrupt_once()
    try:
        with Executor(executor.value, scheduler=scheduler, workers=workers) as pool:
            result = run_compare(loaded, texts, list(range(1, seeds + 1)), pool, records=out is not None)
    except KeyboardInterrupt:
        typer.echo("interrupted: no comparison (runs are not saved)", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except (ExecutorError, ScenarioError) as exc:
        fail(str(exc))
    if out is not None:
        from batchsim.measure.runs import with_formula
        from batchsim.report import write_report
        from batchsim.report.runs import run_info, write_run

        try:
            first_seed = []
            for label, measured in result.measured.items():
                variant = with_formula(loaded, texts[label])
                for seed, run in zip(measured.seeds, measured.results, strict=True):
                    info = run_info(variant, run.summary, scenario_file=scenario)
                    info["formula"]["file"] = label  # the reports label runs by their formula files
                    write_run(run, out / "runs" / slug(label) / f"seed-{seed}", info)
                first_seed.append(out / "runs" / slug(label) / f"seed-{measured.seeds[0]}")
            write_report(first_seed, out / "report.html")
        except OSError as exc:
            fail(f"{out}: cannot write the runs or the report: {exc}")
    if output is OutputFormat.json:
        typer.echo(jsonio.dumps(result.rows))
        return
    reference = result.rows[0]["formula"]
    headers = ["formula"]
    for _, label, _ in METRICS:
        headers += [label, "Δ"]
    lines = []
    for row in result.rows:
        line = [row["formula"]]
        for key, _, fmt in METRICS:
            line.append(plus_minus(row[key], row[f"{key}_ci"], fmt))
            line.append(
                ""
                if row["formula"] == reference
                else plus_minus(row[f"{key}_diff"], row[f"{key}_diff_ci"], fmt.replace("{:", "{:+"))
            )
        lines.append(line)
    typer.echo(format_table(headers, lines))
    typer.echo(f"mean ± 95 % t-interval across {seeds} seeds; Δ: paired difference against {reference}")
    if out is not None:
        typer.echo(f"report: {out / 'report.html'}")
