"""Issue 22 §2 "Arrivals come in collections": the fitted workload's waits against the replayed trace's.

The truth: 300 tasks an hour added in collections of 10, 50 or 100 tasks (the service adds at most
100 a call, learn.microsoft.com/rest/api/batchservice/task/add-collection), gamma intervals between
collections with CV² 4, on a fixed pool of 22 two-slot nodes (44 slots for a mean load of 20 tasks
at once: the queue builds only when collections clump). The oracle is the recorded run itself,
replayed (`--workload trace`): its p95 wait is what the pool did with those arrivals. The fitted
workload draws new arrivals, so its p95 is a random variable; over 5 seeds its median must lie
within 35 % of the trace's. Why 35 %: the truth scenario's own p95 over seeds 0..4 spans 2,781 to
4,297 s (±21 % about its median), so a correct fit differs from one record by that much and more.
Tasks drawn one at a time at the same hourly rates (the fit before this fix, the block removed)
queue far less: their p95 is below half the trace's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

import batchsim
from batchsim.history.calibrate import calibrate
from batchsim.history.directory import read_history
from batchsim.history.scenario_file import trace_path_for, write_calibration
from batchsim.history.synthetic import write_synthetic_history
from batchsim.scenario import load_scenario

TRUTH = """\
name: collections
duration: 48h
seed: {seed}
start: 2026-03-02T00:00:00Z
pool:
  vm_size: Standard_D2s_v3
  region: eastus
  task_slots_per_node: 2
  initial_dedicated: 22
workload:
  - kind: poisson
    job: render
    rate_per_hour: 300
    task_duration: {{dist: lognormal, median: 4m, sigma: 0.6}}
    collections:
      sizes: {{10: 1, 50: 1, 100: 1}}
      interval_cv2: 4
"""


def _p95(path: Path, seeds: int) -> float:
    scenario = load_scenario(path)
    return float(np.median([batchsim.simulate(scenario, seed=k).summary["wait_s_p95"] for k in range(seeds)]))


def _calibrated(tmp_path: Path, history_path: Path, kind: str) -> Path:
    out = tmp_path / f"{kind}.yaml"
    cal = calibrate(read_history(history_path), workload=kind, trace_path=str(trace_path_for(out)))  # type: ignore[arg-type]
    write_calibration(cal, out, history_path)
    return out


@pytest.mark.parametrize("seed", [3, 5])
def test_the_fitted_workloads_p95_wait_is_the_replayed_traces(tmp_path: Path, seed: int) -> None:
    (tmp_path / "truth.yaml").write_text(TRUTH.format(seed=seed))
    history_path = write_synthetic_history(load_scenario(tmp_path / "truth.yaml"), tmp_path / "h", pool_id="render")
    trace = _p95(_calibrated(tmp_path, history_path, "trace"), 1)  # a replay: the same tasks every seed
    fitted_path = _calibrated(tmp_path, history_path, "fitted")
    document = yaml.safe_load(fitted_path.read_text())
    entry = document["workload"][0]
    assert set(entry["collections"]["sizes"]) >= {10, 50, 100}
    assert 2.5 < entry["collections"]["interval_cv2"] < 6, entry["collections"]
    fitted = _p95(fitted_path, 5)
    assert abs(fitted - trace) <= 0.35 * trace, (fitted, trace)
    del entry["collections"]  # tasks one at a time, at the same fitted rates: the old fit
    (tmp_path / "one-at-a-time.yaml").write_text(yaml.safe_dump(document))
    alone = _p95(tmp_path / "one-at-a-time.yaml", 5)
    assert alone < 0.5 * trace, (alone, trace)
