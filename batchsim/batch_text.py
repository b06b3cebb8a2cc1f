"""The Batch service's plain text, read the same way by `batchsim.azure` and `batchsim.history`:
an account URL's region, an autoscale results string, a VM size's spelling.

A leaf (it imports no other part of batchsim) so that `history` reads these without importing
`azure`, which imports `history` (the history directory it writes): no package cycle.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

__all__ = ["canonical_vm_size", "parse_results", "region_of"]

_BATCH_HOST = re.compile(
    r"^[^.]+\.([a-z0-9-]+)\.batch\.(?:azure\.(?:com|cn|us)|chinacloudapi\.cn|usgovcloudapi\.net)$", re.IGNORECASE
)


def region_of(*urls: str | None) -> str | None:
    """The region in a Batch URL (`https://ACCOUNT.REGION.batch.azure.com/...`), from the first that has one."""
    for url in urls:
        if url:
            match = _BATCH_HOST.match(urlparse(url).hostname or "")
            if match:
                return match.group(1).lower()
    return None


def parse_results(results: str | None) -> dict[str, str]:
    """`$a=1;$b=[1,2]` → `{"$a": "1", "$b": "[1,2]"}`: split on ';', then on the first '=' (§4)."""
    values: dict[str, str] = {}
    for part in (results or "").split(";"):
        if part.strip():
            name, _, value = part.partition("=")
            values[name.strip()] = value
    return values


def canonical_vm_size(vm_size: str, known: list[str]) -> str:
    """The catalog's spelling of a size the service returns lower-cased (`standard_d2s_v3` → `Standard_D2s_v3`)."""
    by_lower = {name.lower(): name for name in known}
    if vm_size.lower() in by_lower:
        return by_lower[vm_size.lower()]
    head, _, tail = vm_size.partition("_")
    return f"{head[:1].upper()}{head[1:]}_{tail[:1].upper()}{tail[1:]}" if tail else vm_size
