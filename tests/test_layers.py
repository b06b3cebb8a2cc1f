"""The project's shape, checked as CI checks it: the import contract of DESIGN §1 and no dead code."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # import-linter depends on tomli before 3.11
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contract_holds(capsys: pytest.CaptureFixture[str]) -> None:
    # The contracts are in pyproject.toml ([tool.importlinter]): layers, the engine's narrow
    # imports, the pipeline as the only caller of the engine, leaf utilities.
    from importlinter.cli import lint_imports

    exit_code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    assert exit_code == 0, capsys.readouterr().out


def test_every_package_and_module_of_batchsim_is_in_the_contract() -> None:
    # A package in no layer is unconstrained: `batchsim.stress` once imported the optimizer that
    # imported it. Each child of `batchsim` is in a layer, or a leaf utility, or the entry point.
    import batchsim

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    named: set[str] = set()
    for contract in contracts:
        for layer in contract.get("layers", []):
            named.update(part.strip(" ()") for part in layer.replace(":", "|").split("|"))
        if contract["name"].startswith("Leaf utilities"):
            named.update(contract["source_modules"])
    children = {f"batchsim.{m.name}" for m in pkgutil.iter_modules(batchsim.__path__)} - {"batchsim.__main__"}
    assert children - named == set()
    assert named - children == set()  # no stale name either


def test_the_contract_forbids_package_cycles() -> None:
    # scenario -> stress.spec, stress.table -> optimize, optimize.ensemble -> stress; azure <-> history;
    # optimize.executors <-> optimize.runs: each closed a cycle between packages (or modules of one).
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    acyclic = [c for c in contracts if c["type"] == "acyclic_siblings"]
    assert [c["ancestors"] for c in acyclic] == [["batchsim"]] and "depth" not in acyclic[0]  # every depth


def test_no_dead_code() -> None:
    # vulture with [tool.vulture] from pyproject.toml; the names frameworks call are listed there.
    found = subprocess.run([sys.executable, "-m", "vulture"], cwd=ROOT, capture_output=True, text=True)
    assert found.returncode == 0, found.stdout + found.stderr
