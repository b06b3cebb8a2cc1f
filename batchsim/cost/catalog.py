"""VM prices by size and region, from the dated catalog shipped as package data.

The shipped catalog holds only rows with a public source (batch-behavior §6.3); `batchsim prices
import` (issue 5) is meant to fill it from the Azure Retail Prices API.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from batchsim.scenario import Prices

__all__ = ["CatalogError", "catalog_rows", "lookup"]


class CatalogError(KeyError):
    """No price for a size, region and OS; the message lists what the catalog has."""


@lru_cache(maxsize=1)
def catalog_rows() -> list[dict[str, Any]]:
    text = resources.files("batchsim.cost").joinpath("data/catalog.json").read_text(encoding="utf-8")
    return list(json.loads(text)["rows"])


def lookup(vm_size: str, region: str, os: str = "linux") -> Prices:
    """Dedicated and Spot prices per hour for a size in a region."""
    for row in catalog_rows():
        if row["vm_size"] == vm_size and row["region"] == region and row["os"] == os:
            return Prices(
                dedicated_per_hour=row["dedicated_per_hour"],
                spot_per_hour=row["spot_per_hour"],
                source=f"catalog: {row['source']} ({row['date']})",
            )
    known = sorted({f"{r['vm_size']}/{r['region']}/{r['os']}" for r in catalog_rows()})
    raise CatalogError(f"no price for {vm_size} in {region} ({os}); the catalog has: {', '.join(known)}")
