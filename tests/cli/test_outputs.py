"""What `simulate`, `demo`, `report` and `scenario` leave behind as scripts and users meet it: output a
strict parser reads, nothing lost when --out is wrong, damaged run directories named and skipped,
usage errors for bad seeds and choices, help texts that speak to users."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from batchsim.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
DEFAULT = str(ROOT / "scenarios" / "default.yaml")
SHORT = ["--set", "duration=2h"]


def strict_json(text: str) -> Any:
    """RFC 8259 JSON and nothing else: no NaN/Infinity, no whitespace before the document."""

    def refuse(name: str) -> None:
        raise ValueError(f"not JSON: {name}")

    assert text[:1] in ("{", "["), f"stdout starts with {text[:20]!r}"
    return json.loads(text, parse_constant=refuse)


def test_progress_goes_to_stderr_and_stdout_is_only_the_json() -> None:
    # As in a terminal with `> out.json`: stderr is a terminal, stdout is not.
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [str(Path(sys.executable).parent / "batchsim"), "simulate", DEFAULT, *SHORT, "--format", "json"],
            stdout=subprocess.PIPE,
            stderr=follower,
            stdin=subprocess.DEVNULL,
            timeout=120,
            text=True,
            env={**os.environ, "COLUMNS": "100"},
        )
    finally:
        os.close(follower)
        os.close(leader)
    assert done.returncode == 0
    summary = strict_json(done.stdout)
    assert summary["scenario"] == "working-day"
    assert done.stdout == json.dumps(summary, indent=2) + "\n"


def test_json_summary_has_null_where_a_figure_is_undefined(tmp_path: Path) -> None:
    # No task has a deadline, so the deadline fraction is undefined: null, not NaN.
    result = runner.invoke(app, ["simulate", DEFAULT, *SHORT, "--set", "workload.0.deadline=null", "--out", str(tmp_path / "r"), "--format", "json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert strict_json(result.stdout)["deadline_met_fraction"] is None
    for name in ("summary.json", "run.json"):
        strict_json((tmp_path / "r" / name).read_text())


def test_every_json_writer_goes_through_jsonio() -> None:
    # json.dumps writes NaN and Infinity, which strict parsers reject; jsonio.dumps writes null.
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "batchsim").rglob("*.py"))
        if path.name != "jsonio.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bjson\.dumps?\(", line)
    ]
    assert offenders == []


def _read_only_place(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        return locked / "out"
    if not os.access("/sys", os.F_OK):
        pytest.skip("running as root without /sys: no read-only place to write to")
    return Path("/sys/batchsim-out")  # root may write anywhere else; sysfs refuses new entries


@pytest.mark.parametrize("command", [["simulate", DEFAULT, *SHORT], ["demo"]])
@pytest.mark.parametrize("place", ["existing file", "below a file", "read-only"])
def test_an_unwritable_out_is_a_usage_error_before_any_work(tmp_path: Path, command: list[str], place: str) -> None:
    target = {
        "existing file": tmp_path / "taken",
        "below a file": tmp_path / "taken" / "run",
        "read-only": _read_only_place(tmp_path),
    }[place]
    (tmp_path / "taken").write_text("a file the user keeps")
    result = runner.invoke(app, [*command, "--out", str(target)])
    assert result.exit_code == 2, result.output
    assert f"--out {target}" in result.stderr and "Traceback" not in result.output
    assert result.stdout == ""  # nothing simulated
    assert (tmp_path / "taken").read_text() == "a file the user keeps"


def test_a_failed_write_keeps_the_summary_on_stdout(tmp_path: Path) -> None:
    out = tmp_path / "run"
    (out / "summary.json").mkdir(parents=True)  # --out is writable, but summary.json cannot be written
    result = runner.invoke(app, ["simulate", DEFAULT, *SHORT, "--out", str(out), "--format", "json"])
    assert result.exit_code == 1
    assert strict_json(result.stdout)["tasks_submitted"] > 0
    assert f"cannot write {out / 'summary.json'}" in result.stderr
    assert "the summary on stdout is all that was kept" in result.stderr


@pytest.mark.parametrize("command", [["simulate", DEFAULT, *SHORT], ["demo"]])
def test_a_negative_seed_is_a_usage_error(command: list[str], tmp_path: Path) -> None:
    result = runner.invoke(app, [*command, "--seed", "-1", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "--seed" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_a_negative_seed_in_the_scenario_is_a_scenario_error(tmp_path: Path) -> None:
    text = (ROOT / "scenarios" / "default.yaml").read_text().replace("seed: 1", "seed: -4")
    path = tmp_path / "s.yaml"
    path.write_text(text)
    result = runner.invoke(app, ["simulate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:6: key 'seed'" in result.stderr


def _runs(tmp_path: Path, count: int) -> list[Path]:
    dirs = []
    for seed in range(1, count + 1):
        out = tmp_path / f"seed{seed}"
        assert runner.invoke(app, ["simulate", DEFAULT, *SHORT, "--seed", str(seed), "--out", str(out)]).exit_code == 0
        dirs.append(out)
    return dirs


def test_report_names_and_skips_damaged_runs_and_reports_the_rest(tmp_path: Path) -> None:
    good, corrupt, tableless = _runs(tmp_path, 3)
    (corrupt / "summary.json").write_text('{"tasks_submitted": 12, "cost_')  # a crash mid-write
    (tableless / "nodes.parquet").unlink()
    out = tmp_path / "new" / "folder" / "report.html"  # a folder that does not exist yet
    result = runner.invoke(app, ["report", str(good), str(corrupt), str(tableless), "--out", str(out)])
    assert result.exit_code == 1
    assert f"{corrupt / 'summary.json'}: not valid JSON" in result.stderr
    assert f"{tableless}: missing nodes.parquet" in result.stderr
    assert "1 of 3 runs" in result.stdout
    assert out.is_file() and "working-day" in out.read_text()


def test_report_of_only_damaged_runs_writes_nothing(tmp_path: Path) -> None:
    (run,) = _runs(tmp_path, 1)
    (run / "summary.json").write_text("[1, 2]")
    result = runner.invoke(app, ["report", str(run), "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 1 and "expected a JSON object" in result.stderr
    assert not (tmp_path / "r.html").exists()


def test_report_format_is_a_choice() -> None:
    result = runner.invoke(app, ["report", "somewhere", "--format", "pdf"])
    assert result.exit_code == 2
    assert "'html'" in result.output and "'md'" in result.output


def test_report_out_that_is_a_directory_is_a_usage_error(tmp_path: Path) -> None:
    (run,) = _runs(tmp_path, 1)
    result = runner.invoke(app, ["report", str(run), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "is a directory" in result.stderr


def test_simulate_takes_a_shipped_scenario_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no scenarios/ folder here
    result = runner.invoke(app, ["simulate", "spot-first", *SHORT, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert strict_json(result.stdout)["scenario"] == "spot-first"
    missing = runner.invoke(app, ["simulate", "no-such-scenario"])
    assert missing.exit_code == 1 and "shipped scenarios: azure-llm-trace, default" in missing.stderr
    listed = runner.invoke(app, ["scenario", "list"])
    assert listed.exit_code == 0 and "default\tThe demo scenario" in listed.stdout
    path = runner.invoke(app, ["scenario", "path", "default"]).stdout.strip()
    assert Path(path).read_text() == (ROOT / "scenarios" / "default.yaml").read_text()


def test_shell_completion_is_offered() -> None:
    result = runner.invoke(app, ["--help"])
    assert "--install-completion" in result.output and "--show-completion" in result.output


def _command_paths() -> list[list[str]]:
    def walk(command: Any, path: list[str]) -> list[list[str]]:
        found = [path]
        for name, sub in sorted((getattr(command, "commands", None) or {}).items()):
            found += walk(sub, [*path, name])
        return found

    return walk(typer.main.get_command(app), [])


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p) or "batchsim")
def test_help_speaks_to_users(path: list[str]) -> None:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for internal in ("DESIGN", "§", "batch-behavior", "formula reference"):
        assert internal not in result.output


def test_scenario_schema_is_strict_json() -> None:
    result = runner.invoke(app, ["scenario", "schema"])
    assert result.exit_code == 0
    assert strict_json(result.stdout)["title"] == "batchsim scenario"


@pytest.mark.parametrize(
    ("interval", "message"),
    [("PT1M", "between 5m and 168h, got 1m"), ("P1M", "years and months have no fixed length")],
)
def test_export_interval_is_read_as_iso_8601(interval: str, message: str) -> None:
    formula = str(ROOT / "formulas" / "pending-tasks.formula")
    result = runner.invoke(app, ["export", formula, "--pool", "p", "--interval", interval, "--dry-run"])
    assert result.exit_code == 2 and message in result.stderr


def test_export_accepts_an_iso_8601_interval_and_goes_on_to_the_pool() -> None:
    pytest.importorskip("azure.batch")
    formula = str(ROOT / "formulas" / "pending-tasks.formula")
    args = ["export", formula, "--pool", "p", "--interval", "PT15M", "--dry-run", "--endpoint", "http://127.0.0.1:9"]
    result = runner.invoke(
        app, [*args, "--account-name", "a", "--account-key", "a2V5", "--timeout", "2", "--retries", "0"]
    )
    assert result.exit_code == 1, result.output  # the interval passed; nothing listens on port 9
    assert "--interval" not in result.stderr and "127.0.0.1:9" in result.stderr
