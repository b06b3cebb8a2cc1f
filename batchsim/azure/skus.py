"""`batchsim skus`: VM sizes of a region and the Batch account's core quotas, in the catalog format.

Sizes come from the Batch service's own list of the VM sizes it supports in the region
(azure-mgmt-batch `location.list_supported_virtual_machine_skus`, with each size's Batch
end-of-life date), and where that list cannot be read, from azure-mgmt-compute
`resource_skus.list(filter="location eq 'R'")`, keeping `virtualMachines` with their `vCPUs`,
`MemoryGB` and `GPUs` capabilities (strings on the wire) and dropping sizes the subscription may
not use in the region (a `Location` restriction). Quotas come
from azure-mgmt-batch `batch_account.get(...).properties` (azure-sdk.md §7). The output is a
`batchsim-price-catalog/1` document: one row per size and OS, prices null unless merged from a
catalog file, and per row the `quota` mapping that `pool.quota` of a scenario takes as is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from batchsim import jsonio
from batchsim.azure.errors import AzureIntegrationError, explain
from batchsim.files import write_atomically

__all__ = [
    "CATALOG_FORMAT",
    "AccountQuota",
    "VmSize",
    "account_quota",
    "batch_supported_sizes",
    "catalog_document",
    "fetch_skus",
    "list_vm_sizes",
    "read_price_rows",
    "write_catalog",
]

CATALOG_FORMAT = "batchsim-price-catalog/1"
_ARM_AUTH_HINT = (
    "the Microsoft Entra ID identity needs Reader on the subscription and on the Batch account "
    "(az login, managed identity, or AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET)"
)


@dataclass(frozen=True)
class VmSize:
    """A VM size as resource SKUs describe it."""

    name: str
    family: str | None
    vcpus: int
    memory_gib: float
    gpus: int
    low_priority_capable: bool | None
    batch_support_end_of_life: str | None = None


@dataclass(frozen=True)
class AccountQuota:
    """A Batch account's core quotas (None where the account reports none, e.g. user-subscription mode)."""

    account: str
    allocation_mode: str | None
    dedicated_cores: int | None
    spot_cores: int | None
    dedicated_cores_per_family: dict[str, int] = field(default_factory=dict)
    per_family_enforced: bool = False
    pool_quota: int | None = None

    def for_family(self, family: str | None) -> dict[str, int | None]:
        """The `pool.quota` mapping for a size of `family`: its family's quota when that is enforced."""
        dedicated = self.dedicated_cores
        if self.per_family_enforced and family is not None:
            by_family = {name.lower(): cores for name, cores in self.dedicated_cores_per_family.items()}
            dedicated = by_family.get(family.lower(), 0)
        return {"dedicated_cores": dedicated, "spot_cores": self.spot_cores}


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _wire(value: Any) -> str:
    """An SDK enum member or string as its wire value (`str()` of a str-enum is its Python name)."""
    return str(getattr(value, "value", value) or "")


def _restricted_here(sku: Any, region: str) -> bool:
    for restriction in getattr(sku, "restrictions", None) or []:
        kind = _wire(getattr(restriction, "type", None))
        values = [str(v).lower() for v in (getattr(restriction, "values_property", None) or [])]
        if kind.lower() == "location" and region.lower() in values:
            return True
    return False


def vm_sizes_from_skus(skus: Iterable[Any], region: str) -> list[VmSize]:
    """The usable `virtualMachines` SKUs of `region` with vCPUs and memory, sorted by name."""
    sizes: dict[str, VmSize] = {}
    for sku in skus:
        if _wire(getattr(sku, "resource_type", None)) != "virtualMachines" or not sku.name:
            continue
        locations = [str(loc).lower() for loc in (getattr(sku, "locations", None) or [])]
        if locations and region.lower() not in locations:
            continue
        if _restricted_here(sku, region):
            continue
        capabilities = {str(c.name): c.value for c in (getattr(sku, "capabilities", None) or []) if c.name}
        vcpus, memory = _number(capabilities.get("vCPUs")), _number(capabilities.get("MemoryGB"))
        if vcpus is None or memory is None:
            continue
        capable = capabilities.get("LowPriorityCapable")
        sizes[sku.name] = VmSize(
            name=sku.name,
            family=getattr(sku, "family", None),
            vcpus=int(vcpus),
            memory_gib=memory,
            gpus=int(_number(capabilities.get("GPUs")) or 0),
            low_priority_capable=None if capable is None else str(capable).lower() == "true",
        )
    return [sizes[name] for name in sorted(sizes)]


