"""The `pool:` section of a scenario (DESIGN §4 keys, extended), with defaults from batch-behavior.md §7.

Every model constant lives here with its unit in the name and the evidence in batch-behavior.md;
unknown keys are errors (`extra="forbid"`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from batchsim.dist import Constant, Distribution, DurationS, LogNormal

__all__ = [
    "AutoscaleConfig",
    "ContainerConfig",
    "MetricsConfig",
    "PoolConfig",
    "ProvisioningDelay",
    "QuotaConfig",
    "SpotConfig",
    "StartTaskConfig",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _zero() -> Constant:
    return Constant(dist="constant", value=0.0)


# Evidence: batch-behavior §2.4.
class ProvisioningDelay(_Model):
    """How long a new node takes from allocation to idle (before its start task), per node kind.

    One distribution per kind; the last `boot_billed_s` of each delay is billed (the VM exists and
    boots), the time before it is the unbilled wait for a VM.
    """

    dedicated: Distribution = Field(default_factory=lambda: LogNormal(dist="lognormal", median=360.0, sigma=0.35))
    spot: Distribution = Field(default_factory=lambda: LogNormal(dist="lognormal", median=420.0, sigma=0.5))
    boot_billed_s: DurationS = 90.0


# Evidence: batch-behavior §3.4.
class SpotConfig(_Model):
    """Spot nodes: how often a running one is evicted, and when Spot capacity runs short."""

    eviction_rate_per_hour: float = Field(default=0.05, ge=0)
    reclaim_events_per_hour: float = Field(default=0.0, ge=0)
    reclaim_fraction_alpha: float = Field(default=2.0, gt=0)  # Beta(2, 5): mean ≈ 0.29
    reclaim_fraction_beta: float = Field(default=5.0, gt=0)
    available_mean: DurationS | None = None  # None: capacity always available
    shortage_mean: DurationS | None = None
    restore_wait: Distribution = Field(default_factory=lambda: _exp(600.0))
    restore_give_up: DurationS = 48 * 3600.0
    preempted_count_reported: bool = True  # $PreemptedNodeCount reportedly returns 0 on some pools

    @model_validator(mode="after")
    def _shortage_pair(self) -> SpotConfig:
        if (self.available_mean is None) != (self.shortage_mean is None):
            raise ValueError("spot.available_mean and spot.shortage_mean go together")
        return self


def _exp(mean_s: float) -> Distribution:
    from batchsim.dist import Exponential

    return Exponential(dist="exponential", mean=mean_s)


# Evidence: formula reference §7, batch-behavior §1.3–1.4.
class AutoscaleConfig(_Model):
    """The autoscale formula (inline or from a file) and how often the service evaluates it (5m to 168h)."""

    formula: str | None = None
    formula_file: str | None = None
    interval: DurationS = 900.0
    first_evaluation: Literal["on_enable", "after_interval"] = "on_enable"
    resize_timeout: DurationS = 900.0
    strict: bool = False

    @model_validator(mode="after")
    def _one_formula(self) -> AutoscaleConfig:
        if (self.formula is None) == (self.formula_file is None):
            raise ValueError("give exactly one of autoscale.formula and autoscale.formula_file")
        if not 300 <= self.interval <= 168 * 3600:
            raise ValueError(f"autoscale.interval must be between 5m and 168h, got {self.interval:g}s")
        return self


# Evidence: batch-behavior §2.2.
class StartTaskConfig(_Model):
    """The pool's start task: how long it runs on each new node and how often it fails."""

    duration: Distribution = Field(default_factory=_zero)
    failure_probability: float = Field(default=0.0, ge=0, le=1)
    max_retry_count: int = Field(default=0, ge=0)
    wait_for_success: bool = True


# Evidence: batch-behavior §6.4.
class QuotaConfig(_Model):
    """The Batch account's core quotas, which cap how many nodes can be allocated; absent: unlimited."""

    dedicated_cores: int | None = Field(default=None, ge=0)
    spot_cores: int | None = Field(default=None, ge=0)


# Evidence: formula reference §6.5, batch-behavior §5.
class MetricsConfig(_Model):
    """How the service samples the metrics a formula reads: every `sample_interval`, `sample_lag` late."""

    sample_interval: DurationS = 30.0
    sample_lag: DurationS = 0.0
    sample_drop_probability: float = Field(default=0.0, ge=0, le=1)


class ContainerConfig(_Model):
    """Container image pulls: the first task with an image on a node pulls it first."""

    image_pull: Distribution = Field(default_factory=lambda: Constant(dist="constant", value=60.0))


class PoolConfig(_Model):
    """The Batch pool: VM size, region, task slots, starting nodes, Spot behaviour and autoscale."""

    vm_size: str = "Standard_D2s_v3"
    region: str = "eastus"
    os: Literal["linux", "windows"] = "linux"
    vcpus_per_node: int | None = Field(default=None, ge=1)
    task_slots_per_node: int = Field(default=1, ge=1, le=256)
    node_fill_type: Literal["spread", "pack"] = "spread"
    initial_dedicated: int = Field(default=0, ge=0)
    initial_spot: int = Field(default=0, ge=0)
    provisioning_delay: ProvisioningDelay = Field(default_factory=ProvisioningDelay)
    start_task: StartTaskConfig = Field(default_factory=StartTaskConfig)
    spot: SpotConfig = Field(default_factory=SpotConfig)
    autoscale: AutoscaleConfig | None = None
    node_deallocation_option: Literal["requeue", "terminate", "taskcompletion", "retaineddata"] = "requeue"
    resize_timeout: DurationS = 900.0
    removal_delay: DurationS = 30.0
    retention: DurationS = 7 * 86400.0
    quota: QuotaConfig = Field(default_factory=QuotaConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    container: ContainerConfig = Field(default_factory=ContainerConfig)
    storage_bandwidth_bytes_per_s: float = Field(default=100e6, gt=0)
    scheduler_latency: DurationS = 0.0

    @field_validator("resize_timeout")
    @classmethod
    def _resize_timeout_minimum(cls, value: float) -> float:
        if value < 300:
            raise ValueError(f"resize_timeout must be at least 5m, got {value:g}s")
        return value
