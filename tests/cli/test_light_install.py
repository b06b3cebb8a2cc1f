"""The light install (issue 25 §2): packaging/batchsim-check, built from the same source as batchsim.

The wheel is built offline with hatchling, unpacked alone into a folder, and its commands run from
there with numpy, pandas, scipy, matplotlib, pyarrow and pydantic made unimportable: whatever it
needs and does not ship would fail here. Sizes and install times are measured in the README
(`pip install` into fresh virtual environments).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIGHT = ROOT / "packaging" / "batchsim-check"
HEAVY = ("numpy", "pandas", "scipy", "matplotlib", "pyarrow", "pydantic")

RUN = """
import sys
for name in {heavy!r}:
    sys.modules[name] = None
sys.path.insert(0, {site!r})
import batchsim
assert batchsim.__file__.startswith({site!r}), batchsim.__file__
from batchsim.cli import main
sys.argv = ["batchsim", *sys.argv[1:]]
main()
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("hatchling")
    out = tmp_path_factory.mktemp("light")
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "--target", "wheel", "--directory", str(out)],
        cwd=LIGHT,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("batchsim_check-*.whl")
    return built


@pytest.fixture(scope="module")
def site(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    zipfile.ZipFile(wheel).extractall(folder)
    return folder


def _requirements(names: list[str]) -> dict[str, str]:
    return {re.split(r"[<>=!~; ]", r, maxsplit=1)[0].lower(): r for r in names}


def test_the_light_wheel_holds_the_four_commands_and_no_numeric_stack(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    commands = {n.removeprefix("batchsim/cli/") for n in names if n.startswith("batchsim/cli/")}
    assert commands == {
        "__init__.py",
        "app.py",
        "errors.py",
        "check.py",
        "_check_run.py",
        "fmt.py",
        "eval.py",
        "lsp.py",
    }
    assert "batchsim/formula/grammar.lark" in names and "batchsim/hosts/terraform.py" in names
    assert not any(n.startswith(("batchsim/sim/", "batchsim/scenario", "batchsim/cost/")) for n in names)
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    requires = [
        line.split(": ", 1)[1]
        for line in zipfile.ZipFile(wheel).read(metadata).decode().splitlines()
        if line.startswith("Requires-Dist: ")
    ]
    assert not set(_requirements(requires)) & set(HEAVY)


def test_the_shared_dependencies_have_the_same_bounds_in_both_distributions() -> None:
    tomllib = pytest.importorskip("tomllib", reason="tomllib: Python 3.11+")
    full = _requirements(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    project = tomllib.loads((LIGHT / "pyproject.toml").read_text())["project"]
    light = _requirements(project["dependencies"])
    lsp = _requirements(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["lsp"])
    for name, requirement in light.items():
        assert requirement == (full | lsp)[name], name


def _light(site: Path, cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RUN.format(heavy=HEAVY, site=str(site)), *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_fmt_and_eval_run_from_the_light_wheel_alone(site: Path, tmp_path: Path) -> None:
    formula = tmp_path / "f.formula"
    formula.write_text("$TargetDedicatedNodes=min(2, 3);\n")
    tf = tmp_path / "main.tf"
    tf.write_text(
        'resource "azurerm_batch_pool" "p" {\n  auto_scale {\n    formula = "$TargetDedicatedNodes = $x;"\n  }\n}\n'
    )
    checked = _light(site, tmp_path, "check", "--format", "json", str(formula), str(tf))
    assert checked.returncode == 1, checked.stderr
    (error,) = [r for r in json.loads(checked.stdout) if r["severity"] == "error"]
    assert (error["resource"], error["line"], error["column"]) == ("azurerm_batch_pool.p", 3, 40)
    assert _light(site, tmp_path, "fmt", "--check", str(formula)).returncode == 1  # would be reformatted
    context = tmp_path / "c.json"
    context.write_text('{"time": "2026-01-05T12:00:00Z", "samples": {"$PendingTasks": {"values": [3, 9]}}}')
    evaluated = _light(site, tmp_path, "eval", str(formula), "--context", str(context))
    assert evaluated.returncode == 0, evaluated.stderr
    assert (
        evaluated.stdout.strip() == "$TargetDedicatedNodes=2;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue"
    )
    panel = _light(site, tmp_path, "--help").stdout.split("Commands", 1)[1]
    listed = {m.group(1) for m in re.finditer(r"^│ (\w+) ", panel, re.MULTILINE)}
    assert listed == {"check", "fmt", "eval", "lsp"}


def test_rand_on_the_light_install_names_the_full_one(site: Path, tmp_path: Path) -> None:
    formula = tmp_path / "r.formula"
    formula.write_text("$TargetDedicatedNodes = rand() > 2 ? 1 : 0;\n")
    done = _light(site, tmp_path, "eval", str(formula))
    assert done.returncode == 2 and "pip install batchsim" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ('{"pool": {"taskSlotsPerNode": 0}}', "key 'pool.taskSlotsPerNode': must be at least 1"),
        ('{"pool": {"currentDedicatedNodes": "3"}}', "key 'pool.currentDedicatedNodes'"),
        ('{"samples": {"$PendingTasks": {"interval_s": 0}}}', "key 'samples.$PendingTasks.interval_s'"),
        ('{"samples": {"$PendingTasks": {"values": [1, "x"]}}}', "key 'samples.$PendingTasks.values"),
        ('{"samples": {"$PendingTasks": {"valuez": [1]}}}', "key 'samples.$PendingTasks.valuez': unknown key"),
        ("[1, 2]", "expected a JSON object"),
        ('{"time": 5}', "key 'time'"),
    ],
)
def test_context_file_errors_name_the_key_without_pydantic(
    site: Path, tmp_path: Path, context: str, message: str
) -> None:
    formula = tmp_path / "f.formula"
    formula.write_text("$TargetDedicatedNodes = 1;\n")
    path = tmp_path / "c.json"
    path.write_text(context)
    done = _light(site, tmp_path, "eval", str(formula), "--context", str(path))
    assert done.returncode == 1 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
