"""The known scenario behind the generated histories of these tests (the truth calibrate is held to)."""

from __future__ import annotations

from pathlib import Path

from batchsim.scenario import Scenario, load_scenario

# Scales on pending tasks: dedicated nodes in steps, the rest on Spot, so that both kinds grow and shrink
# through the day (a diurnal load) and every estimate calibrate makes has data.
FORMULA = """\
tasks = max(0, $PendingTasks.GetSample(1));
nodes = (tasks + $TaskSlotsPerNode - 1) / $TaskSlotsPerNode;
$TargetDedicatedNodes = nodes > 30 ? 12 : (nodes > 20 ? 8 : (nodes > 12 ? 5 : (nodes > 6 ? 3 : 1)));
$TargetLowPriorityNodes = min(40, max(0, nodes - $TargetDedicatedNodes));
$NodeDeallocationOption = taskcompletion;
"""


def scenario_text(
    *,
    duration: str = "12h",
    dedicated_median: str = "6m",
    dedicated_sigma: float = 0.35,
    spot_median: str = "7m",
    spot_sigma: float = 0.5,
    eviction: float = 0.3,
    failure: float = 0.05,
    rate: float = 400,
    task_median: str = "4m",
    task_sigma: float = 0.6,
    formula: str = FORMULA,
) -> str:
    body = "\n".join("      " + line for line in formula.splitlines())
    return f"""\
name: truth
duration: {duration}
seed: 3
start: 2026-03-02T00:00:00Z
pool:
  vm_size: Standard_D2s_v3
  region: eastus
  task_slots_per_node: 2
  provisioning_delay:
    dedicated: {{dist: lognormal, median: {dedicated_median}, sigma: {dedicated_sigma}}}
    spot: {{dist: lognormal, median: {spot_median}, sigma: {spot_sigma}}}
  spot: {{eviction_rate_per_hour: {eviction}}}
  autoscale:
    interval: 10m
    formula: |
{body}
workload:
  - kind: diurnal
    job: render
    mean_per_hour: {rate}
    amplitude: 0.8
    peak_hour: 6
    priority: 5
    max_retry_count: 3
    failure_probability: {failure}
    task_duration: {{dist: lognormal, median: {task_median}, sigma: {task_sigma}}}
"""


def make_scenario(directory: Path, **kwargs: object) -> Scenario:
    path = directory / "truth.yaml"
    path.write_text(scenario_text(**kwargs), encoding="utf-8")  # type: ignore[arg-type]
    return load_scenario(path)
