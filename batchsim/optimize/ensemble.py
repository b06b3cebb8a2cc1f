"""What a candidate formula is scored on: the scenario alone, or a robust ensemble.

A *member* is one scenario variant with a weight in the expected cost. The plain ensemble is the
scenario itself. The robust ensemble (`optimize --robust`) adds

- parameter uncertainty: from the scenario's `calibration:` intervals when it was calibrated (for
  each group of estimates — arrivals, eviction rate, provisioning delays, task durations, failures —
  a member with all of them at the low end and one with all at the high end), otherwise the top of the Spot
  eviction rate's published 5-point band and the arrival rate ± 20 % (our assumption: a planner
  rarely knows next month's load better than that);
- the named stresses (`batchsim.stress`), which are also the members the tail constraint reads.

Weights: the baseline and the uncertainty members share 1 − `stress_weight` equally (equally
likely versions of an ordinary day), the stresses share `stress_weight` equally (one bad day in
five by default).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from batchsim.optimize.runs import resolved_json
from batchsim.scenario import Scenario, ScenarioError
from batchsim.stress.named import BASELINE, NAMED
from batchsim.stress.spec import ArrivalRate, EvictionRate, StressSpec
from batchsim.stress.transforms import apply, describe

__all__ = ["DEFAULT_ARRIVAL_UNCERTAINTY", "EVICTION_BAND_PER_HOUR", "Member", "plain_ensemble", "robust_ensemble"]

DEFAULT_ARRIVAL_UNCERTAINTY = 0.2
EVICTION_BAND_PER_HOUR = 0.05  # Azure publishes Spot eviction rates in 5-point bands (batch-behavior §3.3)


@dataclass(frozen=True)
class Member:
    """One scenario of the ensemble: resolved JSON, weight in the expected cost, role, what it changes."""

    name: str
    scenario: Scenario = field(repr=False, compare=False)
    weight: float
    role: str  # "baseline" | "uncertainty" | "stress"
    parameters: dict[str, Any] = field(default_factory=dict, compare=False)
    tail: bool = False
    text: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", resolved_json(self.scenario))

    def shortened(self, fraction: float) -> str:
        """The member's scenario JSON over the first `fraction` of its horizon (a low-fidelity run)."""
        if fraction >= 1:
            return self.text
        return resolved_json(self.scenario.model_copy(update={"duration": self.scenario.duration * fraction}))

    def describe(self) -> str:
        return describe(self.parameters)


def plain_ensemble(scenario: Scenario) -> list[Member]:
    """The scenario alone."""
    return [Member("baseline", scenario, 1.0, "baseline")]


# How calibrated keys are grouped into members: every key of a group at its low end, then at its high
# end (sixty hourly rates are one uncertainty about the arrivals, not sixty members).
_GROUPS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("arrivals", lambda key: key.startswith("workload.") and ("rate_per_hour" in key or "rates_per_hour" in key)),
    ("eviction-rate", lambda key: key == "pool.spot.eviction_rate_per_hour"),
    ("provisioning", lambda key: key.startswith("pool.provisioning_delay.")),
    ("task-durations", lambda key: key.startswith("workload.") and ".task_duration." in key),
    ("failures", lambda key: key.endswith("failure_probability")),
    ("other", lambda key: True),
)


def _intervals(scenario: Scenario) -> dict[str, tuple[float, float, float]]:
    """Calibrated keys with a usable interval: key → (low, estimate, high)."""
    found = {}
    for key, estimate in (getattr(scenario, "calibration", None) or {}).items():
        low, high, value = (getattr(estimate, name, None) for name in ("low", "high", "estimate"))
        if low is None or high is None or value is None or getattr(estimate, "n", 0) == 0:
            continue
        if math.isfinite(low) and math.isfinite(high) and low < high:
            found[key] = (float(low), float(value), float(high))
    # A diurnal entry's hourly rates say more than its overall rate: keep only the hourly ones.
    hourly = {key.split(".")[1] for key in found if ".hourly_rates_per_hour." in key}
    return {k: v for k, v in found.items() if not (k.endswith(".rate_per_hour") and k.split(".")[1] in hourly)}


