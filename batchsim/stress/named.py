"""The named stresses of `batchsim stress` (DESIGN §8), and finding stresses by name.

| name | what happens |
|---|---|
| baseline | the scenario as it is |
| spot-drought | no Spot allocation or restore for 2 h from the busiest hour |
| mass-eviction | half of the live Spot nodes evicted at once, in the middle of the busiest hour |
| burst | 3 × the arrivals for the busiest hour |
| slow-provisioning | 3 × every provisioning delay |
| sample-loss | 30 % of the autoscale metric samples missing |
"""

from __future__ import annotations

from batchsim.scenario import Scenario
from batchsim.stress_spec import Burst, MassEviction, SampleLoss, SlowProvisioning, SpotDrought, StressSpec

__all__ = ["BASELINE", "NAMED", "available", "find"]

BASELINE = StressSpec(name="baseline", description="the scenario as it is")

NAMED: tuple[StressSpec, ...] = (
    BASELINE,
    StressSpec(name="spot-drought", description="no Spot capacity for 2 h", spot_drought=SpotDrought()),
    StressSpec(name="mass-eviction", description="half the Spot nodes evicted at once", mass_eviction=MassEviction()),
    StressSpec(name="burst", description="3× arrivals for an hour", burst=Burst()),
    StressSpec(name="slow-provisioning", description="3× provisioning delays", slow_provisioning=SlowProvisioning()),
    StressSpec(name="sample-loss", description="30 % of metric samples missing", sample_loss=SampleLoss()),
)


def available(scenario: Scenario) -> list[StressSpec]:
    """The named stresses, then the scenario's own `stresses:` (which may replace a named one)."""
    own = list(scenario.stresses)
    names = {s.name for s in own}
    return [s for s in NAMED if s.name not in names or s.name == "baseline"] + [s for s in own if s.name != "baseline"]


def find(scenario: Scenario, names: list[str]) -> list[StressSpec]:
    """The stresses called `names` (baseline always first); `KeyError` names an unknown one and the choices."""
    by_name = {s.name: s for s in available(scenario)}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise KeyError(f"no stress {unknown[0]!r}; choose from {', '.join(by_name)}")
    chosen = [BASELINE]
    for name in names:
        if all(s.name != name for s in chosen):
            chosen.append(by_name[name])
    return chosen
