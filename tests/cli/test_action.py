"""The GitHub Action (action.yml) and the pre-commit hooks, as their runners would use them (issue 25 §1, §2).

The action's check step is run here with bash, as the runner runs a composite step: its inputs in
the environment, `GITHUB_OUTPUT` a file, and `batchsim` on PATH (this checkout's).
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "hosts" / "fixtures"


def _action() -> dict[str, object]:
    return yaml.safe_load((ROOT / "action.yml").read_text())  # type: ignore[no-any-return]


def _steps() -> list[dict[str, object]]:
    runs = _action()["runs"]
    assert isinstance(runs, dict) and runs["using"] == "composite"
    return runs["steps"]  # type: ignore[no-any-return]


def test_the_action_installs_the_light_distribution_and_uploads_sarif() -> None:
    steps = _steps()
    install = next(s for s in steps if "pip install" in str(s.get("run", "")))
    path = re.search(r'"\$GITHUB_ACTION_PATH/([^"]+)"', str(install["run"]))
    assert path is not None and (ROOT / path.group(1) / "pyproject.toml").is_file()
    assert 'name = "batchsim-check"' in (ROOT / path.group(1) / "pyproject.toml").read_text()
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif@"))
    assert upload["with"] == {"sarif_file": "${{ inputs.sarif-file }}", "category": "${{ inputs.category }}"}


@pytest.fixture
def shim(tmp_path: Path) -> Path:
    """A `batchsim` on PATH that runs this checkout's code."""
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "batchsim"
    script.write_text(f'#!/bin/sh\nPYTHONPATH={ROOT} exec {sys.executable} -m batchsim "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return folder


def _run_check_step(shim: Path, tmp_path: Path, paths: str) -> tuple[dict[str, str], Path, str]:
    step = next(s for s in _steps() if s.get("id") == "check")
    output, sarif = tmp_path / "github_output", tmp_path / "out.sarif"
    env = {
        **os.environ,
        "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}",
        "CHECK_PATHS": paths,
        "CHECK_ARGS": "--var max_nodes=20",
        "SARIF_FILE": str(sarif),
        "GITHUB_OUTPUT": str(output),
    }
    done = subprocess.run(["bash", "-e", "-c", str(step["run"])], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr  # the step itself passes; a later step fails the job
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return outputs, sarif, done.stdout


def test_the_check_step_writes_sarif_naming_host_files_and_resources(shim: Path, tmp_path: Path) -> None:
    outputs, sarif, log = _run_check_step(shim, tmp_path, f"{FIXTURES / 'pools.tf'} {FIXTURES / 'pool.bicep'}")
    assert outputs == {"exit-code": "1"}
    assert "pools.tf:19:37: error AutoScalingFormulaEvaluationError Undefined symbol: $unknownCap" in log
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    resources = {r["locations"][0]["logicalLocations"][0]["name"] for r in results}
    assert {"azurerm_batch_pool.render", "renderPool", "spotPool"} <= resources
    assert not any(r["ruleId"] == "BS004" and "max_nodes" in r["message"]["text"] for r in results)  # --var given


def test_the_check_step_passes_on_clean_formulas(shim: Path, tmp_path: Path) -> None:
    clean = tmp_path / "clean.formula"
    clean.write_text("$TargetDedicatedNodes = 1;\n")
    outputs, sarif, _ = _run_check_step(shim, tmp_path, str(clean))
    assert outputs == {"exit-code": "0"} and json.loads(sarif.read_text())["runs"][0]["results"] == []


def test_the_pre_commit_hook_takes_host_files_and_documents_the_light_install() -> None:
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    hooks = {hook["id"]: hook for hook in yaml.safe_load(text)}
    pattern = re.compile(hooks["batchsim-check"]["files"])
    for name in ("a.formula", "main.tf", "pool.bicep", "azuredeploy.json", "pool.yaml", "pool.yml"):
        assert pattern.search(name), name
    assert not re.search(hooks["batchsim-fmt"]["files"], "main.tf")  # fmt leaves host files alone
    subdirectory = re.search(r"#subdirectory=(\S+?)\"", text)
    assert subdirectory is not None and (ROOT / subdirectory.group(1) / "pyproject.toml").is_file()
