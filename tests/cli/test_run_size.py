"""Runs that say how big they are before they start (issue 23 §2): an expected task count and memory
checked against `--max-tasks` (a 1e12 rate is one clear error, not a 314 TiB allocation); one
convention for writing into a directory that already holds a run (`--force`, as calibrate); and a
progress bar with simulated time done and the time left."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import batchsim as bs
from batchsim.cli import app
from batchsim.cli._estimate import expected_tasks
from batchsim.cli._output import progress

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "scenarios" / "default.yaml"
runner = CliRunner()


@pytest.mark.parametrize(
    "overrides",
    [
        {"duration": "2d"},  # diurnal
        {"duration": "12h", "workload": [{"kind": "poisson", "rate_per_hour": 500}]},
        {
            "duration": "6h",
            "workload": [
                {
                    "kind": "poisson",
                    "rate_per_hour": 200,
                    "rate_factors": [{"start": "1h", "duration": "1h", "factor": 4}],
                },
                {"kind": "bursts", "bursts": [{"at": "2h", "count": 300}, {"at": "9h", "count": 50}]},
            ],
        },
    ],
)
def test_the_estimate_is_what_the_run_submits(overrides: dict[str, object]) -> None:
    scenario = bs.load_scenario(DEFAULT, overrides)
    submitted = bs.simulate(scenario, seed=1).summary["tasks_submitted"]
    assert expected_tasks(scenario) == pytest.approx(submitted, rel=0.06)  # Poisson noise of a few thousand


def test_a_run_past_the_limit_is_one_clear_error_with_the_estimate() -> None:
    result = runner.invoke(app, ["simulate", "default", "--set", "workload.0.mean_per_hour=1e12"])
    assert result.exit_code == 1
    assert "about 2.4e+13 tasks in 1 day" in result.output and "PB of memory" in result.output
    assert "--max-tasks 2000000" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback
    long = runner.invoke(app, ["compare", "default", "pending-tasks", "spot-first", "--set", "duration=100000d"])
    assert long.exit_code == 1 and "tasks in 100000 days" in long.output
    raised = runner.invoke(app, ["simulate", "default", "--set", "duration=2h", "--max-tasks", "100"])
    assert raised.exit_code == 1 and "past --max-tasks 100" in raised.output
    enough = runner.invoke(app, ["simulate", "default", "--set", "duration=2h", "--max-tasks", "100000"])
    assert enough.exit_code == 0, enough.output


def test_simulate_into_a_run_directory_needs_force_and_leaves_nothing_stale(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert runner.invoke(app, ["simulate", "default", "--set", "duration=1h", "--out", str(out)]).exit_code == 0
    (out / "report.html").write_text("an old report", encoding="utf-8")
    again = runner.invoke(app, ["simulate", "default", "--set", "duration=1h", "--out", str(out)])
    assert again.exit_code == 2 and "already holds a run" in again.output and "--force" in again.output
    forced = runner.invoke(app, ["simulate", "default", "--set", "duration=1h", "--out", str(out), "--force"])
    assert forced.exit_code == 0, forced.output
    assert not (out / "report.html").exists()  # the stale report is gone with the old run
    assert (out / "summary.json").is_file()


@pytest.mark.parametrize(
    "command",
    [
        ["compare", "default", "pending-tasks", "spot-first", "--seeds", "2"],
        ["stress", "default", "--stress", "burst", "--seeds", "2"],
    ],
)
def test_compare_and_stress_into_their_old_output_need_force_as_simulate(tmp_path: Path, command: list[str]) -> None:
    out = tmp_path / "out"
    args = [*command, "--set", "duration=1h", "--out", str(out)]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    stale = out / "runs" / "old-formula" / "seed-9"
    stale.mkdir(parents=True)
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "already holds a run" in again.output and "--force" in again.output
    forced = runner.invoke(app, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    assert not stale.exists() and (out / "report.html").is_file()  # the old runs go with the old report


def test_the_progress_bar_shows_simulated_time_and_time_left(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from rich.console import Console

    captured = io.StringIO()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setattr("rich.console.Console", lambda **_: Console(file=captured, force_terminal=True, width=120))
    with progress("simulating", 86400.0) as update:
        assert update is not None
        update(3 * 3600.0)
    text = captured.getvalue()
    assert "3h of 1d simulated" in text and "ETA" in text


@pytest.mark.parametrize(
    "command",
    [
        ["optimize", "default", "--template", "pending-tasks", "--budget", "2"],
        ["plan", "default", "--size", "Standard_D2s_v3", "--budget", "2"],
        ["sweep", "default", "--grid", "pool.initial_dedicated=1,2"],
        ["sweep", "default", "--grid", "workload.0.mean_per_hour=10,1e12"],
    ],
)
def test_every_command_that_runs_a_scenario_checks_its_size_first(tmp_path: Path, command: list[str]) -> None:
    over = [] if "1e12" in command[-1] else ["--set", "workload.0.mean_per_hour=1e12"]
    result = runner.invoke(app, [*command, *over, "--out", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    assert "past --max-tasks 2000000" in result.output
    assert not (tmp_path / "out").exists()  # refused before anything ran or was written
