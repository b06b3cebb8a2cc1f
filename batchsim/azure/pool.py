"""What batchsim reads from a Batch pool, as plain values (azure-sdk.md §4 `BatchPool`).

`pool_view` copies the fields the exporter and `pool pull` use out of an SDK `BatchPool`, so the
rest of batchsim never touches SDK models.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from batchsim.batch_text import parse_results, region_of

__all__ = ["PoolView", "RunView", "parse_results", "pool_view", "region_of", "run_view"]


@dataclass(frozen=True)
class RunView:
    """One autoscale evaluation: when, the results string, and the error (code, message, detail)."""

    timestamp: datetime | None
    results: str | None
    error_code: str | None = None
    error_message: str | None = None
    error_detail: str | None = None

    @property
    def failed(self) -> bool:
        return bool(self.error_code)


@dataclass(frozen=True)
class PoolView:
    """A pool's identity, size, scheduling and autoscale settings."""

    pool_id: str
    url: str | None
    vm_size: str
    os: str | None
    allocation_state: str
    task_slots_per_node: int
    node_fill_type: str
    current_dedicated: int
    current_low_priority: int
    target_dedicated: int
    target_low_priority: int
    resize_timeout_s: float | None
    autoscale_enabled: bool
    formula: str | None
    interval_s: float | None
    last_run: RunView | None
    etag: str | None = None  # sent back as If-Match, so that a change made since is not overwritten
    # enableInterNodeCommunication: multi-instance tasks run only on such a pool (set at creation only)
    inter_node_communication: bool = False


def _text(value: Any) -> str:
    """An SDK enum or string as its wire value (`AllocationState.STEADY` → 'steady')."""
    raw = getattr(value, "value", value)
    return str(raw).lower() if raw is not None else ""


def run_view(run: Any) -> RunView | None:
    """An SDK `AutoScaleRun` (or None) as a `RunView`; the detail is the `Message` value pair."""
    if run is None:
        return None
    error = getattr(run, "error", None)
    if error is None or not getattr(error, "code", None):
        return RunView(getattr(run, "timestamp", None), getattr(run, "results", None))
    pairs = [(str(p.name or ""), str(p.value or "")) for p in (getattr(error, "error_values", None) or [])]
    detail = next((value for name, value in pairs if name.lower() == "message"), None)
    if detail is None and pairs:
        detail = "; ".join(f"{name}={value}" for name, value in pairs)
    return RunView(getattr(run, "timestamp", None), getattr(run, "results", None), error.code, error.message, detail)


def pool_view(pool: Any) -> PoolView:
    """A `PoolView` of an SDK `BatchPool`."""
    policy = getattr(pool, "task_scheduling_policy", None)
    fill = _text(getattr(policy, "node_fill_type", None)) or "spread"
    vm_config = getattr(pool, "virtual_machine_configuration", None)
    agent = str(getattr(vm_config, "node_agent_sku_id", "") or "").lower()
    os_name = "windows" if agent.startswith("batch.node.windows") else "linux" if agent else None
    interval = getattr(pool, "auto_scale_evaluation_interval", None)
    resize_timeout = getattr(pool, "resize_timeout", None)
    return PoolView(
        pool_id=pool.id,
        url=getattr(pool, "url", None),
        vm_size=str(pool.vm_size or ""),
        os=os_name,
        allocation_state=_text(getattr(pool, "allocation_state", None)) or "steady",
        task_slots_per_node=int(getattr(pool, "task_slots_per_node", None) or 1),
        node_fill_type=fill,
        current_dedicated=int(getattr(pool, "current_dedicated_nodes", None) or 0),
        current_low_priority=int(getattr(pool, "current_low_priority_nodes", None) or 0),
        target_dedicated=int(getattr(pool, "target_dedicated_nodes", None) or 0),
        target_low_priority=int(getattr(pool, "target_low_priority_nodes", None) or 0),
        resize_timeout_s=resize_timeout.total_seconds() if resize_timeout is not None else None,
        autoscale_enabled=bool(getattr(pool, "enable_auto_scale", False)),
        formula=getattr(pool, "auto_scale_formula", None),
        interval_s=interval.total_seconds() if interval is not None else None,
        last_run=run_view(getattr(pool, "auto_scale_run", None)),
        etag=getattr(pool, "etag", None),
        inter_node_communication=bool(getattr(pool, "enable_inter_node_communication", False)),
    )
