"""The parameter-uncertainty members of a robust ensemble: each group of estimates moved to the ends
of the 95 % interval of what the group determines, never every key to its own bound at once.

A calibrated scenario (`calibration:`) has an interval for each estimate. Putting all 24 hourly
rates of a week at 100 tasks/h at their own upper bounds moves the daily total by 24 × 1.96 σ of an
hour, about 9.6 σ of the total (the hours are independent counts): a day that does not happen. So:

- **arrivals**: what the rates determine is how many tasks arrive; every entry's rates (its hourly
  profile, or its one rate) are scaled by the same factor, which puts the total arrival rate at the
  end of its own 95 % interval: the entry's overall rate interval when the calibration has one (the
  exact interval of the whole count), otherwise the hourly intervals combined (independent counts:
  the half-widths add in quadrature). The profile keeps its shape; weekday factors (the shape of the
  week) are not moved.
- **any other group** (eviction rate, provisioning delays, task durations, failures): its k keys
  move together, each by 1/√k of its own half-width, which is the 95 % bound of their standardized
  sum, 1.96 σ jointly (one key: its own bound).

Without calibration the members are assumed: the top of the Spot eviction rate's published 5-point
band and the arrival rate ± 20 % (a planner rarely knows next month's load better than that).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scipy import stats

from batchsim.scenario import Scenario, ScenarioError
from batchsim.stress.transforms import apply
from batchsim.stress_spec import ArrivalRate, EvictionRate, StressSpec

__all__ = [
    "DEFAULT_ARRIVAL_UNCERTAINTY",
    "EVICTION_BAND_PER_HOUR",
    "Z_95",
    "Perturbation",
    "member_weight",
    "perturbations",
]

DEFAULT_ARRIVAL_UNCERTAINTY = 0.2
EVICTION_BAND_PER_HOUR = 0.05  # Azure publishes Spot eviction rates in 5-point bands (batch-behavior §3.3)
Z_95 = float(stats.norm.ppf(0.975))  # a two-sided 95 % interval's half-width, in σ


@dataclass(frozen=True)
class Perturbation:
    """One uncertainty member: the transformation, how far out it is (signed, in σ of what its group
    determines; None for an assumed one) and what that is, in words."""

    spec: StressSpec
    sigma: float | None
    what: str


# How calibrated keys are grouped (sixty hourly rates are one uncertainty about the arrivals, not sixty).
_ARRIVAL_KEYS = ("rate_per_hour", "rates_per_hour", "weekday_factors")
_GROUPS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("arrivals", lambda key: key.startswith("workload.") and any(k in key for k in _ARRIVAL_KEYS)),
    ("eviction-rate", lambda key: key == "pool.spot.eviction_rate_per_hour"),
    ("provisioning", lambda key: key.startswith("pool.provisioning_delay.")),
    ("task-durations", lambda key: key.startswith("workload.") and ".task_duration." in key),
    ("failures", lambda key: key.endswith("failure_probability")),
    ("other", lambda key: True),
)


def _intervals(scenario: Scenario) -> dict[str, tuple[float, float, float]]:
    """Calibrated keys with a usable interval: key → (low, estimate, high)."""
    found = {}
    for key, estimate in (scenario.calibration or {}).items():
        low, high, value = estimate.low, estimate.high, estimate.estimate
        if low is None or high is None or value is None or estimate.n == 0:
            continue
        if math.isfinite(low) and math.isfinite(high) and low <= value <= high and low < high:
            found[key] = (float(low), float(value), float(high))
    return found


def _valid(scenario: Scenario, changes: dict[str, Any]) -> bool:
    try:
        apply(scenario, StressSpec(name="check", set=changes))
    except (ScenarioError, ValueError, IndexError):
        return False
    return True


def _entry_rate(keys: dict[str, tuple[float, float, float]], index: str) -> tuple[float, float, float] | None:
    """An entry's mean rate (tasks/h) and the half-widths below and above it: its overall rate's
    interval, else its hourly rates' intervals combined in quadrature."""
    overall = keys.get(f"workload.{index}.rate_per_hour")
    if overall is not None:
        low, estimate, high = overall
        return estimate, estimate - low, high - estimate
    hourly = [v for k, v in keys.items() if k.startswith(f"workload.{index}.hourly_rates_per_hour.")]
    if not hourly:
        return None
    hours = len(hourly)
    estimate = sum(e for _, e, _ in hourly) / hours
    below = math.sqrt(sum((e - lo) ** 2 for lo, e, _ in hourly)) / hours
    above = math.sqrt(sum((hi - e) ** 2 for _, e, hi in hourly)) / hours
    return estimate, below, above


