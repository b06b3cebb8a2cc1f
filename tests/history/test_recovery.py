"""Parameter recovery: histories generated from known parameters, calibrated, intervals against the truth.

Each 95 % interval misses its truth one time in twenty by design, so the test asserts what a
correct estimator guarantees over many intervals: coverage near 95 % overall (at least 85 % of all
intervals), and no parameter missed in more than one of the parameter sets (a systematic bias
would miss in most). The coverage observed is printed (pytest -s) and reported in docs/history.md.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from truth import make_scenario

from batchsim.history.calibrate import calibrate
from batchsim.history.directory import read_history
from batchsim.history.synthetic import write_synthetic_history
from batchsim.units import parse_duration_s

PARAMETER_SETS = [
    {
        "dedicated_median": "6m",
        "dedicated_sigma": 0.35,
        "spot_median": "7m",
        "spot_sigma": 0.5,
        "eviction": 0.3,
        "failure": 0.05,
        "rate": 400,
        "task_median": "4m",
        "task_sigma": 0.6,
    },
    {
        "dedicated_median": "3m",
        "dedicated_sigma": 0.25,
        "spot_median": "9m",
        "spot_sigma": 0.4,
        "eviction": 0.15,
        "failure": 0.1,
        "rate": 300,
        "task_median": "6m",
        "task_sigma": 0.8,
    },
    {
        "dedicated_median": "8m",
        "dedicated_sigma": 0.5,
        "spot_median": "5m",
        "spot_sigma": 0.3,
        "eviction": 0.5,
        "failure": 0.02,
        "rate": 500,
        "task_median": "3m",
        "task_sigma": 0.4,
    },
    {
        "dedicated_median": "5m",
        "dedicated_sigma": 0.4,
        "spot_median": "6m",
        "spot_sigma": 0.6,
        "eviction": 0.2,
        "failure": 0.0,
        "rate": 350,
        "task_median": "5m",
        "task_sigma": 0.5,
    },
]


def _truths(parameters: dict[str, object], scenario_rate_per_hour: float) -> dict[str, float]:
    return {
        "pool.provisioning_delay.dedicated.median": parse_duration_s(parameters["dedicated_median"]),
        "pool.provisioning_delay.dedicated.sigma": float(parameters["dedicated_sigma"]),  # type: ignore[arg-type]
        "pool.provisioning_delay.spot.median": parse_duration_s(parameters["spot_median"]),
        "pool.provisioning_delay.spot.sigma": float(parameters["spot_sigma"]),  # type: ignore[arg-type]
        "pool.spot.eviction_rate_per_hour": float(parameters["eviction"]),  # type: ignore[arg-type]
        "workload.0.failure_probability": float(parameters["failure"]),  # type: ignore[arg-type]
        "workload.0.rate_per_hour": scenario_rate_per_hour,
        "workload.0.task_duration.median": parse_duration_s(parameters["task_median"]),
        "workload.0.task_duration.sigma": float(parameters["task_sigma"]),  # type: ignore[arg-type]
    }


def test_intervals_cover_the_truth_over_several_parameter_sets(tmp_path: Path) -> None:
    covered: dict[str, list[bool]] = {}
    lines = []
    for k, parameters in enumerate(PARAMETER_SETS):
        scenario = make_scenario(tmp_path, duration="24h", **parameters)
        diurnal = scenario.workload[0]
        grid = np.arange(0.0, scenario.duration, 1.0)
        mean_rate = float(np.mean(diurnal.rate_at(grid)))  # type: ignore[union-attr]
        directory = write_synthetic_history(scenario, tmp_path / f"h{k}", pool_id="render")
        block = calibrate(read_history(directory)).block()
        for key, truth in _truths(parameters, mean_rate).items():
            row = block[key]
            if row["estimate"] is None:
                lines.append(f"set {k} {key}: not estimated ({row['source']})")
                continue
            hit = row["low"] <= truth <= row["high"] or (truth == 0 and row["low"] == 0)
            covered.setdefault(key, []).append(hit)
            lines.append(
                f"set {k} {key}: truth {truth:g} in [{row['low']:g}, {row['high']:g}] {'ok' if hit else 'MISS'}"
            )
    report = "\n".join(lines)
    print(report)
    hits = [hit for values in covered.values() for hit in values]
    assert len(hits) >= 30, report  # nearly every parameter was estimable in every set
    assert np.mean(hits) >= 0.85, report
    for key, values in covered.items():
        assert values.count(False) <= 1, f"{key} missed in {values.count(False)} sets\n{report}"


@pytest.mark.parametrize("median_s,sigma", [(360.0, 0.35), (90.0, 0.8)])
def test_lognormal_intervals_cover_at_about_95_percent(median_s: float, sigma: float) -> None:
    from batchsim.history.estimators import fit_lognormal

    hits = []
    for seed in range(120):
        rng = np.random.default_rng(seed)
        values = rng.lognormal(math.log(median_s), sigma, 60)
        censor = rng.uniform(median_s / 2, median_s * 4, 60)
        fit = fit_lognormal(values[values <= censor], censor[values > censor])
        assert fit is not None
        hits.append(fit.median_low <= median_s <= fit.median_high)
    assert 0.88 <= np.mean(hits) <= 0.995
