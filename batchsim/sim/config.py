"""The `pool:` section of a scenario (DESIGN §4 keys, extended), with defaults from batch-behavior.md §7.

Every model constant lives here with its unit in the name and the evidence in batch-behavior.md;
unknown keys are errors (`extra="forbid"`).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from batchsim.dist import Constant, Distribution, DurationS, LogNormal

__all__ = [
    "AutoscaleConfig",
    "CapacityConfig",
    "ContainerConfig",
    "DedicatedConfig",
    "MassEviction",
    "MetricsConfig",
    "NodeFaultConfig",
    "Outage",
    "PoolConfig",
    "ProvisioningDelay",
    "QuotaConfig",
    "ResizeWait",
    "SpotConfig",
    "StartTaskConfig",
    "vcpus_of",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _zero() -> Constant:
    return Constant(dist="constant", value=0.0)


def _lognormal(median_s: float, sigma: float) -> Distribution:
    return LogNormal(dist="lognormal", median=median_s, sigma=sigma)


# Evidence: batch-behavior §2.4 (`T_wait`).
class ResizeWait(_Model):
    """The wait a whole resize shares before any of its nodes starts creating, by node kind."""

    dedicated: Distribution = Field(default_factory=lambda: _lognormal(240.0, 0.4))
    spot: Distribution = Field(default_factory=lambda: _lognormal(288.0, 0.5))  # T_wait × 1.2, σ 0.5


# Evidence: batch-behavior §2.4; with `resize_wait`, its four-part model (per node: T_spread + T_boot).
class ProvisioningDelay(_Model):
    """How long a new node takes from allocation to idle (before its start task), per node kind.

    The last `boot_billed_s` of each delay is billed (the VM exists and boots), the time before it
    is the unbilled wait for a VM. With `resize_wait`, each resize first waits one shared draw,
    then each of its nodes its own delay.
    """

    dedicated: Distribution = Field(default_factory=lambda: _lognormal(360.0, 0.35))
    spot: Distribution = Field(default_factory=lambda: _lognormal(420.0, 0.5))
    boot_billed_s: DurationS = 90.0
    resize_wait: ResizeWait | None = None


def _four_part_delays() -> ProvisioningDelay:
    """The default without a `provisioning_delay:` key: §2.4's model, one wait per resize (median 4 min,
    Spot 4.8 min) then per node `T_spread + T_boot` (exponential 30 s plus lognormal 90 s σ 0.4, here
    as one lognormal of median 119 s, σ 0.4): in all, median ≈ 6 min and p95 ≈ 10 min, as observed."""
    per_node = _lognormal(119.0, 0.4)
    return ProvisioningDelay(dedicated=per_node, spot=per_node, resize_wait=ResizeWait())


class Outage(_Model):
    """A window with no capacity for a kind of node: `start` after the simulation starts, for `duration`."""

    start: DurationS = Field(ge=0)
    duration: DurationS = Field(gt=0)


# Evidence: batch-behavior §1.1, §3.4 (model 3).
class CapacityConfig(_Model):
    """Whether the region has nodes of a kind to give; shortages are off by default.

    During a shortage (random: alternating exponential `available_mean`/`shortage_mean` periods;
    scheduled: `outages`) allocations wait, and give up after `pool.resize_timeout` with
    `AllocationTimedout`. `allocation_failure_probability`: each node of a resize fails to allocate
    (`AllocationFailed`), and autoscale asks again at its next evaluation.
    """

    available_mean: DurationS | None = None  # None: capacity always available
    shortage_mean: DurationS | None = None
    outages: list[Outage] = Field(default_factory=list)
    allocation_failure_probability: float = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _shortage_pair(self) -> CapacityConfig:
        if (self.available_mean is None) != (self.shortage_mean is None):
            raise ValueError("available_mean and shortage_mean go together")
        return self


class DedicatedConfig(CapacityConfig):
    """Dedicated capacity: shortages, outages and allocation failures (all off by default)."""


class MassEviction(_Model):
    """At `at` after the simulation starts, `fraction` of the live Spot nodes are evicted at once."""

    at: DurationS = Field(ge=0)
    fraction: float = Field(gt=0, le=1)


# Evidence: batch-behavior §3.4.
class SpotConfig(CapacityConfig):
    """Spot nodes: how often a running one is evicted, and when Spot capacity runs short (no restores then)."""

    eviction_rate_per_hour: float = Field(default=0.05, ge=0)
    reclaim_events_per_hour: float = Field(default=0.0, ge=0)
    reclaim_fraction_alpha: float = Field(default=2.0, gt=0)  # Beta(2, 5): mean ≈ 0.29
    reclaim_fraction_beta: float = Field(default=5.0, gt=0)
    mass_evictions: list[MassEviction] = Field(default_factory=list)
    restore_wait: Distribution = Field(default_factory=lambda: _exp(600.0))
    restore_give_up: DurationS = 48 * 3600.0
    preempted_count_reported: bool = True  # $PreemptedNodeCount reportedly returns 0 on some pools


# Evidence: batch-behavior §2.1 (fault-only states), §4.2 (recovery); the rates are assumptions.
class NodeFaultConfig(_Model):
    """Nodes that fail while usable; off by default.

    Rates are per hour of a usable (idle or running) node. A node that becomes `unusable` or
    reboots has its running tasks requeued (a recovery: counted neither as a retry nor as a
    requeue). An unusable node stays so, billed, until a shrink removes it, or for `unusable_recovery`
    when given; a rebooting node runs the start task again after `reboot_duration`.
    """

    unusable_rate_per_hour: float = Field(default=0.0, ge=0)
    unusable_recovery: Distribution | None = None
    reboot_rate_per_hour: float = Field(default=0.0, ge=0)
    reboot_duration: Distribution = Field(default_factory=lambda: Constant(dist="constant", value=120.0))


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
    strict: bool = False
    # Each metric sample is missing with this probability, as when the service loses it (§5): the
    # formula sees fewer samples. A stress hook, on its own random stream.
    sample_loss_fraction: float = Field(default=0.0, ge=0, le=1)

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


# Evidence: batch-behavior §6.4; REST Batch Account `dedicatedCoreQuotaPerVMFamily`,
# `dedicatedCoreQuotaPerVMFamilyEnforced` (learn.microsoft.com/rest/api/batchmanagement/batch-account/get).
class QuotaConfig(_Model):
    """The Batch account's core quotas, which cap how many nodes can be allocated; absent: unlimited.

    dedicated_cores_per_family: dedicated cores per VM family (`dedicatedCoreQuotaPerVMFamily`, by
    family name, case-insensitive; a family not listed has none); they bind only with `per_family_enforced`
    (`dedicatedCoreQuotaPerVMFamilyEnforced`), and then together with `dedicated_cores`. A family
    not listed holds no dedicated cores, as on the service. Spot cores have one quota for every family (`spot_cores`).
    """

    dedicated_cores: int | None = Field(default=None, ge=0)
    spot_cores: int | None = Field(default=None, ge=0)
    dedicated_cores_per_family: dict[str, int] = Field(default_factory=dict)
    per_family_enforced: bool = False

    @field_validator("dedicated_cores_per_family")
    @classmethod
    def _non_negative(cls, value: dict[str, int]) -> dict[str, int]:
        negative = sorted(name for name, cores in value.items() if cores < 0)
        if negative:
            raise ValueError(f"a family's core quota cannot be negative: {', '.join(negative)}")
        return value

    def family_cores(self, family: str | None) -> int | None:
        """The enforced dedicated core quota of `family`, None when no family quota binds it."""
        if not self.per_family_enforced or family is None:
            return None
        wanted = family.lower()
        for name, cores in self.dedicated_cores_per_family.items():
            if name.lower() == wanted:
                return cores
        # The service lists every family (0 where the account has none): a family the list lacks has none.
        return 0


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
    # The VM size's quota family (`standardDSv3Family`); the pipeline fills it from the VM catalog
    # when absent, for `quota.dedicated_cores_per_family`.
    vm_family: str | None = None
    task_slots_per_node: int = Field(default=1, ge=1, le=256)
    node_fill_type: Literal["spread", "pack"] = "spread"
    # `enableInterNodeCommunication`: needed by multi-instance tasks; such a pool holds at most
    # 100 nodes (batch-behavior §4.4), beyond which a resize records CommunicationEnabledPoolReachedMaxVMCount.
    inter_node_communication: bool = False
    # Among active jobs of equal priority: `none` spreads the pool evenly (round robin), `creationtime`
    # serves older jobs first (the pool's jobDefaultOrder, batch-behavior §4.1).
    job_default_order: Literal["none", "creationtime"] = "none"
    initial_dedicated: int = Field(default=0, ge=0)
    initial_spot: int = Field(default=0, ge=0)
    provisioning_delay: ProvisioningDelay = Field(default_factory=_four_part_delays)
    start_task: StartTaskConfig = Field(default_factory=StartTaskConfig)
    dedicated: DedicatedConfig = Field(default_factory=DedicatedConfig)
    spot: SpotConfig = Field(default_factory=SpotConfig)
    node_faults: NodeFaultConfig = Field(default_factory=NodeFaultConfig)
    autoscale: AutoscaleConfig | None = None
    node_deallocation_option: Literal["requeue", "terminate", "taskcompletion", "retaineddata"] = "requeue"
    # The pool's `resizeTimeout` (REST; what `batchsim pool pull` reads): every resize, autoscale's too,
    # gives up an allocation that finds no capacity after it (batch-behavior §1.2, §1.4 step 4, §8.1).
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


def vcpus_of(pool: PoolConfig) -> int:
    """vCPUs per node as the engine knows them: explicit (`pool.vcpus_per_node`, which the pipeline
    fills from the VM catalog, `batchsim.cost.catalog.vcpus_of`), else read from the size name.

    The name gives the vCPUs by Azure's naming convention: the number after the family letters
    (`Standard_D4s_v5` → 4), or for a constrained-vCPU size the number after its dash
    (`Standard_E8-4s_v5` → 4: the memory of an E8, 4 vCPUs active); else 1.
    """
    if pool.vcpus_per_node:
        return pool.vcpus_per_node
    match = re.search(r"_[A-Z]+(\d+)(?:-(\d+))?", pool.vm_size)
    if match is None:
        return 1
    return int(match.group(2) or match.group(1))
