"""Import prices from the Azure Retail Prices API into the catalog format (batch-behavior §6.2).

`GET https://prices.azure.com/api/retail/prices?$filter=...`, no authentication; pages are
followed through `NextPageLink` until it is null. Only consumption prices per hour are kept; Spot
rows are recognised by "Spot" in `meterName`/`skuName`, legacy low-priority rows by "Low Priority"
(used only where no Spot row exists), Windows rows by "Windows" in `productName`. Products that
reuse a VM size's `armSkuName` at another price (Cloud Services, Dedicated Host, Basic tier) are
skipped: in the API's answer for a region they sit beside the `Virtual Machines ...` product.
Written by hand on the standard library: the API is one GET with OData paging, and no maintained
client for it exists on PyPI.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from batchsim import jsonio
from batchsim.files import write_out

__all__ = ["RETAIL_PRICES_URL", "RetailPricesError", "build_filter", "fetch_items", "import_prices", "rows_from_items"]

RETAIL_PRICES_URL = "https://prices.azure.com/api/retail/prices"
_REQUIRED = (
    "armSkuName",
    "armRegionName",
    "retailPrice",
    "meterName",
    "skuName",
    "productName",
    "type",
    "unitOfMeasure",
)


class RetailPricesError(RuntimeError):
    """The API could not be read, or answered with something that is not a price list."""


def build_filter(region: str, sizes: list[str] | None = None) -> str:
    """The OData `$filter` for consumption VM prices in a region, optionally for some sizes."""
    clauses = ["serviceName eq 'Virtual Machines'", f"armRegionName eq '{region}'", "priceType eq 'Consumption'"]
    if sizes:
        clauses.append("(" + " or ".join(f"armSkuName eq '{size}'" for size in sizes) + ")")
    return " and ".join(clauses)


def fetch_items(
    region: str, sizes: list[str] | None = None, *, endpoint: str = RETAIL_PRICES_URL, timeout_s: float = 30
) -> Iterator[dict[str, Any]]:
    """Every item of every page, following `NextPageLink`."""
    url: str | None = f"{endpoint}?{urllib.parse.urlencode({'$filter': build_filter(region, sizes)})}"
    page = 0
    while url:
        page += 1
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as response:
                document = json.load(response)
        except urllib.error.HTTPError as exc:
            raise RetailPricesError(f"page {page}: HTTP {exc.code} {exc.reason} from {url.split('?')[0]}") from None
        except urllib.error.URLError as exc:
            raise RetailPricesError(f"page {page}: cannot reach {url.split('?')[0]}: {exc.reason}") from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise RetailPricesError(f"page {page}: the answer is not JSON") from None
        if not isinstance(document, dict) or not isinstance(document.get("Items"), list):
            raise RetailPricesError(f"page {page}: no 'Items' list in the answer")
        for index, item in enumerate(document["Items"]):
            if not isinstance(item, dict) or any(key not in item for key in _REQUIRED):
                missing = [k for k in _REQUIRED if not isinstance(item, dict) or k not in item]
                raise RetailPricesError(
                    f"page {page}, item {index}: malformed price item (missing {', '.join(missing)})"
                )
            if not isinstance(item["retailPrice"], (int, float)):
                raise RetailPricesError(f"page {page}, item {index}: retailPrice is not a number")
            yield item
        url = document.get("NextPageLink") or None


_NOT_VM_PRICE = re.compile(r"cloud ?services|dedicated ?host|\bbasic\b", re.IGNORECASE)


@dataclass
class _Prices:
    dedicated: float | None = None
    spot: float | None = None
    low_priority: float | None = None
    effective: str = ""


def rows_from_items(items: Iterator[dict[str, Any]] | list[dict[str, Any]], source: str) -> list[dict[str, Any]]:
    """Catalog rows (one per size, region and OS) from price items."""
    prices: dict[tuple[str, str, str], _Prices] = {}
    for item in items:
        if item["type"] != "Consumption" or item["unitOfMeasure"] != "1 Hour":
            continue
        if _NOT_VM_PRICE.search(item["productName"]):
            continue
        names = f"{item['meterName']} {item['skuName']}"
        os_name = "windows" if "Windows" in item["productName"] else "linux"
        entry = prices.setdefault((item["armSkuName"], item["armRegionName"], os_name), _Prices())
        price = float(item["retailPrice"])
        if "Spot" in names:
            entry.spot = price
        elif "Low Priority" in names:
            entry.low_priority = price
        else:
            entry.dedicated = price
            entry.effective = str(item.get("effectiveStartDate", ""))[:10]
    rows = []
    for (size, region, os_name), entry in sorted(prices.items()):
        if entry.dedicated is None:
            continue
        spot = entry.spot if entry.spot is not None else entry.low_priority
        rows.append(
            {
                "vm_size": size,
                "region": region,
                "os": os_name,
                "dedicated_per_hour": entry.dedicated,
                "spot_per_hour": spot,
                "source": source,
                "date": entry.effective or date.today().isoformat(),
            }
        )
    return rows


def import_prices(region: str, out: Path, sizes: list[str] | None = None, *, endpoint: str = RETAIL_PRICES_URL) -> int:
    """Fetch and write a catalog file (`-`: stdout); nothing is written unless every page was read.

    Returns the row count."""
    source = f"Azure Retail Prices API ({endpoint}), imported {date.today().isoformat()}"
    rows = rows_from_items(list(fetch_items(region, sizes, endpoint=endpoint)), source)
    document = {"format": "batchsim-price-catalog/1", "currency": "USD", "rows": rows}
    write_out(out, jsonio.dumps(document) + "\n")  # `-`: stdout
    return len(rows)
