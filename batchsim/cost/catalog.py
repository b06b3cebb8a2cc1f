"""VM sizes and prices by size, region and OS, from the dated catalog shipped as package data.

`data/catalog.json` (format `batchsim-price-catalog/1`) holds one row per size, region and OS with
vCPUs, memory, GPUs, SKU family, a category (general, compute, memory, gpu), the pay-as-you-go
(dedicated) and Spot prices in USD per hour, the source and date of those prices, and `acu` (Azure
Compute Units per vCPU of the row's series, from Microsoft's ACU page as the catalog's
`sources.acu` dates it; null where the page gives none). Where the rows come from is in
`docs/prices.md`; `batchsim prices import` writes files of the same format.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from batchsim.cost.prices import Prices
from batchsim.sim.config import PoolConfig
from batchsim.sim.config import vcpus_of as vcpus_from_name

__all__ = [
    "CatalogError",
    "catalog_document",
    "catalog_rows",
    "describe_missing",
    "find",
    "lookup",
    "resolve_prices",
    "vcpus_of",
]


class CatalogError(KeyError):
    """No price for a size, region and OS; the message says what the catalog has instead."""

    def __init__(self, message: str, key: str = "pool.vm_size") -> None:
        super().__init__(message)
        self.message = message
        self.key = key  # the scenario key to change: pool.vm_size, pool.region or pool.os

    def __str__(self) -> str:
        return self.message


@lru_cache(maxsize=1)
def catalog_document() -> dict[str, Any]:
    """The shipped catalog file, parsed."""
    text = resources.files("batchsim.cost").joinpath("data/catalog.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def catalog_rows() -> list[dict[str, Any]]:
    """The shipped catalog's rows."""
    return list(catalog_document()["rows"])


@lru_cache(maxsize=1)
def _index() -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(row["vm_size"], row["region"], row["os"]): row for row in catalog_rows()}


def find(vm_size: str, region: str, os: str = "linux") -> dict[str, Any]:
    """The catalog row for a size, region and OS (vCPUs, memory, GPUs, family, prices, source, date)."""
    row = _index().get((vm_size, region, os))
    if row is None:
        message, key = describe_missing(vm_size, region, os)
        raise CatalogError(message, key)
    return dict(row)


@lru_cache(maxsize=1)
def _vcpus_by_size() -> dict[str, int]:
    return {row["vm_size"]: int(row["vcpus"]) for row in catalog_rows()}


def vcpus_of(pool: PoolConfig) -> int:
    """vCPUs per node: `pool.vcpus_per_node` when given, else the catalog's for the VM size (the
    same in every region), else read from the size name only when the catalog lacks the size."""
    if pool.vcpus_per_node:
        return pool.vcpus_per_node
    vcpus = _vcpus_by_size().get(pool.vm_size)
    return vcpus if vcpus is not None else vcpus_from_name(pool)


def lookup(vm_size: str, region: str, os: str = "linux") -> Prices:
    """Dedicated and Spot prices per hour for a size in a region, with the row's source and date."""
    row = find(vm_size, region, os)
    return Prices(
        dedicated_per_hour=row["dedicated_per_hour"],
        spot_per_hour=row["spot_per_hour"],
        source=f"catalog: {row['source']} ({row['date']})",
    )


def resolve_prices(explicit: Prices | None, vm_size: str, region: str, os: str = "linux") -> Prices:
    """A run's prices: `explicit` (a scenario's `prices:`) when given, else the catalog's; `CatalogError`
    when it has no row."""
    return explicit if explicit is not None else lookup(vm_size, region, os)


def describe_missing(vm_size: str, region: str, os: str) -> tuple[str, str]:
    """Why a size, region and OS has no row, and which scenario key to change, listing what the catalog has."""
    rows = catalog_rows()
    head = f"no catalog price for {vm_size} in {region} ({os})"
    where = sorted({(r["region"], r["os"]) for r in rows if r["vm_size"] == vm_size})
    if not where:
        in_region = sorted({r["vm_size"] for r in rows if r["region"] == region and r["os"] == os})
        if in_region:
            return f"{head}; {region} ({os}) has: {', '.join(in_region)}", "pool.vm_size"
        sizes = sorted({r["vm_size"] for r in rows})
        return f"{head}; the catalog's sizes are: {', '.join(sizes)}", "pool.vm_size"
    regions = sorted({r for r, o in where if o == os})
    if regions:
        return f"{head}; {vm_size} ({os}) is priced in: {', '.join(regions)}", "pool.region"
    systems = sorted({o for r, o in where if r == region})
    if systems:
        return f"{head}; {vm_size} in {region} is priced for: {', '.join(systems)}", "pool.os"
    listed = ", ".join(f"{r} ({o})" for r, o in where)
    return f"{head}; {vm_size} is priced in: {listed}", "pool.region"
