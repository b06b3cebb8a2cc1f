"""Issue 22 §2: tasks added in collections (`collections:` on poisson and diurnal entries).

The service's Add Task Collection adds at most 100 tasks a call, and a call's tasks share their
creation instant (learn.microsoft.com/rest/api/batchservice/task/add-collection). The oracles: the
entry's rate is tasks per hour with or without collections; gamma intervals of shape 1 / CV² have
squared coefficient of variation CV²; the compound count over a window has variance-to-mean
Var S / E S + CV² E S (Cox 1962, §3.3), which the test's count tolerance uses.
"""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from batchsim.workload.generators import WorkloadEntry, build_workload

ENTRY = TypeAdapter(WorkloadEntry)
SIZES = {10: 1.0, 50: 1.0, 100: 1.0}  # mean 53.3, Var S 1355.6


def _submits(spec: dict[str, object], duration_s: float, seed: int) -> np.ndarray:
    work = build_workload([ENTRY.validate_python(spec)], duration_s, seed=seed)
    return np.array([t.submit_s for t in work.tasks])


def test_poisson_collections_keep_the_task_rate_and_the_interval_dispersion() -> None:
    spec = {"kind": "poisson", "rate_per_hour": 300, "collections": {"sizes": SIZES, "interval_cv2": 4.0}}
    submits = _submits(spec, 2000 * 3600.0, seed=1)
    expected = 300 * 2000
    mean_size = 160 / 3
    dispersion = (1355.6 / mean_size) + 4.0 * mean_size  # variance-to-mean of the task count
    assert abs(len(submits) - expected) < 4 * np.sqrt(dispersion * expected)
    instants, sizes = np.unique(submits, return_counts=True)
    # Gamma intervals of shape ¼ are sometimes shorter than a float's spacing: two collections then
    # share an instant (about 1 in 1,000 here), as two calls in one instant would.
    assert np.isin(sizes, list(SIZES)).mean() > 0.99
    gaps = np.diff(instants)
    assert abs(gaps.mean() - 3600 * mean_size / 300) < 0.05 * 3600 * mean_size / 300
    assert 3.6 < gaps.var() / gaps.mean() ** 2 < 4.4  # CV² of gamma(shape ¼) intervals: 4


def test_collections_are_deterministic_and_leave_other_entries_alone() -> None:
    plain = {"kind": "poisson", "rate_per_hour": 100}
    batch = {"kind": "poisson", "rate_per_hour": 300, "collections": {"sizes": {20: 1.0}}}
    first = build_workload([ENTRY.validate_python(s) for s in (plain, batch)], 86400, seed=7)
    again = build_workload([ENTRY.validate_python(s) for s in (plain, batch)], 86400, seed=7)
    alone = build_workload([ENTRY.validate_python(plain)], 86400, seed=7)
    assert [t.submit_s for t in first.tasks] == [t.submit_s for t in again.tasks]
    assert [t.submit_s for t in first.tasks if t.task_id.startswith("w0-")] == [t.submit_s for t in alone.tasks]


def test_diurnal_collections_follow_the_daily_cycle() -> None:
    rates = [0.0] * 12 + [600.0] * 12
    spec = {"kind": "diurnal", "hourly_rates_per_hour": rates, "collections": {"sizes": {25: 1.0}, "interval_cv2": 2}}
    submits = _submits(spec, 60 * 86400.0, seed=2)
    hours = submits / 3600 % 24
    assert (hours >= 12).all()
    expected = 600 * 12 * 60
    assert abs(len(submits) - expected) < 4 * np.sqrt((2 * 25) * expected)
    _, sizes = np.unique(submits, return_counts=True)
    assert np.median(sizes) == 25


@pytest.mark.parametrize(
    ("collections", "message"),
    [
        ({"sizes": {101: 1.0}}, "1..100 tasks"),
        ({"sizes": {0: 1.0}}, "1..100 tasks"),
        ({"sizes": {5: 0.0}}, "at least one weight"),
        ({"sizes": {5: 1.0}, "interval_cv2": 0}, "greater than 0"),
        ({"sizes": {5: 1.0}, "spread": 2}, "Extra inputs"),
    ],
)
def test_bad_collections_are_refused(collections: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ENTRY.validate_python({"kind": "poisson", "rate_per_hour": 10, "collections": collections})


@pytest.mark.parametrize("kind", ["poisson", "diurnal"])
def test_rate_windows_add_and_remove_whole_collections(kind: str) -> None:
    """A `burst` stress or an arrival-uncertainty member (rate_factors) on an entry with collections:
    the added tasks come as collections too, and a factor below 1 drops whole collections, so the
    sizes stay the entry's (a size the entry does not have would mean a collection was split)."""
    rate = {"rate_per_hour": 300} if kind == "poisson" else {"mean_per_hour": 300, "amplitude": 0.5}
    base = {"kind": kind, **rate, "collections": {"sizes": {20: 1.0, 40: 1.0}, "interval_cv2": 2}}
    window_s = 200 * 3600.0
    up = base | {"rate_factors": [{"start": 0, "duration": window_s, "factor": 3}]}
    down = base | {"rate_factors": [{"start": 0, "duration": window_s, "factor": 0.5}]}
    counts = {}
    for name, spec in (("base", base), ("up", up), ("down", down)):
        submits = _submits(spec, 2 * window_s, seed=4)
        inside = submits[submits < window_s]
        _, sizes = np.unique(inside, return_counts=True)
        assert np.isin(sizes, [20, 40]).mean() > 0.98, (name, sorted(set(sizes)))
        counts[name] = len(inside)
    expected = 300 * 200  # tasks in the window at factor 1; the count's variance-to-mean is 100 / 30 + 2 × 30 ≈ 63
    tolerance = 4 * np.sqrt(100 * expected)
    assert abs(counts["base"] - expected) < tolerance
    assert abs(counts["up"] - 3 * expected) < 3 * tolerance
    assert abs(counts["down"] - expected / 2) < tolerance
