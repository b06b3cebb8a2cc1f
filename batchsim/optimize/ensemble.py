"""What a candidate formula is scored on: the scenario alone, or a robust ensemble.

A *member* is one scenario variant with a weight in the expected cost. The plain ensemble is the
scenario itself. The robust ensemble (`optimize --robust`) adds

- parameter uncertainty (`uncertainty`): from the scenario's `calibration:` intervals when it was
  calibrated, for each group of estimates (arrivals, eviction rate, provisioning delays, task
  durations, failures) a member at −1.96 σ and one at +1.96 σ of what the group determines;
  otherwise assumed ranges;
- the named stresses (`batchsim.stress`), which are also the members the tail constraint reads.

Weights: the stresses share `stress_weight` equally (one bad day in five by default); of the rest,
each uncertainty member takes `uncertainty.member_weight` (≈ 0.13: the pair reproduces its group's
variance) and the baseline what is left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from batchsim.measure.runs import resolved_json
from batchsim.optimize.uncertainty import member_weight, perturbations
from batchsim.scenario import Scenario
from batchsim.stress.named import BASELINE, NAMED
from batchsim.stress.transforms import apply, describe
from batchsim.stress_spec import StressSpec

__all__ = ["Member", "plain_ensemble", "robust_ensemble"]


@dataclass(frozen=True)
class Member:
    """One scenario of the ensemble: resolved JSON, weight in the expected cost, role, what it changes;
    an uncertainty member's `sigma` says how far out it is (signed, in σ of `sigma_of`; None: assumed)."""

    name: str
    scenario: Scenario = field(repr=False, compare=False)
    weight: float
    role: str  # "baseline" | "uncertainty" | "stress"
    parameters: dict[str, Any] = field(default_factory=dict, compare=False)
    tail: bool = False
    sigma: float | None = None
    sigma_of: str = ""
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
    found, source = perturbations(scenario) if uncertainty else ([], "none")
    ordinary = 1 - stress_weight if chosen else 1.0
    share = ordinary * member_weight(len(found))
    members = [Member("baseline", scenario, ordinary - share * len(found), "baseline")]
    for p in found:
        variant, parameters = apply(scenario, p.spec)
        members.append(Member(p.spec.name, variant, share, "uncertainty", parameters, sigma=p.sigma, sigma_of=p.what))
    tail_names = set(tail) if tail is not None else {s.name for s in chosen}
    for spec in chosen:
        variant, parameters = apply(scenario, spec)
        members.append(
            Member(spec.name, variant, stress_weight / len(chosen), "stress", parameters, tail=spec.name in tail_names)
        )
    return members, source