def batch_supported_sizes(batch_mgmt: Any, region: str) -> list[VmSize]:
    """The sizes the Batch service supports in `region`, with their Batch end-of-life dates."""
    sizes: dict[str, VmSize] = {}
    for sku in batch_mgmt.location.list_supported_virtual_machine_skus(region):
        capabilities = {str(c.name): c.value for c in (getattr(sku, "capabilities", None) or []) if c.name}
        vcpus, memory = _number(capabilities.get("vCPUs")), _number(capabilities.get("MemoryGB"))
        if not sku.name or vcpus is None or memory is None:
            continue
        capable = capabilities.get("LowPriorityCapable")
        end: Any = getattr(sku, "batch_support_end_of_life", None)
        sizes[sku.name] = VmSize(
            name=sku.name,
            family=getattr(sku, "family_name", None),
            vcpus=int(vcpus),
            memory_gib=memory,
            gpus=int(_number(capabilities.get("GPUs")) or 0),
            low_priority_capable=None if capable is None else str(capable).lower() == "true",
            batch_support_end_of_life=None
            if end is None
            else end.isoformat()
            if hasattr(end, "isoformat")
            else str(end),
        )
    return [sizes[name] for name in sorted(sizes)]


def list_vm_sizes(compute: Any, region: str) -> list[VmSize]:
    """`resource_skus.list` with the location filter, every page."""
    return vm_sizes_from_skus(compute.resource_skus.list(filter=f"location eq '{region}'"), region)


def account_quota(batch_mgmt: Any, resource_group: str, account: str) -> AccountQuota:
    """The Batch account's quotas from `batch_account.get`."""
    properties = batch_mgmt.batch_account.get(resource_group, account).properties
    per_family = {
        str(item.name): int(item.core_quota)
        for item in (getattr(properties, "dedicated_core_quota_per_vm_family", None) or [])
        if item.name and item.core_quota is not None
    }
    mode = getattr(properties, "pool_allocation_mode", None)
    return AccountQuota(
        account=account,
        allocation_mode=_wire(mode) or None,
        dedicated_cores=getattr(properties, "dedicated_core_quota", None),
        spot_cores=getattr(properties, "low_priority_core_quota", None),
        dedicated_cores_per_family=per_family,
        per_family_enforced=bool(getattr(properties, "dedicated_core_quota_per_vm_family_enforced", False)),
        pool_quota=getattr(properties, "pool_quota", None),
    )


