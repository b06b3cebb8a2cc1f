"""Inputs that cannot hurt and formulas read one way (issue 23 §2, §3): a report target that is not a
regular file is refused (never replaced), `-` is stdout; a binary formula is `check`'s BS001 in
every command; shipped formulas by name; one placeholder style in help."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchsim.cli import app
from batchsim.files import write_atomically

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "run"
    result = runner.invoke(app, ["simulate", "default", "--set", "duration=1h", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_a_report_target_that_is_not_a_regular_file_is_refused(run_dir: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # a node that is not a regular file, like /dev/full
    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")  # what /dev/stdout is
    for target in (fifo, link):
        result = runner.invoke(app, ["report", str(run_dir), "--out", str(target)])
        assert result.exit_code == 2, result.output
        assert f"--out {target}: exists and is not a regular file" in result.output
    assert fifo.exists() and not fifo.is_file()  # still the pipe
    assert link.is_symlink()  # still the link
    with pytest.raises(OSError, match="not a regular file"):
        write_atomically(fifo, "x")  # the library refuses too


def test_report_dash_writes_the_page_to_stdout(run_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", str(run_dir), "--out", "-"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("<!doctype html>") and result.stdout.rstrip().endswith("</html>")
    assert "report written to stdout" in result.stderr
    assert not Path("-").exists()
    markdown = runner.invoke(app, ["report", str(run_dir), "--out", "-", "--format", "md"])
    assert markdown.exit_code == 2 and "several files" in markdown.output


def _binary(tmp_path: Path) -> Path:
    path = tmp_path / "binary.formula"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00\xff\xfe")
    return path


def test_a_binary_formula_is_bs001_in_every_command(tmp_path: Path) -> None:
    binary = _binary(tmp_path)
    check = runner.invoke(app, ["check", str(binary)])
    assert check.exit_code == 1 and "BS001 binary file, not formula text" in check.output
    for args in (
        ["compare", "default", "pending-tasks", str(binary), "--seeds", "2"],
        ["stress", "default", "--formula", str(binary)],
        ["simulate", "default", "--set", f"pool.autoscale.formula_file={binary}"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, (args, result.output)
        assert "BS001 binary file, not formula text" in result.output, args
        assert f"{binary}:1:1" in result.output, args
        assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback


def test_eval_of_a_directory_says_so(tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", str(tmp_path)])
    assert result.exit_code == 2
    assert f"{tmp_path}: is a directory" in result.output


def test_shipped_formulas_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    listed = runner.invoke(app, ["formula", "list"])
    assert listed.exit_code == 0
    names = [line.split("\t")[0] for line in listed.output.splitlines()]
    assert "pending-tasks" in names and "spot-first" in names
    assert sorted(names) == sorted(p.stem for p in (ROOT / "formulas").glob("*.formula"))
    path = runner.invoke(app, ["formula", "path", "pending-tasks"])
    assert path.exit_code == 0 and Path(path.output.strip()).read_text(encoding="utf-8").startswith("// pending-tasks")
    missing = runner.invoke(app, ["formula", "path", "nope"])
    assert missing.exit_code == 1 and "shipped: " in missing.output
    monkeypatch.chdir(tmp_path)  # a directory without the repository's formulas/
    assert runner.invoke(app, ["check", "pending-tasks"]).exit_code == 0
    evaluated = runner.invoke(app, ["eval", "pending-tasks"])
    assert evaluated.exit_code == 0 and "$TargetDedicatedNodes=1" in evaluated.output
    compared = runner.invoke(
        app, ["compare", "default", "pending-tasks", "spot-first", "--seeds", "2", "--set", "duration=1h"]
    )
    assert compared.exit_code == 0, compared.output


@pytest.mark.parametrize(
    "command", ["check", "eval", "export", "fmt", "calibrate", "backtest", "history import", "history pull"]
)
def test_help_placeholders_are_in_one_style(command: str) -> None:
    result = runner.invoke(app, [*command.split(), "--help"], env={"COLUMNS": "200"})
    usage = next(line for line in result.output.splitlines() if "Usage:" in line)
    # No Python parameter names (lower case, underscores) as placeholders: FORMULA, HISTORY_DIR, PATH...
    assert not re.search(r"[{\[][a-z_]+[}\]]", usage), usage
    assert re.search(r"[{\[][A-Z_.]+[}\]]", usage), usage
