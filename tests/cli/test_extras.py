"""A command whose optional dependency is not installed names the extra to install and exits 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Runs the console script's entry point with `module` made unimportable, as on a base install.
WITHOUT = """
import sys
sys.modules[{module!r}] = None
sys.argv = ["batchsim", *{argv!r}]
from batchsim.cli import main
main()
"""


@pytest.mark.parametrize(
    ("module", "argv", "extra"),
    [
        (
            "optuna",
            ["optimize", "scenarios/default.yaml", "--template", "spot-share", "--budget", "1", "--out", "{tmp}"],
            "tune",
        ),
        (
            "azure",
            ["export", "formulas/pending-tasks.formula", "--pool", "p", "--endpoint", "http://127.0.0.1:9"],
            "azure",
        ),
        (
            "azure",
            ["pool", "pull", "p", "--out", "{tmp}/s.yaml", "--endpoint", "http://127.0.0.1:9", "--account-name", "a"],
            "azure",
        ),
        (
            "azure",
            ["skus", "--region", "eastus", "--subscription", "0", "--management-endpoint", "http://127.0.0.1:9"],
            "azure",
        ),
    ],
)
def test_missing_extra_is_named(module: str, argv: list[str], extra: str, tmp_path: Path) -> None:
    argv = [a.replace("{tmp}", str(tmp_path / "out")) for a in argv]
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT.format(module=module, argv=argv)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert f"pip install 'batchsim[{extra}]'" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("module", "argv", "extra"),
    [
        # No endpoint anywhere: the missing extra is still what is named, not the endpoint.
        ("azure", ["export", "formulas/pending-tasks.formula", "--pool", "p"], "azure"),
        ("azure", ["pool", "pull", "p", "--out", "{tmp}/s.yaml"], "azure"),
        ("azure", ["history", "pull", "p", "--out", "{tmp}/h"], "azure"),
        ("azure", ["skus", "--region", "eastus"], "azure"),
        # No scheduler: the missing Dask is named first, and the exit is 2 as for every extra.
        ("distributed", ["compare", "default", "pending-tasks", "spot-first", "--executor", "dask"], "dask"),
        ("distributed", ["stress", "default", "--executor", "dask"], "dask"),
        ("distributed", ["sweep", "default", "--grid", "seed=1,2", "--executor", "dask", "--out", "{tmp}/s"], "dask"),
    ],
)
def test_the_missing_extra_comes_before_any_other_complaint(
    module: str, argv: list[str], extra: str, tmp_path: Path
) -> None:
    argv = [a.replace("{tmp}", str(tmp_path / "out")) for a in argv]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "DASK_"))}
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT.format(module=module, argv=argv)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 2, done.stderr
    assert f"pip install 'batchsim[{extra}]'" in done.stderr
    assert "endpoint" not in done.stderr and "scheduler" not in done.stderr