def read_price_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a catalog file (`batchsim prices import` output, or the shipped catalog)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AzureIntegrationError(f"{path}: cannot read the price catalog: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != CATALOG_FORMAT:
        raise AzureIntegrationError(f"{path}: not a {CATALOG_FORMAT} file")
    return [row for row in document.get("rows", []) if isinstance(row, dict)]


def _whole(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _row(
    size: VmSize, region: str, price: dict[str, Any] | None, quota: AccountQuota | None, source: str, stamp: str
) -> dict[str, Any]:
    """One catalog row; prices and their source from `price` when there is one."""
    return {
        "vm_size": size.name,
        "region": region,
        "os": str(price.get("os", "linux")) if price else "linux",
        "vcpus": size.vcpus,
        "memory_gib": _whole(size.memory_gib),
        "gpus": size.gpus,
        "family": size.family,
        "dedicated_per_hour": price.get("dedicated_per_hour") if price else None,
        "spot_per_hour": price.get("spot_per_hour") if price else None,
        "source": f"{source}; prices: {price.get('source')}" if price else source,
        "date": str(price.get("date", stamp)) if price else stamp,
        "low_priority_capable": size.low_priority_capable,
        "batch_support_end_of_life": size.batch_support_end_of_life,
        "quota": quota.for_family(size.family) if quota else None,
    }


def catalog_document(
    sizes: list[VmSize],
    region: str,
    quota: AccountQuota | None,
    *,
    price_rows: list[dict[str, Any]] | None = None,
    source: str,
    today: date | None = None,
) -> dict[str, Any]:
    """The catalog document: a row per size and OS (OSes from the price rows, else linux)."""
    stamp = (today or date.today()).isoformat()
    prices: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in price_rows or []:
        if row.get("region") == region and row.get("vm_size"):
            prices.setdefault((str(row["vm_size"]).lower(), region), []).append(row)
    rows: list[dict[str, Any]] = []
    for size in sizes:
        matching = sorted(prices.get((size.name.lower(), region), []), key=lambda r: str(r.get("os", "linux")))
        priced: list[dict[str, Any] | None] = list(matching) or [None]
        rows.extend(_row(size, region, price, quota, source, stamp) for price in priced)
    document: dict[str, Any] = {
        "format": CATALOG_FORMAT,
        "currency": "USD",
        "note": f"VM sizes from {source.split(',')[0]}; prices null unless merged from a catalog "
        "file; `quota` per row is the Batch account's core quota for that size, in `pool.quota` form.",
        "rows": rows,
    }
    if quota is not None:
        document["quota"] = {
            "account": quota.account,
            "pool_allocation_mode": quota.allocation_mode,
            "dedicated_cores": quota.dedicated_cores,
            "spot_cores": quota.spot_cores,
            "dedicated_cores_per_family": quota.dedicated_cores_per_family,
            "dedicated_cores_per_family_enforced": quota.per_family_enforced,
            "pool_quota": quota.pool_quota,
        }
    return document


def write_catalog(document: dict[str, Any], out: Path) -> None:
    """Write atomically: a failed run leaves the previous file in place."""
    write_atomically(out, jsonio.dumps(document) + "\n")


def fetch_skus(
    credential: Any,
    subscription_id: str,
    region: str,
    *,
    resource_group: str | None = None,
    account: str | None = None,
    base_url: str | None = None,
    price_rows: list[dict[str, Any]] | None = None,
    retries: int = 3,
    timeout_s: float = 60.0,
) -> dict[str, Any]:
    """Sizes (and, with a resource group and account, quotas) as a catalog document.

    credential: a `TokenCredential` (the CLI passes `DefaultAzureCredential`). base_url: the
    Resource Manager endpoint; the public cloud's by default.
    """
    from azure.core.exceptions import AzureError, ClientAuthenticationError
    from azure.mgmt.batch import BatchManagementClient
    from azure.mgmt.compute import ComputeManagementClient

    options: dict[str, Any] = {"retry_total": retries, "connection_timeout": timeout_s, "read_timeout": timeout_s}
    endpoint = base_url or "https://management.azure.com"
    sizes: list[VmSize] = []
    origin = "Batch supported VM SKUs (azure-mgmt-batch)"
    try:
        with BatchManagementClient(credential, subscription_id, base_url=base_url, **options) as batch_mgmt:
            sizes = batch_supported_sizes(batch_mgmt, region)
    except ClientAuthenticationError as exc:
        if getattr(exc, "response", None) is None:  # no credential at all: the same for Compute
            raise explain(exc, endpoint=endpoint, action="list VM sizes", auth_hint=_ARM_AUTH_HINT) from None
    except AzureError:
        sizes = []  # not available (an older API, a denied role): the Compute resource SKUs below
    if not sizes:
        origin = "azure-mgmt-compute resource SKUs"
        try:
            with ComputeManagementClient(credential, subscription_id, base_url=base_url, **options) as compute:
                sizes = list_vm_sizes(compute, region)
        except AzureError as exc:
            raise explain(
                exc,
                endpoint=endpoint,
                action="list resource SKUs",
                subject=f"subscription '{subscription_id}'",
                auth_hint=_ARM_AUTH_HINT,
            ) from None
    quota = None
    if resource_group and account:
        try:
            with BatchManagementClient(credential, subscription_id, base_url=base_url, **options) as batch_mgmt:
                quota = account_quota(batch_mgmt, resource_group, account)
        except AzureError as exc:
            raise explain(
                exc,
                endpoint=endpoint,
                action="read the Batch account",
                subject=f"Batch account '{account}' in resource group '{resource_group}'",
                auth_hint=_ARM_AUTH_HINT,
            ) from None
    source = f"{origin}, subscription {subscription_id}, {date.today().isoformat()}"
    return catalog_document(sizes, region, quota, price_rows=price_rows, source=source)