def _scaled(scenario: Scenario, index: int, factor: float) -> dict[str, Any]:
    """The keys that multiply workload entry `index`'s arrivals by `factor` over the whole horizon."""
    entry = scenario.workload[index]
    rate = getattr(entry, "rate_per_hour", None)
    if rate is not None:
        return {f"workload.{index}.rate_per_hour": rate * factor}
    window = {"start": 0.0, "duration": scenario.duration, "factor": factor}
    return {f"workload.{index}.rate_factors": [*getattr(entry, "rate_factors", []), window]}


def _arrivals(scenario: Scenario, keys: dict[str, tuple[float, float, float]]) -> list[Perturbation]:
    entries = sorted({k.split(".")[1] for k in keys if k.split(".")[1].isdigit()}, key=int)
    rates = {}
    for index in entries:
        rate = _entry_rate(keys, index)
        exists = int(index) < len(scenario.workload)
        if rate is not None and rate[0] > 0 and exists and _valid(scenario, _scaled(scenario, int(index), 1.0)):
            rates[int(index)] = rate
    if not rates:
        return []
    total = sum(e for e, _, _ in rates.values())
    below = math.sqrt(sum(b**2 for _, b, _ in rates.values()))
    above = math.sqrt(sum(a**2 for _, _, a in rates.values()))
    what = f"the total arrival rate ({total:.4g} tasks/h over {len(rates)} entries)"
    found = []
    for end, factor, sign in (("low", 1 - below / total, -1), ("high", 1 + above / total, 1)):
        changes: dict[str, Any] = {}
        for entry in rates:
            changes.update(_scaled(scenario, entry, max(factor, 0.0)))
        found.append(Perturbation(StressSpec(name=f"arrivals-{end}", set=changes), sign * Z_95, what))
    return found


def _together(scenario: Scenario, name: str, keys: dict[str, tuple[float, float, float]]) -> list[Perturbation]:
    """The group's keys moved together by 1/√k of their half-widths: 1.96 σ of their standardized sum."""
    usable = {k: v for k, v in keys.items() if _valid(scenario, {k: v[1]})}
    if not usable:
        return []
    shrink = 1 / math.sqrt(len(usable))
    what = f"{name}, {len(usable)} keys jointly" if len(usable) > 1 else next(iter(usable))
    found = []
    for end, sign in (("low", -1), ("high", 1)):
        changes = {
            key: estimate + shrink * ((high - estimate) if sign > 0 else (low - estimate))
            for key, (low, estimate, high) in usable.items()
        }
        found.append(Perturbation(StressSpec(name=f"{name}-{end}", set=changes), sign * Z_95, what))
    return found


def perturbations(scenario: Scenario) -> tuple[list[Perturbation], str]:
    """The uncertainty members' transformations, and where they came from."""
    intervals = _intervals(scenario)
    grouped: dict[str, dict[str, tuple[float, float, float]]] = {}
    for key, value in intervals.items():
        name = next(group for group, belongs in _GROUPS if belongs(key))
        grouped.setdefault(name, {})[key] = value
    found: list[Perturbation] = []
    for name, keys in grouped.items():
        found += _arrivals(scenario, keys) if name == "arrivals" else _together(scenario, name, keys)
    if found:
        groups = ", ".join(dict.fromkeys(p.spec.name.rsplit("-", 1)[0] for p in found))
        return found, (
            f"calibration: intervals of {len(intervals)} estimates, grouped as {groups}; each member at "
            f"±{Z_95:.2f} σ of what its group determines (arrivals: the total rate, the profile scaled; "
            "another group: its keys together, 1.96 σ jointly)"
        )
    rate = scenario.pool.spot.eviction_rate_per_hour
    band_top = (math.floor(rate / EVICTION_BAND_PER_HOUR + 1e-9) + 1) * EVICTION_BAND_PER_HOUR
    band = StressSpec(name="eviction-band-top", eviction_rate=EvictionRate(rate_per_hour=round(band_top, 6)))
    found = [Perturbation(band, None, "assumed: the top of the eviction rate's 5-point band")]
    for factor in (1 - DEFAULT_ARRIVAL_UNCERTAINTY, 1 + DEFAULT_ARRIVAL_UNCERTAINTY):
        spec = StressSpec(name=f"arrivals-x{factor:g}", arrival_rate=ArrivalRate(factor=factor))
        found.append(Perturbation(spec, None, "assumed: arrivals ± 20 %"))
    return found, "assumed (no calibration:): top of the eviction band, arrivals ± 20 %"


def member_weight(members: int) -> float:
    """Each uncertainty member's share of an ordinary day's weight, with `members` of them.

    Two members at ±1.96 σ with 1/(2 × 1.96²) ≈ 0.13 each reproduce their group's variance (the
    expected cost is then right to second order: f(0) + σ² f''/2), as long as that leaves the
    baseline at least a member's share; beyond that (more than seven members) all share equally.
    """
    return min(1 / (2 * Z_95**2), 1 / (members + 1))