def _settable(scenario: Scenario, key: str, bound: float, estimate: float) -> dict[str, Any] | None:
    """The scenario keys that put `key` at `bound`, or None when the scenario has no such key (a
    statistic of a replayed trace, say); an overall rate a workload entry cannot take becomes an
    arrival factor on that entry."""
    changes: dict[str, Any] = {key: bound}
    parts = key.split(".")
    if parts[0] == "workload" and parts[-1] == "rate_per_hour" and len(parts) == 3 and estimate > 0:
        index = int(parts[1]) if parts[1].isdigit() else len(scenario.workload)
        entry = scenario.workload[index] if index < len(scenario.workload) else None
        if entry is not None and getattr(entry, "rate_per_hour", None) is None:
            window = {"start": 0.0, "duration": scenario.duration, "factor": bound / estimate}
            changes = {f"workload.{index}.rate_factors": [*entry.rate_factors, window]}
    try:
        apply(scenario, StressSpec(name=key, set=changes))
    except (ScenarioError, ValueError, IndexError):
        return None
    return changes


def _uncertainty_specs(scenario: Scenario) -> tuple[list[StressSpec], str]:
    """The uncertainty members' transformations, and where they came from."""
    intervals = _intervals(scenario)
    grouped: dict[str, list[str]] = {}
    for key in intervals:
        name = next(group for group, belongs in _GROUPS if belongs(key))
        grouped.setdefault(name, []).append(key)
    specs = []
    for name, keys in grouped.items():
        for end in ("low", "high"):
            changes: dict[str, Any] = {}
            for key in keys:
                low, estimate, high = intervals[key]
                found = _settable(scenario, key, low if end == "low" else high, estimate)
                if found is not None:
                    changes.update(found)
            if changes:
                specs.append(StressSpec(name=f"{name}-{end}", set=changes))
    if specs:
        return specs, f"calibration: intervals of {len(intervals)} estimates, grouped as {', '.join(grouped)}"
    rate = scenario.pool.spot.eviction_rate_per_hour
    band_top = (math.floor(rate / EVICTION_BAND_PER_HOUR + 1e-9) + 1) * EVICTION_BAND_PER_HOUR
    specs = [StressSpec(name="eviction-band-top", eviction_rate=EvictionRate(rate_per_hour=round(band_top, 6)))]
    for factor in (1 - DEFAULT_ARRIVAL_UNCERTAINTY, 1 + DEFAULT_ARRIVAL_UNCERTAINTY):
        specs.append(StressSpec(name=f"arrivals-x{factor:g}", arrival_rate=ArrivalRate(factor=factor)))
    return specs, "assumed (no calibration:): top of the eviction band, arrivals ± 20 %"


def robust_ensemble(
    scenario: Scenario,
    *,
    stresses: list[StressSpec] | None = None,
    tail: list[str] | None = None,
    stress_weight: float = 0.2,
    uncertainty: bool = True,
) -> tuple[list[Member], str]:
    """Baseline, uncertainty members and stresses (default: the named ones), and a line saying where the
    uncertainty came from. `tail`: the stresses the tail constraint reads (default: all of them)."""
    chosen = [s for s in (stresses if stresses is not None else list(NAMED)) if s.name != BASELINE.name]
    specs, source = _uncertainty_specs(scenario) if uncertainty else ([], "none")
    ordinary = 1 + len(specs)
    share = (1 - stress_weight) / ordinary if chosen else 1 / ordinary
    members = [Member("baseline", scenario, share, "baseline")]
    for spec in specs:
        variant, parameters = apply(scenario, spec)
        members.append(Member(spec.name, variant, share, "uncertainty", parameters))
    tail_names = set(tail) if tail is not None else {s.name for s in chosen}
    for spec in chosen:
        variant, parameters = apply(scenario, spec)
        members.append(
            Member(spec.name, variant, stress_weight / len(chosen), "stress", parameters, tail=spec.name in tail_names)
        )
    return members, source
