"""The user stresses docs/optimize.md shows are ones a scenario file takes, and do what it says."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from batchsim.scenario import load_scenario
from batchsim.stress import apply, find

ROOT = Path(__file__).resolve().parents[2]


def test_the_documented_stresses_load_and_apply(tmp_path: Path) -> None:
    block = re.search(r"```yaml\n(stresses:.*?)```", (ROOT / "docs" / "optimize.md").read_text(), re.S)
    assert block is not None
    scenario = yaml.safe_load((ROOT / "scenarios" / "spot-first.yaml").read_text())
    scenario["pool"]["autoscale"]["formula_file"] = str(ROOT / "formulas" / "spot-first.formula")
    scenario.update(yaml.safe_load(block.group(1)))
    path = tmp_path / "stressed.yaml"
    path.write_text(yaml.safe_dump(scenario))
    loaded = load_scenario(path)
    _, drought, monday = find(loaded, ["long-drought", "bad-monday"])  # baseline first
    stressed, _ = apply(loaded, drought)
    assert [o.duration for o in stressed.pool.spot.outages] == [6 * 3600]
    stressed, _ = apply(loaded, monday)
    assert stressed.pool.spot.eviction_rate_per_hour == 0.2
    assert stressed.workload[0].rate_factors[-1].factor == 2
