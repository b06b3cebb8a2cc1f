"""Scenario files say what is wrong (issue 23 §3): a key given twice in one mapping is an error with
its file and lines (YAML itself keeps the last silently); a `--set` of `pool.autoscale.formula` or
`formula_file` replaces the other, since a scenario gives exactly one."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchsim.scenario import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "scenarios" / "default.yaml"


def test_a_duplicate_key_names_the_file_and_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "twice.yaml"
    path.write_text(
        "name: twice\nduration: 1h\npool:\n  vm_size: Standard_D2s_v3\n  initial_dedicated: 1\n"
        "  initial_dedicated: 5\nworkload: []\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value) == (
        f"{path}:6: key 'initial_dedicated' appears twice in one mapping (first on line 5); YAML would keep only the last"
    )


def test_the_same_key_in_two_mappings_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "fine.yaml"
    path.write_text(
        "name: fine\nduration: 1h\npool:\n  vm_size: Standard_D2s_v3\n  initial_dedicated: 1\nworkload:\n"
        "  - {kind: poisson, rate_per_hour: 60, task_duration: {dist: constant, value: 10s}}\n"
        "  - {kind: poisson, rate_per_hour: 60, task_duration: {dist: constant, value: 10s}}\n",
        encoding="utf-8",
    )
    assert len(load_scenario(path).workload) == 2


def test_setting_a_formula_file_replaces_the_inline_formula() -> None:
    assert load_scenario(DEFAULT).pool.autoscale.formula is not None  # the default scenario's is inline
    formula = ROOT / "formulas" / "spot-first.formula"
    scenario = load_scenario(DEFAULT, [f"pool.autoscale.formula_file={formula}"])
    assert scenario.pool.autoscale.formula is None
    assert scenario.formula_text() == formula.read_text(encoding="utf-8")


def test_setting_an_inline_formula_replaces_the_formula_file(tmp_path: Path) -> None:
    formula = ROOT / "formulas" / "pending-tasks.formula"
    path = tmp_path / "file.yaml"
    path.write_text(
        f"name: file\nduration: 1h\npool:\n  vm_size: Standard_D2s_v3\n  autoscale:\n    formula_file: {formula}\n"
        "workload: []\n",
        encoding="utf-8",
    )
    assert load_scenario(path).pool.autoscale.formula_file is not None
    scenario = load_scenario(path, ["pool.autoscale.formula=$TargetDedicatedNodes = 2;"])
    assert scenario.pool.autoscale.formula_file is None
    assert scenario.formula_text() == "$TargetDedicatedNodes = 2;"
    with pytest.raises(ScenarioError, match="exactly one"):  # both set on the command line: still exactly one
        load_scenario(path, {"pool.autoscale.formula_file": str(formula), "pool.autoscale.formula": "x = 1;"})
