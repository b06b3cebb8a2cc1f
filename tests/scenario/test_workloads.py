"""Workload generators: rates, shapes, determinism and independent streams; trace files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import TypeAdapter

from batchsim.workload.generators import WorkloadEntry, build_workload
from batchsim.workload.traces import TraceError, read_swf_trace

ENTRY = TypeAdapter(WorkloadEntry)


def entries(*specs: dict[str, object]) -> list[WorkloadEntry]:
    return [ENTRY.validate_python(spec) for spec in specs]


def test_poisson_count_is_within_poisson_noise() -> None:
    work = build_workload(entries({"kind": "poisson", "rate_per_hour": 3600}), 10 * 3600, seed=1)
    expected = 36_000
    assert abs(len(work.tasks) - expected) < 4 * np.sqrt(expected)


def test_diurnal_hourly_profile_follows_the_rates() -> None:
    rates = [0] * 12 + [600] * 12
    work = build_workload(entries({"kind": "diurnal", "hourly_rates_per_hour": rates}), 7 * 86400, seed=2)
    hours = np.array([t.submit_s for t in work.tasks]) / 3600 % 24
    assert (hours >= 12).all()
    assert abs(len(work.tasks) - 600 * 12 * 7) < 4 * np.sqrt(600 * 12 * 7)


def test_diurnal_sinusoid_peaks_at_the_peak_hour() -> None:
    spec = {"kind": "diurnal", "mean_per_hour": 1000, "amplitude": 0.9, "peak_hour": 14}
    work = build_workload(entries(spec), 3 * 86400, seed=3)
    counts = np.bincount((np.array([t.submit_s for t in work.tasks]) / 3600 % 24).astype(int), minlength=24)
    assert counts.argmax() in (13, 14) and counts.argmin() in (1, 2, 3)


def test_bursts() -> None:
    spec = {"kind": "bursts", "bursts": [{"at": "10m", "count": 5}, {"at": "1h", "count": 3}]}
    work = build_workload(entries(spec), 7200, seed=1)
    assert sorted(t.submit_s for t in work.tasks) == [600] * 5 + [3600] * 3


def test_same_seed_same_tasks_and_entries_have_independent_streams() -> None:
    a = {"kind": "poisson", "rate_per_hour": 100, "task_duration": {"dist": "exponential", "mean": "1m"}}
    b = {"kind": "poisson", "rate_per_hour": 50}
    first = build_workload(entries(a, b), 86400, seed=9)
    again = build_workload(entries(a, b), 86400, seed=9)
    assert [(t.submit_s, t.duration_s) for t in first.tasks] == [(t.submit_s, t.duration_s) for t in again.tasks]
    changed = build_workload(entries(a, {**b, "rate_per_hour": 500}), 86400, seed=9)
    entry0 = [(t.submit_s, t.duration_s) for t in first.tasks if t.task_id.startswith("w0-")]
    assert entry0 == [(t.submit_s, t.duration_s) for t in changed.tasks if t.task_id.startswith("w0-")]


def test_job_schedule_entry() -> None:
    spec = {"kind": "schedule", "recurrence_interval": "1h", "tasks_per_job": 4, "preparation": {"duration": "30s"}}
    work = build_workload(entries(spec), 6 * 3600, seed=1)
    (schedule,) = work.schedules
    assert len(schedule.occurrences) == 6 and len(schedule.occurrences[0]) == 4
    assert schedule.job.preparation is not None


def test_csv_trace(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("submit_s,duration_s,slots,job\n100,60,1,a\n50,30,2,b\n")
    work = build_workload(entries({"kind": "trace", "path": str(path), "max_required_slots": 2}), 3600, seed=1)
    assert [(t.submit_s, t.duration_s, t.required_slots, t.job_id) for t in work.tasks] == [
        (0, 30, 2, "b"),
        (50, 60, 1, "a"),
    ]


SWF = """\
; Version: 2.2
; Computer: test
1 0 10 100 4 -1 -1 4 200 -1 1 7 1 -1 1 -1 -1 -1
2 30 0 -1 2 -1 -1 2 100 -1 5 7 1 -1 1 -1 -1 -1
3 60 5 50 -1 -1 -1 1 100 -1 1 8 1 -1 1 -1 -1 -1
"""


def test_swf_trace(tmp_path: Path) -> None:
    path = tmp_path / "t.swf"
    path.write_text(SWF)
    assert read_swf_trace(path) == [(0.0, 100.0, 4, "user-7"), (60.0, 50.0, 1, "user-8")]
    path.write_text("1 2 3\n")
    with pytest.raises(TraceError, match="line 1: expected 18 fields"):
        read_swf_trace(path)
