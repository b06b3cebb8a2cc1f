"""What the optimizer minimizes and what "meets the target" means.

Plain: the cost on the scenario, subject to the p95-wait (or deadline-miss) target. Robust: the
expected cost over the ensemble's members (their weights, `ensemble`), subject to the target on
the baseline **and** a tail constraint under every tail stress: p95 wait ≤ k × target (deadline
misses ≤ k × the allowed share). Pareto: cost against baseline p95 wait, tail constraints kept.

Every constraint is a relative violation (≤ 0 is met): 0.1 means 10 % over its limit. Waits of
tasks still queued at the end of a run count as the time they have waited (the engine's censored
waits, `wait_censored`), so a p95 is a lower bound and a pool that leaves its queue waiting never
meets a wait target; a run in which no task completed never meets one at all (its horizon may be
shorter than the target): a pool with no nodes is not a winner at 0 USD.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from batchsim.measure.cells import Measured
from batchsim.measure.stats import interval
from batchsim.optimize.ensemble import Member
from batchsim.optimize.kinds import ObjectiveKind

__all__ = ["UNKNOWN_VIOLATION", "Objective", "ObjectiveKind", "Score", "score"]

# The violation of a wait target by a run that completed nothing: worse than any measured miss,
# finite so that samplers can rank by it.
UNKNOWN_VIOLATION = 1000.0


@dataclass(frozen=True)
class Objective:
    """The target and, for robust searches, the tail factor k."""

    kind: ObjectiveKind = ObjectiveKind.p95_wait
    p95_wait_target_s: float = 600.0
    deadline_miss_target: float = 0.01
    tail_k: float = 3.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ObjectiveKind(self.kind))
        # A violation is a fraction of the target: a target of 0 cannot rank runs.
        if not self.p95_wait_target_s > 0:
            raise ValueError(f"p95_wait_target_s {self.p95_wait_target_s:g}: a wait target is more than 0 seconds")
        if not self.deadline_miss_target > 0:
            raise ValueError(f"deadline_miss_target {self.deadline_miss_target:g}: the allowed share is more than 0")

    def violation(self, measured: Measured, factor: float = 1.0) -> float:
        """How far `measured` is from `factor` × the target (≤ 0: met), as a fraction of that limit."""
        if self.kind is ObjectiveKind.deadline:
            met = measured.mean("deadline_met_fraction")
            missed = 1.0 - (met if math.isfinite(met) else 1.0)  # no deadlines: nothing can be missed
            return missed / (factor * self.deadline_miss_target) - 1.0
        if measured.ran_nothing():
            return UNKNOWN_VIOLATION
        return measured.mean("wait_s_p95") / (factor * self.p95_wait_target_s) - 1.0

    def describe(self, members: Sequence[Member]) -> str:
        """The objective in words, for the report."""
        if self.kind is ObjectiveKind.deadline:
            target = f"deadline misses ≤ {self.deadline_miss_target:.1%}"
            tail = f"misses ≤ {self.tail_k:g} × {self.deadline_miss_target:.1%}"
        else:
            target = f"p95 wait ≤ {self.p95_wait_target_s:.0f} s"
            tail = f"p95 wait ≤ {self.tail_k:g} × {self.p95_wait_target_s:.0f} s"
        unknown = (
            " Tasks still queued at the end count with the time they have waited (a lower bound), so a pool that "
            "leaves its queue waiting never meets a wait target; a run that completes no task never meets one."
        )
        if len(members) == 1:
            if self.kind is ObjectiveKind.pareto:
                return "The cost / p95-wait Pareto front on the scenario." + unknown
            return f"Minimize the cost on the scenario subject to {target}." + unknown
        weights = ", ".join(f"{m.name} {m.weight:.3g}" for m in members)
        tails = [m.name for m in members if m.tail]
        what = (
            "Minimize the expected cost" if self.kind is not ObjectiveKind.pareto else "The expected-cost / p95 front"
        )
        text = f"{what} over the ensemble (weights: {weights}), subject to {target} on the baseline"
        if tails:
            text += f" and {tail} under each of {', '.join(tails)}"
        return text + "." + unknown


@dataclass
class Score:
    """A candidate's objective values and constraints on the seeds it ran."""

    cost_usd: float
    p95_wait_s: float
    constraints: dict[str, float]

    @property
    def feasible(self) -> bool:
        return all(v <= 0 for v in self.constraints.values())

    @property
    def violation(self) -> float:
        return max(self.constraints.values(), default=0.0)

    def penalized(self, scale_usd: float) -> float:
        """The cost plus `scale_usd` per unit of violation: feasible first, then the nearest misses."""
        return self.cost_usd + scale_usd * sum(max(0.0, v) for v in self.constraints.values())


def expected_cost(members: Sequence[Member], measured: Mapping[str, Measured]) -> tuple[float, float]:
    """The weighted cost over members, seed by seed (the members share seeds), and its 95 % interval."""
    per_seed = np.zeros(len(measured[members[0].name].runs))
    for member in members:
        per_seed += member.weight * np.asarray(measured[member.name].values("cost_usd"))
    return interval(per_seed.tolist())


def score(objective: Objective, members: Sequence[Member], measured: Mapping[str, Measured]) -> Score:
    """The objective and constraints of one candidate measured on every member."""
    cost, _ = expected_cost(members, measured)
    baseline = measured[members[0].name]
    constraints = {}
    if objective.kind is not ObjectiveKind.pareto:
        constraints["target"] = objective.violation(baseline)
    for member in members:
        if member.tail:
            constraints[f"tail:{member.name}"] = objective.violation(measured[member.name], objective.tail_k)
    p95 = baseline.mean("wait_s_p95")
    if baseline.ran_nothing():
        p95 = max(p95, float(members[0].scenario.duration))  # nothing started: at least the horizon
    return Score(cost, p95, constraints)
