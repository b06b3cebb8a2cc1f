"""Issue 22 §2: batch arrivals (tasks sharing creation instants) and the scheduler's latency.

The service's Add Task Collection adds up to 100 tasks in one call (learn.microsoft.com/rest/api/
batchservice/task/add-collection): its tasks share a creation time. The truth here is drawn by
the test: gamma-distributed intervals between collections (shape 0.25: index of dispersion 4,
over-dispersed against Poisson's 1), sizes 1..20, and a latency of 7..9 s from creation to start
for tasks that find an idle node.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from test_calibrate_defects import START, _iso

from batchsim.history.calibrate import calibrate
from batchsim.history.directory import TASK_COLUMNS, read_history


def _isos(seconds: np.ndarray) -> list[str]:
    """_iso for many instants at once (the same text)."""
    stamps = START + pd.to_timedelta(np.asarray(seconds, float), unit="s")
    return list(stamps.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z")


def _history(root: Path, created_s: np.ndarray, started_s: np.ndarray, window_s: float) -> Path:
    root.mkdir()
    pool = {"id": "render", "vmSize": "standard_d2s_v3", "location": "eastus", "taskSlotsPerNode": 32}
    (root / "pool.json").write_text(json.dumps(pool | {"enableAutoScale": False, "targetDedicatedNodes": 4}))
    tasks = pd.DataFrame(
        {
            "job_id": "render-1",
            "task_id": [f"t{k}" for k in range(len(created_s))],
            "created": _isos(created_s),
            "started": _isos(started_s),
            "ended": _isos(started_s + 30),
            "state": "completed",
            "exit_code": 0,
        }
    )
    tasks.reindex(columns=TASK_COLUMNS).to_csv(root / "tasks.csv", index=False)
    minutes = np.arange(0, window_s + 60, 60.0)
    counts = pd.DataFrame({"time": _isos(minutes), "dedicated": 4, "spot": 0, "preempted": 0, "idle": 4, "running": 0})
    counts.to_csv(root / "node_counts.csv", index=False)
    (root / "history.json").write_text(json.dumps({"window": {"start": _iso(0), "end": _iso(window_s)}}))
    return root


def test_collections_and_latency_are_estimated(tmp_path: Path) -> None:
    rng = np.random.default_rng(21)
    gaps = 5.0 + rng.gamma(0.25, 595.0 / 0.25, 400)  # mean 600 s between collections, CV² ≈ 3.9
    instants = np.cumsum(gaps)
    window_s = float(instants[-1] + 600)
    sizes = rng.integers(1, 21, len(instants))  # mean 10.5 tasks a collection
    created = np.repeat(instants, sizes)
    started = created + rng.uniform(7.0, 9.0, len(created))  # latency median 8 s
    history = read_history(_history(tmp_path / "h", created, started, window_s))
    cal = calibrate(history)
    block = cal.block()
    latency = block["pool.scheduler_latency"]
    assert latency["low"] <= 8.0 <= latency["high"] and latency["n"] > 100, latency
    assert cal.document["pool"]["scheduler_latency"] == round(latency["estimate"], 3)
    rate = block["workload.0.collections.rate_per_hour"]
    truth_rate = 3600 / 600
    assert rate["low"] <= truth_rate <= rate["high"], rate
    size = block["workload.0.collections.size"]
    assert size["low"] <= 10.5 <= size["high"], size
    dispersion = block["workload.0.collections.interval_dispersion"]
    assert dispersion["low"] > 1.5  # over-dispersed: not Poisson collections
    fitted = calibrate(history, workload="fitted")
    batch = fitted.document["workload"][0]["collections"]  # the fitted entry draws collections
    assert set(batch["sizes"]) <= set(range(1, 21)) and sum(batch["sizes"].values()) == len(instants)
    assert batch["interval_cv2"] > 1.5
    assert any("tasks arrive in collections" in n for n in fitted.notes)


def test_collection_rates_cover_the_truth_with_over_dispersed_intervals(tmp_path: Path) -> None:
    """The issue's case: 300 tasks/h in collections, whose Poisson interval on the task count missed
    (286 [282, 290]). Over 20 histories, each interval (task rate, collection rate, size) covers
    the truth in at least 17 (a 95 % interval covers in 19 of 20 on average; 17 or fewer happens
    with probability 7.5 % for a true 95 % interval, so fewer than 17 fails)."""
    from batchsim.workload.generators import Poisson

    entry = Poisson(kind="poisson", rate_per_hour=300, collections={"sizes": {5: 1, 30: 1, 100: 1}, "interval_cv2": 4})
    mean_size = 45.0
    covered = {"rate_per_hour": 0, "collections.rate_per_hour": 0, "collections.size": 0}
    poisson_covered = 0
    for seed in range(20):
        created = np.array([t.submit_s for t in entry.generate(48 * 3600.0, np.random.default_rng(seed), 0)])
        history = read_history(_history(tmp_path / f"h{seed}", created, created + 8, 48 * 3600.0))
        block = calibrate(history, workload="fitted").block()
        truth = {"rate_per_hour": 300.0, "collections.rate_per_hour": 300 / mean_size, "collections.size": mean_size}
        for key, value in truth.items():
            row = block[f"workload.0.{key}"]
            covered[key] += row["low"] <= value <= row["high"]
        n = len(created)  # the Garwood interval on the task count, as before the fix
        poisson_covered += abs(n / 48 - 300) <= 1.96 * np.sqrt(n) / 48
    assert all(count >= 17 for count in covered.values()), covered
    assert poisson_covered <= 10, poisson_covered  # the old interval misses most of the time


def test_a_poisson_history_is_not_fitted_as_collections(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    created = np.sort(rng.uniform(0, 48 * 3600.0, 300 * 48))
    history = read_history(_history(tmp_path / "h", created, created + 8, 48 * 3600.0))
    cal = calibrate(history, workload="fitted")
    assert "collections" not in cal.document["workload"][0]
    assert not any(key.startswith("workload.0.collections") for key in cal.block())
    assert any("tasks arrive one at a time, not in collections (0% share" in n for n in cal.notes), cal.notes


def test_whole_second_times_at_a_high_rate_are_not_collections(tmp_path: Path) -> None:
    """Logs that keep whole seconds: 2 Poisson tasks a second share a second 86 % of the time
    (1 − e^(−2)), above the 50 % that marks collections; that is the times' resolution, not calls
    of Add Task Collection. Collections at the same resolution are still found."""
    rng = np.random.default_rng(6)
    window_s = 6 * 3600.0
    created = np.floor(np.sort(rng.uniform(0, window_s, 7200 * 6)))
    history = read_history(_history(tmp_path / "h", created, created + 8, window_s))
    cal = calibrate(history, workload="fitted")
    assert "collections" not in cal.document["workload"][0]
    assert any("one-at-a-time arrivals share 86% at the times' resolution" in n for n in cal.notes), cal.notes
    instants = np.floor(np.sort(rng.uniform(0, window_s, 200)))
    batched = np.repeat(np.unique(instants), 20)
    history = read_history(_history(tmp_path / "b", batched, batched + 8, window_s))
    fitted = calibrate(history, workload="fitted")
    assert fitted.document["workload"][0]["collections"]["sizes"] == {20: len(np.unique(instants))}
    block = fitted.block()
    assert block["workload.0.collections.interval_cv2"] == block["workload.0.collections.interval_dispersion"]


def test_no_latency_without_idle_counts(tmp_path: Path) -> None:
    created = np.arange(0, 36000, 300.0)
    root = _history(tmp_path / "h", created, created + 5, 36000)
    (root / "node_counts.csv").write_text("time,dedicated,spot\n" + f"{_iso(0)},4,0\n")
    row = calibrate(read_history(root)).block()["pool.scheduler_latency"]
    assert row["estimate"] is None and "idle" in row["source"]


def test_the_engines_scheduler_latency_is_recovered_from_a_generated_history(tmp_path: Path) -> None:
    """End to end: a pool with `scheduler_latency: 5s` (the truth) leaves a history whose tasks start
    5 s after they are placed, as the service's startTime is when a task starts running; calibrate
    reads the latency back. The generated history used to give each task's slot time as its start,
    and calibrate read 0 [0, 0]."""
    from batchsim.history.synthetic import write_synthetic_history
    from batchsim.scenario import load_scenario

    (tmp_path / "truth.yaml").write_text(
        "name: latency\nduration: 12h\nseed: 2\nstart: 2026-03-02T00:00:00Z\n"
        "pool: {vm_size: Standard_D2s_v3, region: eastus, task_slots_per_node: 2, initial_dedicated: 12,"
        " scheduler_latency: 5s}\n"
        "workload:\n  - {kind: poisson, rate_per_hour: 120, task_duration: {dist: lognormal, median: 4m, sigma: 0.5}}\n"
    )
    root = write_synthetic_history(load_scenario(tmp_path / "truth.yaml"), tmp_path / "h", pool_id="render")
    cal = calibrate(read_history(root))
    row = cal.block()["pool.scheduler_latency"]
    assert row["low"] <= 5.0 <= row["high"] and row["n"] >= 10, row
    assert cal.document["pool"]["scheduler_latency"] == 5.0
