"""`batchsim calibrate HISTORY_DIR --out SCENARIO.yaml [--workload trace|fitted]` (DESIGN §7, fixed)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any

import typer

from batchsim.cli.app import OutputFormat, app
from batchsim.cli.errors import EXIT_USAGE, fail


class WorkloadChoice(str, Enum):
    trace = "trace"
    fitted = "fitted"


@app.command("calibrate")
def calibrate_command(
    history_dir: Path = typer.Argument(
        ..., metavar="HISTORY_DIR", help="A history directory (from `batchsim history pull` or `import`)."
    ),
    out: Path = typer.Option(
        ...,
        "--out",
        help="The scenario file to write (a trace workload's CSV goes beside it), or - for stdout (--workload fitted).",
    ),
    workload: WorkloadChoice = typer.Option(
        WorkloadChoice.trace,
        "--workload",
        help="trace: replay every recorded task; fitted: hourly arrival rates and log-normal durations per job group.",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite existing files."),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", help="text or json (the estimates)."),
) -> None:
    """Fit a scenario to a pool's history: pool, formula, provisioning delays, Spot evictions, failures, workload."""
    from batchsim import jsonio
    from batchsim.files import STDOUT
    from batchsim.history.calibrate import calibrate
    from batchsim.history.directory import HistoryError, read_history
    from batchsim.history.scenario_file import trace_path_for, write_calibration
    from batchsim.scenario import ScenarioError, load_scenario

    if out.is_dir():
        fail(f"--out {out} is a directory; give the scenario file's path", EXIT_USAGE)
    if str(out) == STDOUT and workload is WorkloadChoice.trace:
        fail(
            "--out - writes one file, and a trace workload is two (its CSV beside the scenario): "
            "give a file, or --workload fitted",
            EXIT_USAGE,
        )
    try:
        history = read_history(history_dir)
    except HistoryError as exc:
        fail(str(exc))
    cal = calibrate(history, workload=workload.value, trace_path=trace_path_for(out).name)
    if str(out) == STDOUT:
        _to_stdout(cal, history_dir)
        return
    try:
        written = write_calibration(cal, out, history_dir, force=force)
    except FileExistsError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror}")
    try:
        load_scenario(written.scenario)
    except ScenarioError as exc:  # a calibrate bug, said plainly rather than left for simulate to find
        fail(f"the calibrated scenario does not load: {exc}")
    block = cal.block()
    if output_format is OutputFormat.json:
        document = {
            "scenario": str(written.scenario),
            "trace": None if written.trace is None else str(written.trace),
            "workload": workload.value,
            "calibration": block,
            "notes": cal.notes,
        }
        typer.echo(jsonio.dumps(document))
        return
    typer.echo(f"scenario written to {written.scenario}" + (f" (trace {written.trace})" if written.trace else ""))
    width = max((len(key) for key in block), default=10)
    typer.echo(f"  {'key':<{width}}  {'estimate':>14}  {'95% interval':>31}  {'n':>8}  source")
    for key, row in block.items():
        if row["estimate"] is None:
            typer.echo(f"  {key:<{width}}  {'-':>14}  {'':>31}  {row['n']:>8}  {row['source']}")
            continue
        unit = _unit(key)
        interval = f"[{_num(row['low'], unit)}, {_num(row['high'], unit)}]"
        estimate = _num(row["estimate"], unit)
        typer.echo(f"  {key:<{width}}  {estimate:>14}  {interval:>31}  {row['n']:>8}  {row['source']}")
    for note in cal.notes:
        typer.echo(f"note: {note}")


def _to_stdout(cal: Any, history_dir: Path) -> None:
    """The scenario alone on stdout (as `report --out -`), checked to load first; the notes on stderr."""
    import sys
    import tempfile

    from batchsim.history.scenario_file import scenario_text
    from batchsim.scenario import ScenarioError, load_scenario

    text = scenario_text(cal, history_dir)
    with tempfile.TemporaryDirectory() as scratch:
        check = Path(scratch) / "scenario.yaml"
        check.write_text(text, encoding="utf-8")
        try:
            load_scenario(check)
        except ScenarioError as exc:  # a calibrate bug, said plainly rather than left for simulate to find
            fail(f"the calibrated scenario does not load: {exc}")
    sys.stdout.write(text)
    sys.stdout.flush()
    for note in cal.notes:
        typer.echo(f"note: {note}", err=True)


def _unit(key: str) -> str:
    """The unit of a calibrated key, as the scenario file reads it: rates per hour, durations in
    seconds; shapes (a log-normal's sigma), probabilities and factors have none."""
    parts = key.split(".")
    if any(part.endswith("_per_hour") for part in parts):
        return " /h"
    if parts[-1] in ("sigma", "failure_probability") or "weekday_factors" in parts:
        return ""
    if parts[-1] in ("median", "mean", "value", "duration") or parts[-1].endswith(("_s", "delay", "interval")):
        return " s"
    return ""


def _num(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:.6g}{unit}"
