"""`batchsim fmt FILE... [--check]` as CI and users run it (DESIGN §8)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from batchsim.cli import app

runner = CliRunner()
MESSY = "// keep this comment\nx=1;$TargetDedicatedNodes  =  min(x,4) ; // and this one\n"
TIDY = "// keep this comment\nx = 1;\n$TargetDedicatedNodes = min(x, 4);  // and this one\n"
BROKEN = "// a broken formula\n$TargetDedicatedNodes = min(4,;\n"


def fmt(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["fmt", *args])


def test_fmt_rewrites_in_place_and_keeps_comments(tmp_path: Path) -> None:
    path = tmp_path / "a.formula"
    path.write_text(MESSY)
    result = fmt(str(path))
    assert result.exit_code == 0, result.output
    assert path.read_text() == TIDY
    assert f"reformatted {path}" in result.output
    assert fmt(str(path)).exit_code == 0 and path.read_text() == TIDY


def test_check_changes_nothing_and_exits_one_when_a_file_would_change(tmp_path: Path) -> None:
    messy, tidy = tmp_path / "messy.formula", tmp_path / "tidy.formula"
    messy.write_text(MESSY)
    tidy.write_text(TIDY)
    result = fmt("--check", str(tmp_path))
    assert result.exit_code == 1
    assert f"would reformat {messy}" in result.output and str(tidy) not in result.stdout
    assert messy.read_text() == MESSY
    assert fmt("--check", str(tidy)).exit_code == 0


def test_a_file_that_does_not_parse_is_left_alone_and_located(tmp_path: Path) -> None:
    broken, messy = tmp_path / "broken.formula", tmp_path / "messy.formula"
    broken.write_text(BROKEN)
    messy.write_text(MESSY)
    result = fmt(str(broken), str(messy))
    assert result.exit_code == 1
    assert f"{broken}:2:31: error AutoScalingFormulaSyntaxError" in result.output
    assert f"{broken}: not formatted, left as it is" in result.output
    assert broken.read_text() == BROKEN
    assert messy.read_text() == TIDY  # the other file is still formatted


def test_bom_crlf_permissions_and_symlinks_are_kept(tmp_path: Path) -> None:
    real = tmp_path / "real.formula"
    real.write_bytes(b"\xef\xbb\xbfx=1;\r\ny=2;\r\n")
    real.chmod(0o640)
    link = tmp_path / "link.formula"
    link.symlink_to(real)
    assert fmt(str(link)).exit_code == 0
    assert link.is_symlink()
    assert real.read_bytes() == b"\xef\xbb\xbfx = 1;\r\ny = 2;\r\n"
    assert stat.S_IMODE(os.stat(real).st_mode) == 0o640


def test_usage_errors_and_unreadable_files(tmp_path: Path) -> None:
    assert fmt(str(tmp_path / "missing.formula")).exit_code == 2
    assert fmt(str(tmp_path)).exit_code == 2  # no *.formula below it
    binary = tmp_path / "b.formula"
    binary.write_bytes(b"\x00\x01")
    result = fmt(str(binary))
    assert result.exit_code == 1 and "binary file" in result.output


def test_stdin_to_stdout_for_editors() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "batchsim", "fmt", "-"], input=MESSY, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout == TIDY
    done = subprocess.run(
        [sys.executable, "-m", "batchsim", "fmt", "-"], input=BROKEN, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1 and "<stdin>:2:31" in done.stderr
    assert done.stdout == BROKEN  # a filter echoes what it cannot format (issue 25: it blanked the buffer)
    assert "Traceback" not in done.stderr


def test_the_filter_echoes_unparseable_bytes_exactly() -> None:
    # CRLF, a BOM and a stray non-UTF-8 byte all come back byte for byte, with the reason on stderr.
    for data in (b"\xef\xbb\xbfx = (1 +;\r\n// tail\r\n", b"x = 1;\r\ny = \xff;\r\n"):
        done = subprocess.run(
            [sys.executable, "-m", "batchsim", "fmt", "-"], input=data, capture_output=True, timeout=60
        )
        assert done.returncode == 1 and done.stdout == data, done.stdout
        assert done.stderr and b"Traceback" not in done.stderr
    # What it can format keeps its line endings and its BOM.
    done = subprocess.run(
        [sys.executable, "-m", "batchsim", "fmt", "-"],
        input=b"\xef\xbb\xbfx=1;\r\ny=-(-x);\r\n",
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout == b"\xef\xbb\xbfx = 1;\r\ny = -(-x);\r\n"
