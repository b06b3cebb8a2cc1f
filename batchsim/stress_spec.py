"""What a stress is: a named set of scenario transformations with their parameters.

The named stresses of `batchsim stress` (DESIGN §8) and the user's own, in a scenario file's
`stresses:` list, are built from the same transformations:

```yaml
stresses:
  - name: long-drought
    spot_drought: {duration: 6h}              # start: the busiest hour unless given
  - name: bad-monday
    burst: {start: 8h, duration: 2h, factor: 2}
    slow_provisioning: {factor: 2}
    set: {pool.spot.eviction_rate_per_hour: 0.2}
```

Times are from the start of the simulation; `busiest` (the default) is the start of the busiest
hour of the workload's arrival profile (`transforms.busiest_hour_s`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from batchsim.dist import DurationS

__all__ = [
    "ArrivalRate",
    "Burst",
    "DedicatedOutage",
    "EvictionRate",
    "MassEviction",
    "SampleLoss",
    "SlowProvisioning",
    "SpotDrought",
    "StressSpec",
]

Start = DurationS | Literal["busiest"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SpotDrought(_Model):
    """No Spot allocation succeeds and no preempted Spot node is restored, for `duration` from `start`."""

    start: Start = "busiest"
    duration: DurationS = Field(default=7200.0, gt=0)


class DedicatedOutage(_Model):
    """No dedicated allocation succeeds, for `duration` from `start`."""

    start: Start = "busiest"
    duration: DurationS = Field(default=7200.0, gt=0)


class MassEviction(_Model):
    """`fraction` of the live Spot nodes evicted at once, at `at` (default: the middle of the busiest hour)."""

    at: Start = "busiest"
    fraction: float = Field(default=0.5, gt=0, le=1)


class Burst(_Model):
    """Every workload entry's arrivals × `factor` for `duration` from `start`."""

    start: Start = "busiest"
    duration: DurationS = Field(default=3600.0, gt=0)
    factor: float = Field(default=3.0, ge=0)


class SlowProvisioning(_Model):
    """Every provisioning delay (dedicated, Spot, the billed boot) × `factor`."""

    factor: float = Field(default=3.0, gt=0)


class SampleLoss(_Model):
    """Each autoscale metric sample missing with probability `fraction`."""

    fraction: float = Field(default=0.3, ge=0, le=1)


class EvictionRate(_Model):
    """The Spot eviction rate × `factor`, or set to `rate_per_hour`."""

    factor: float | None = Field(default=None, ge=0)
    rate_per_hour: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one(self) -> EvictionRate:
        if (self.factor is None) == (self.rate_per_hour is None):
            raise ValueError("give exactly one of eviction_rate.factor and eviction_rate.rate_per_hour")
        return self


class ArrivalRate(_Model):
    """Every workload entry's arrivals × `factor` over the whole horizon."""

    factor: float = Field(ge=0)


class StressSpec(_Model):
    """A named stress: one or more transformations, applied in the order of the fields below."""

    name: str = Field(min_length=1)
    description: str | None = None
    spot_drought: SpotDrought | None = None
    dedicated_outage: DedicatedOutage | None = None
    mass_eviction: MassEviction | None = None
    burst: Burst | None = None
    slow_provisioning: SlowProvisioning | None = None
    sample_loss: SampleLoss | None = None
    eviction_rate: EvictionRate | None = None
    arrival_rate: ArrivalRate | None = None
    set: dict[str, Any] = Field(default_factory=dict)  # any scenario key (dotted) → its value

    def transformations(self) -> list[tuple[str, BaseModel]]:
        """The transformations this stress applies, in order, by field name."""
        pairs: list[tuple[str, BaseModel | None]] = [
            ("spot_drought", self.spot_drought),
            ("dedicated_outage", self.dedicated_outage),
            ("mass_eviction", self.mass_eviction),
            ("burst", self.burst),
            ("slow_provisioning", self.slow_provisioning),
            ("sample_loss", self.sample_loss),
            ("eviction_rate", self.eviction_rate),
            ("arrival_rate", self.arrival_rate),
        ]
        return [(name, t) for name, t in pairs if t is not None]
