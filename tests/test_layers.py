"""The project's shape, checked as CI checks it: the import contract of DESIGN §1 and no dead code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contract_holds(capsys: pytest.CaptureFixture[str]) -> None:
    # The contracts are in pyproject.toml ([tool.importlinter]): layers, the engine's narrow
    # imports, the pipeline as the only caller of the engine, leaf utilities.
    from importlinter.cli import lint_imports

    exit_code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    assert exit_code == 0, capsys.readouterr().out


def test_no_dead_code() -> None:
    # vulture with [tool.vulture] from pyproject.toml; the names frameworks call are listed there.
    found = subprocess.run([sys.executable, "-m", "vulture"], cwd=ROOT, capture_output=True, text=True)
    assert found.returncode == 0, found.stdout + found.stderr
