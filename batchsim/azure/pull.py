"""`batchsim pool pull`: a scenario skeleton from a live pool, so a planner starts from the pool they have.

The scenario gets the pool's size, region, OS, slots, fill type, node counts, resize timeout and
autoscale settings; the formula goes to `formulas/POOL_ID.formula` next to the scenario and is
referenced by `formula_file`. The pool's targets and last autoscale run go to the informational
`origin:` key. The workload is left empty: a pool does not say what will be submitted to it.
A `batchsim skus` file, when given, adds vCPUs, the account's core quotas and any prices for the size.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from batchsim.azure.errors import AzureIntegrationError
from batchsim.azure.pool import PoolView
from batchsim.batch_text import canonical_vm_size, region_of
from batchsim.files import write_atomically
from batchsim.units import format_duration

__all__ = ["PulledScenario", "canonical_vm_size", "scenario_document", "sku_row", "write_pulled_scenario"]


@dataclass(frozen=True)
class PulledScenario:
    """The files a pull wrote."""

    scenario: Path
    formula: Path | None


def sku_row(skus_file: Path, vm_size: str, region: str) -> dict[str, Any] | None:
    """The row for `vm_size` in `region` (linux first) of a `batchsim skus` file, or None."""
    try:
        document = json.loads(skus_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise AzureIntegrationError(f"{skus_file}: cannot read the skus file: {exc}") from None
    rows = [
        row
        for row in document.get("rows", [])
        if str(row.get("vm_size", "")).lower() == vm_size.lower() and row.get("region") == region
    ]
    rows.sort(key=lambda row: row.get("os") != "linux")
    return rows[0] if rows else None


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def scenario_document(
    view: PoolView,
    *,
    region: str,
    vm_size: str,
    formula_file: str | None,
    endpoint: str | None,
    pulled_at: datetime,
    sku: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The scenario mapping (DESIGN §4 keys, plus `origin`) for a pool."""
    # An autoscale pool is where its formula put it; a fixed pool settles at its targets.
    dedicated = view.current_dedicated if view.autoscale_enabled else view.target_dedicated
    spot = view.current_low_priority if view.autoscale_enabled else view.target_low_priority
    pool: dict[str, Any] = {"vm_size": vm_size, "region": region}
    if view.os:
        pool["os"] = view.os
    if sku and sku.get("vcpus"):
        pool["vcpus_per_node"] = int(sku["vcpus"])
    pool.update(
        {
            "task_slots_per_node": view.task_slots_per_node,
            "node_fill_type": view.node_fill_type if view.node_fill_type in ("spread", "pack") else "spread",
            "initial_dedicated": dedicated,
            "initial_spot": spot,
        }
    )
    if view.inter_node_communication:
        pool["inter_node_communication"] = True
    if view.resize_timeout_s is not None and view.resize_timeout_s >= 300:
        pool["resize_timeout"] = format_duration(view.resize_timeout_s)
    quota = {k: v for k, v in ((sku or {}).get("quota") or {}).items() if k in ("dedicated_cores", "spot_cores")}
    if any(value is not None for value in quota.values()):
        pool["quota"] = {k: int(v) for k, v in quota.items() if v is not None}
    if view.autoscale_enabled and formula_file is not None:
        pool["autoscale"] = {"formula_file": formula_file, "interval": format_duration(view.interval_s or 900.0)}
    document: dict[str, Any] = {"name": view.pool_id, "duration": "24h", "pool": pool}
    if sku and sku.get("dedicated_per_hour") is not None and sku.get("spot_per_hour") is not None:
        document["prices"] = {
            "dedicated_per_hour": sku["dedicated_per_hour"],
            "spot_per_hour": sku["spot_per_hour"],
            "source": str(sku.get("source") or "batchsim skus file"),
        }
    document["workload"] = []
    run = view.last_run
    document["origin"] = {
        "pool_id": view.pool_id,
        "endpoint": endpoint,
        "pulled_at": _iso(pulled_at),
        "allocation_state": view.allocation_state,
        "current_dedicated": view.current_dedicated,
        "current_spot": view.current_low_priority,
        "target_dedicated": view.target_dedicated,
        "target_spot": view.target_low_priority,
        "autoscale_enabled": view.autoscale_enabled,
        "last_autoscale_run": None
        if run is None
        else {
            "timestamp": _iso(run.timestamp),
            "results": run.results,
            "error_code": run.error_code,
            "error_message": run.error_detail or run.error_message,
        },
    }
    return document


def _header(view: PoolView, endpoint: str | None, pulled_at: datetime) -> str:
    lines = [
        f"Scenario skeleton pulled from pool '{view.pool_id}' ({endpoint or 'unknown endpoint'}) at {_iso(pulled_at)}",
        "by `batchsim pool pull`. Describe the workload under `workload:` (DESIGN §4), then run",
        "`batchsim simulate` on this file. `origin:` records the pool as pulled; the simulation ignores it.",
    ]
    run = view.last_run
    if run is not None:
        lines.append(f"Last autoscale run ({_iso(run.timestamp)}): {run.results or '(no results)'}")
        if run.failed:
            lines.append(f"  failed: {run.error_code}: {run.error_detail or run.error_message}")
    if not view.autoscale_enabled:
        lines.append("Autoscale is off on the pool: the scenario holds its target sizes fixed.")
    return "".join(f"# {line}\n" for line in lines)


def write_pulled_scenario(
    view: PoolView,
    out: Path,
    *,
    endpoint: str | None = None,
    region: str | None = None,
    skus_file: Path | None = None,
    force: bool = False,
    known_sizes: list[str] | None = None,
    pulled_at: datetime | None = None,
) -> PulledScenario:
    """Write the scenario to `out` and the formula to `out.parent/formulas/POOL_ID.formula`.

    region: overrides the region read from the pool's URL. known_sizes: VM size spellings to match
    (default: the shipped catalog's). Existing files are kept unless `force`.
    """
    region = region or region_of(view.url, endpoint)
    if region is None:
        raise AzureIntegrationError(
            f"cannot tell the region of pool '{view.pool_id}' from its URL ({view.url}); give --region"
        )
    if known_sizes is None:
        from batchsim.cost.catalog import catalog_rows

        known_sizes = [str(row["vm_size"]) for row in catalog_rows()]
    sku = sku_row(skus_file, view.vm_size, region) if skus_file is not None else None
    if sku is not None:
        known_sizes = [str(sku["vm_size"]), *known_sizes]
    vm_size = canonical_vm_size(view.vm_size, known_sizes)
    formula_path = out.parent / "formulas" / f"{view.pool_id}.formula"
    has_formula = view.autoscale_enabled and bool(view.formula)
    targets = [out, formula_path] if has_formula else [out]
    existing = [str(path) for path in targets if path.exists()]
    if existing and not force:
        raise AzureIntegrationError(f"{', '.join(existing)} already exist(s); give --force to overwrite")
    pulled_at = pulled_at or datetime.now(timezone.utc)
    document = scenario_document(
        view,
        region=region,
        vm_size=vm_size,
        formula_file=f"formulas/{view.pool_id}.formula" if has_formula else None,
        endpoint=endpoint,
        pulled_at=pulled_at,
        sku=sku,
    )
    if has_formula:
        assert view.formula is not None
        write_atomically(formula_path, view.formula if view.formula.endswith("\n") else view.formula + "\n")
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120)
    write_atomically(out, _header(view, endpoint, pulled_at) + body)
    return PulledScenario(out, formula_path if has_formula else None)
