"""Scenario files: loading, errors that name file/line/key, overrides, schema, shipped scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchsim.scenario import ScenarioError, load_scenario, scenario_json_schema

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


MINIMAL = """\
name: t
duration: 1h
pool:
  initial_dedicated: 2
workload:
  - kind: poisson
    rate_per_hour: 60
    task_duration: {dist: exponential, mean: 60s}
"""


def test_design_example_loads() -> None:
    text = """\
name: queue-depth-spot
duration: 24h
seed: 1
pool:
  vm_size: Standard_D2s_v3
  region: eastus
  task_slots_per_node: 1
  node_fill_type: spread
  initial_dedicated: 0
  initial_spot: 0
  provisioning_delay:
    dedicated: {dist: constant, value: 0s}
    spot: {dist: constant, value: 0s}
  spot:
    eviction_rate_per_hour: 0.0
  autoscale:
    formula_file: ../formulas/pending-tasks.formula
    interval: 5m
prices:
  dedicated_per_hour: 0.096
  spot_per_hour: 0.0192
workload:
  - kind: poisson
    rate_per_hour: 3600
    task_duration: {dist: exponential, mean: 60s}
    required_slots: 1
"""
    scenario = load_scenario(ROOT / "scenarios" / "design-example.yaml", text=text)
    assert scenario.duration == 86400 and scenario.pool.autoscale is not None
    assert scenario.pool.autoscale.interval == 300
    assert "pendingTaskSamplePercent" in (scenario.formula_text() or "")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            MINIMAL.replace("initial_dedicated: 2", "initial_dedicatd: 2"),
            ":4: key 'pool.initial_dedicatd': unknown key",
        ),
        (MINIMAL.replace("rate_per_hour: 60", "rate_per_hour: lots"), ":7: key 'workload.0.rate_per_hour'"),
        (MINIMAL.replace("kind: poisson", "kind: gaussian"), ":6: key 'workload.0': unknown kind"),
        (MINIMAL.replace("duration: 1h", "duration: soon"), ":2: key 'duration'"),
        (MINIMAL.replace("mean: 60s}", "mean: 60s"), "not valid YAML"),
        ("- just\n- a list\n", ":1: a scenario is a mapping"),
    ],
)
def test_errors_name_file_line_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "nope.yaml")


def test_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    scenario = load_scenario(path, ["pool.initial_dedicated=20", "workload.0.rate_per_hour=10", "duration=2h"])
    assert scenario.pool.initial_dedicated == 20 and scenario.duration == 7200
    assert scenario.workload[0].rate_per_hour == 10  # type: ignore[union-attr]
    with pytest.raises(ScenarioError, match=r"--set key 'pool\.initial_spott': unknown key"):
        load_scenario(path, ["pool.initial_spott=3"])
    with pytest.raises(ScenarioError, match=r"expected dotted\.key=value"):
        load_scenario(path, ["pool.initial_spot"])


def test_schema_lists_the_fixed_keys() -> None:
    schema = scenario_json_schema()
    assert {"name", "duration", "seed", "pool", "prices", "workload"} <= set(schema["properties"])


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_shipped_scenarios_load_and_their_formulas_check_clean(path: Path) -> None:
    from batchsim.formula import check
    from batchsim.formula.diagnostics import Severity

    scenario = load_scenario(path)
    text = scenario.formula_text()
    if text is not None:
        assert not [d for d in check(text) if d.severity is Severity.ERROR]


def test_the_demo_scenario_is_the_one_in_scenarios() -> None:
    from batchsim.data import DEFAULT_SCENARIO, find_scenario, shipped

    # One source: in a checkout the package reads the top-level folders, which the wheel copies.
    assert shipped("scenarios").resolve() == (ROOT / "scenarios").resolve()
    assert find_scenario(DEFAULT_SCENARIO) == shipped("scenarios") / "default.yaml"
    assert not list((ROOT / "batchsim").rglob("*.yaml")), "a scenario copy inside the package"
