"""The VM sizes a plan may choose: what fits on a node, how fast a core is, the price and the quota.

Slots per node are bounded by the service's limits (at most 256 and at most 4 × vCPUs, batch-behavior
§4.1) and by what one task needs (`workload[].resources`): a node holds no more tasks than its vCPUs,
memory and GPUs allow. A workload entry without `resources` is taken to need what it has on the
scenario's own pool: that pool's vCPUs × required slots ÷ its slots per node (the scenario's own
packing, so a size twice as large holds twice the tasks).

A task's duration is given on the scenario's size; on another it scales by per-core speed, the
inverse ratio of the two sizes' speeds: `pool.speed` when it names the size, else the catalog's ACU
per vCPU (Microsoft's ACU page, dated in the catalog). Two sizes of one family have one speed.

Quotas (batch-behavior §6.4): with `per_family_enforced`, a size holds at most its family's dedicated
cores (no entry: 0, as the service reads a missing family), and never more than `dedicated_cores`.
A size whose quota is below one node is excluded, with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from batchsim.cost.catalog import CatalogError, find, lookup
from batchsim.cost.prices import Prices
from batchsim.scenario import Scenario
from batchsim.sim.config import vcpus_of
from batchsim.workload.generators import Trace

__all__ = ["MAX_SLOTS_PER_NODE", "SLOTS_PER_VCPU", "Excluded", "Size", "plan_sizes"]

MAX_SLOTS_PER_NODE = 256  # taskSlotsPerNode maximum (batch-behavior §4.1)
SLOTS_PER_VCPU = 4  # and at most 4 × the size's vCPUs


@dataclass(frozen=True)
class Size:
    """A VM size a plan may use, with everything the search and the planned scenario need."""

    vm_size: str
    family: str
    vcpus: int
    memory_gib: float
    gpus: int
    prices: Prices
    speed: float | None  # per-core speed on the ACU scale (None: same family as the scenario's size)
    duration_factor: float  # a task's duration here ÷ its duration on the scenario's size
    slots_max: int
    slots_bound_by: str  # what bounds the slots: "vCPUs", "memory", "GPUs", "service limit", "multi-instance tasks"
    slot_choices: tuple[int, ...]
    quota_cores: int | None  # the dedicated cores a pool of this size may hold (None: unlimited)
    max_dedicated_nodes: int | None
    max_spot_nodes: int | None


@dataclass(frozen=True)
class Excluded:
    """A size the plan leaves out, and why."""

    vm_size: str
    reason: str


def _speed(scenario: Scenario, vm_size: str, row: dict[str, object]) -> float | None:
    given = scenario.pool.speed.get(vm_size)
    if given is not None:
        return float(given)
    acu = row.get("acu")
    return float(acu) if isinstance(acu, (int, float)) else None


def _family_cores(scenario: Scenario, family: str) -> int | None:
    """The dedicated cores a size of `family` may hold: the engine's rule (`QuotaConfig.family_cores`,
    the lower of the family's enforced quota and the account's total), so a plan and its runs agree."""
    quota = scenario.pool.quota
    cores = quota.dedicated_cores
    family_cores = quota.family_cores(family)  # 0 for a family the list lacks
    if family_cores is not None:
        cores = family_cores if cores is None else min(cores, family_cores)
    return cores


def _task_needs(scenario: Scenario) -> list[tuple[str, int, float, float | None, float | None]]:
    """Per workload entry: its name, required slots, and the vCPUs, memory and GPUs one task needs."""
    own_vcpus, own_slots = vcpus_of(scenario.pool), scenario.pool.task_slots_per_node
    needs = []
    for index, entry in enumerate(scenario.workload):
        slots = entry.max_required_slots if isinstance(entry, Trace) else entry.required_slots
        resources = entry.resources
        vcpus = resources.vcpus if resources is not None and resources.vcpus is not None else None
        if vcpus is None:
            vcpus = own_vcpus * slots / own_slots
        memory = resources.memory_gib if resources is not None else None
        gpus = resources.gpus if resources is not None else None
        needs.append((f"workload.{index}", slots, vcpus, memory, gpus))
    return needs


def _fits(have: float, need: float | None) -> int | None:
    """Tasks of `need` that fit in `have` (None: unbounded)."""
    if need is None or need == 0:
        return None
    return math.floor(have / need + 1e-9)


def _slot_bound(scenario: Scenario, row: dict[str, object], vm_size: str) -> tuple[int, str] | str:
    """The most slots per node that the tasks' needs and the service allow, and what bounds it; or why none."""
    vcpus, memory, gpus = int(row["vcpus"]), float(row["memory_gib"]), int(row["gpus"])  # type: ignore[call-overload,arg-type]
    best, by = min(MAX_SLOTS_PER_NODE, SLOTS_PER_VCPU * vcpus), "service limit"
    for name, slots, need_vcpus, need_memory, need_gpus in _task_needs(scenario):
        for what, have, need in (
            ("vCPUs", vcpus, need_vcpus),
            ("memory", memory, need_memory),
            ("GPUs", gpus, need_gpus),
        ):
            fit = _fits(have, need)
            if fit is None:
                continue
            if fit == 0:
                unit = " GiB" if what == "memory" else f" {what}"
                return f"a task of {name} needs {need:g}{unit}; a {vm_size} node has {have:g}{unit}"
            if slots * fit < best:
                best, by = slots * fit, what
        if slots > best:
            return f"a task of {name} needs {slots} slots; a {vm_size} node may have at most {best}"
    return best, by


