"""batchsim as `pip install` gives it: the wheel carries what its commands read at run time.

The wheel is built from this checkout (hatchling's own command, no network), unpacked into a folder of its own,
and its commands are run from an empty directory, far from the source tree: the templates, the
formula library and the scenarios must come from inside the wheel. `.ci/run` does the same with a
real `pip install` into a fresh virtual environment.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Runs the console script's entry point with the unpacked wheel first on sys.path.
RUN = """
import sys
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
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "--target", "wheel", "--directory", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("batchsim-*.whl")
    return built


def test_the_wheel_ships_the_library_templates_scenarios_and_licence(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for source in [*(ROOT / "formulas").rglob("*.formula"), *(ROOT / "formulas").rglob("*.tmpl")]:
        assert f"batchsim/data/{source.relative_to(ROOT)}" in names
    for source in (ROOT / "scenarios").glob("*.yaml"):
        assert f"batchsim/data/scenarios/{source.name}" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "License-Expression: MIT" in text and "Classifier: Programming Language :: Python :: 3" in text
    import batchsim

    assert f"\nVersion: {batchsim.__version__}\n" in text  # one source: batchsim/__init__.py
    assert "Requires-Dist: pyarrow" in text.replace(">=", " ").replace("  ", " ")


def _batchsim(site: Path, cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RUN.format(site=str(site)), *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow  # ~25 s; .ci/run does the same with a real pip install on every run
def test_the_installed_commands_work_outside_the_source_tree(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    empty = tmp_path / "empty"
    empty.mkdir()
    scenario = _batchsim(site, empty, "scenario", "path", "default")
    assert scenario.returncode == 0, scenario.stderr
    assert scenario.stdout.strip().startswith(str(site))
    demo = _batchsim(site, empty, "demo", "--out", "demo")
    assert demo.returncode == 0, demo.stderr
    assert (empty / "demo" / "report.html").is_file() and (empty / "demo" / "tasks.parquet").is_file()
    optimize = _batchsim(
        site, empty, "optimize", scenario.stdout.strip(), "--template", "spot-share",
        "--budget", "2", "--seeds", "1", "--workers", "1", "--set", "duration=2h", "--out", "opt",
    )  # fmt: skip
    assert "shipped: none found" not in optimize.stderr
    assert (empty / "opt" / "trials.csv").is_file(), optimize.stderr
    formula = site / "batchsim" / "data" / "formulas" / "pending-tasks.formula"
    check = _batchsim(site, empty, "check", str(formula))
    assert check.returncode == 0, check.stdout + check.stderr
