"""`batchsim pool create`: a planned pool (`batchsim plan`'s pool.json) created through azure-batch.

Order: read the body into the SDK's `BatchPoolCreateOptions` (every key must be one of the REST
pool-add body's) → check its autoscale formula here, as `export` does → look the id up: a pool
with that id is never touched (a pool's VM size cannot change; the plan is for a new pool) → create
(skipped by `--dry-run`). The service's own `PoolExists` (another client creating the same id
between the look-up and the create) is reported the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchsim.azure.errors import AzureIntegrationError, explain, service_error

__all__ = ["PoolBodyError", "PoolCreated", "create_pool", "read_pool_body"]


class PoolBodyError(ValueError):
    """A pool.json that is not a pool-add body the service would take; the message says where and what."""


@dataclass(frozen=True)
class PoolCreated:
    """What `create_pool` did: the id, whether it was created (False: a dry run) and the body sent."""

    pool_id: str
    created: bool
    body: dict[str, Any]


def read_pool_body(path: Path) -> dict[str, Any]:
    """pool.json as a REST pool-add body, checked against the SDK's model and the formula checker."""
    from azure.batch.models import BatchPoolCreateOptions

    from batchsim.formula import check
    from batchsim.formula.diagnostics import Severity

    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PoolBodyError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PoolBodyError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise PoolBodyError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    if not isinstance(body, dict):
        raise PoolBodyError(f"{path}: a pool-add body is a JSON object")
    # The model's own table of REST names (an instance attribute of the SDK's models).
    known = {f._rest_name for f in BatchPoolCreateOptions({})._attr_to_rest_field.values()}
    unknown = sorted(set(body) - known)
    if unknown:
        raise PoolBodyError(f"{path}: key '{unknown[0]}' is not a key of the Batch pool-add body")
    for key in ("id", "vmSize"):
        if not isinstance(body.get(key), str) or not body[key]:
            raise PoolBodyError(f"{path}: key '{key}' is required (a string)")
    formula = body.get("autoScaleFormula")
    if body.get("enableAutoScale"):
        if not isinstance(formula, str):
            raise PoolBodyError(f"{path}: enableAutoScale is true but autoScaleFormula is missing")
        errors = [d for d in check(formula) if d.severity is Severity.ERROR]
        if errors:
            first = errors[0]
            raise PoolBodyError(
                f"{path}: autoScaleFormula: line {first.span.line}, column {first.span.column}: "
                f"{first.code}: {first.message}"
            )
    return body


def create_pool(client: Any, body: dict[str, Any], *, endpoint: str, dry_run: bool = False) -> PoolCreated:
    """Create the pool `body` describes, refusing when a pool with its id exists."""
    from azure.batch.models import BatchPoolCreateOptions
    from azure.core.exceptions import AzureError, ResourceNotFoundError

    pool_id = str(body["id"])
    try:
        existing = client.get_pool(pool_id)
    except ResourceNotFoundError:
        existing = None
    except AzureError as exc:
        raise explain(exc, endpoint=endpoint, pool_id=pool_id, action="look the pool up") from None
    if existing is not None:
        raise AzureIntegrationError(
            f"pool '{pool_id}' already exists at {endpoint} ({existing.vm_size}); pool create never changes a "
            "pool (its VM size cannot change): choose a new id in pool.json, or delete that pool first"
        )
    if dry_run:
        return PoolCreated(pool_id, False, body)
    try:
        client.create_pool(BatchPoolCreateOptions(body))
    except AzureError as exc:
        error = service_error(exc) if getattr(exc, "status_code", None) is not None else None
        if error is not None and error.code == "PoolExists":
            raise AzureIntegrationError(
                f"pool '{pool_id}' already exists at {endpoint} ({error.code}: {error.message}); choose a new id"
            ) from None
        raise explain(exc, endpoint=endpoint, pool_id=pool_id, action="create the pool") from None
    return PoolCreated(pool_id, True, body)