def _choices(slots_max: int, least: int, asked: Sequence[int] | None, own: int | None) -> tuple[int, ...]:
    if asked is not None:
        return tuple(sorted({n for n in asked if least <= n <= slots_max}))
    found = {slots_max} | {2**k for k in range(9) if least <= 2**k <= slots_max}
    if own is not None and least <= own <= slots_max:
        found.add(own)
    return tuple(sorted(found))


def plan_sizes(
    scenario: Scenario, sizes: Sequence[str], slots: Sequence[int] | None = None
) -> tuple[list[Size], list[Excluded]]:
    """The sizes the plan may use (in the order given) and those it leaves out with the reason.

    `slots`: the slot settings to try (None: `auto`, powers of two up to each size's bound and the bound).
    """
    pool = scenario.pool
    own_row = _row_or_none(pool.vm_size, pool.region, pool.os)
    own_speed = _speed(scenario, pool.vm_size, own_row) if own_row else pool.speed.get(pool.vm_size)
    own_family = str(own_row["family"]) if own_row else None
    least = max((need[1] for need in _task_needs(scenario)), default=1)
    has_trace = any(isinstance(entry, Trace) for entry in scenario.workload)
    multi_instance = any(getattr(entry, "number_of_instances", 1) > 1 for entry in scenario.workload)
    found: list[Size] = []
    excluded: list[Excluded] = []
    for vm_size in dict.fromkeys(sizes):
        try:
            row = find(vm_size, pool.region, pool.os)
            prices = (
                scenario.prices
                if vm_size == pool.vm_size and scenario.prices
                else lookup(vm_size, pool.region, pool.os)
            )
        except CatalogError as exc:
            excluded.append(Excluded(vm_size, str(exc)))
            continue
        family, vcpus = str(row["family"]), int(row["vcpus"])
        speed = _speed(scenario, vm_size, row)
        same_speed = family == own_family and vm_size not in pool.speed and pool.vm_size not in pool.speed
        if same_speed:
            factor = 1.0
        elif speed is None or own_speed is None:
            missing = vm_size if speed is None else pool.vm_size
            excluded.append(
                Excluded(
                    vm_size,
                    f"no per-core speed for {missing}: the catalog's ACU page gives none for its series; "
                    f"give pool.speed.{missing}",
                )
            )
            continue
        else:
            factor = own_speed / speed
        if has_trace and not math.isclose(factor, 1.0):
            excluded.append(Excluded(vm_size, "a trace's task durations cannot be rescaled to another per-core speed"))
            continue
        bound = _slot_bound(scenario, row, vm_size)
        if isinstance(bound, str):
            excluded.append(Excluded(vm_size, bound))
            continue
        slots_max, bound_by = bound
        if multi_instance:  # the service runs a multi-instance task only on a pool of one slot per node
            slots_max, bound_by = 1, "multi-instance tasks"
        choices = _choices(slots_max, least, slots, pool.task_slots_per_node if vm_size == pool.vm_size else None)
        if not choices:
            excluded.append(
                Excluded(vm_size, f"none of the slot settings {list(slots or [])} is within {least}..{slots_max}")
            )
            continue
        cores = _family_cores(scenario, family)
        if cores is not None and cores < vcpus:
            excluded.append(
                Excluded(
                    vm_size,
                    f"the dedicated core quota for {family} is {cores} cores, below one {vcpus}-vCPU node",
                )
            )
            continue
        spot = pool.quota.spot_cores
        found.append(
            Size(
                vm_size,
                family,
                vcpus,
                float(row["memory_gib"]),
                int(row["gpus"]),
                prices,
                speed,
                factor,
                slots_max,
                bound_by,
                choices,
                cores,
                None if cores is None else cores // vcpus,
                None if spot is None else spot // vcpus,
            )
        )
    return found, excluded


def _row_or_none(vm_size: str, region: str, os: str) -> dict[str, object] | None:
    try:
        return find(vm_size, region, os)
    except CatalogError:
        return None
