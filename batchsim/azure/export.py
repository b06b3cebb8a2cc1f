"""Push a formula to a live pool (DESIGN §2 `batchsim export`), or turn its autoscale off.

Order, fixed: local check → get the pool → the service evaluates the new formula when autoscale is
already on → diff of the current and new formula and results → enable (not with `dry_run`), with
the pool's ETag in `If-Match`, so that a pool changed since it was read is not overwritten (412).
A formula with a check error never leaves the machine. Enable is refused by the service when
called more than once per 30 s per pool (`TooManyEnableAutoScaleRequests`, 503): the exporter
waits `enable_spacing_s` and tries once more, then explains.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, NoReturn, TypeVar

from batchsim.azure.diff import formula_diff, results_diff
from batchsim.azure.errors import AzureIntegrationError, ServiceFormulaError, explain, formula_position, service_error
from batchsim.azure.pool import PoolView, RunView, pool_view, run_view
from batchsim.formula.diagnostics import Diagnostic, Severity
from batchsim.units import format_duration

__all__ = [
    "ENABLE_SPACING_S",
    "MAX_INTERVAL_S",
    "MIN_INTERVAL_S",
    "ExportResult",
    "LocalCheckFailed",
    "disable_autoscale",
    "export_formula",
    "read_pool",
    "validate_interval",
]

MIN_INTERVAL_S = 5 * 60.0
MAX_INTERVAL_S = 168 * 3600.0
ENABLE_SPACING_S = 30.0
# Transient answers to an enable worth one more try after the spacing: the 30 s rule (503) and the
# `OperationTimedOut` 500 seen in a live recording, which then succeeded.
_RETRY_ONCE_STATUS = (500, 503, 504)

Echo = Callable[[str], None]
T = TypeVar("T")


class LocalCheckFailed(AzureIntegrationError):
    """The formula has check errors, so nothing was sent; `diagnostics` are the checker's."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        super().__init__(f"the formula has {sum(d.severity is Severity.ERROR for d in diagnostics)} check error(s)")


@dataclass(frozen=True)
class ExportResult:
    """What an export did: whether autoscale was enabled, who evaluated the new formula, its results."""

    pool_id: str
    enabled: bool
    evaluated_by: str
    new_run: RunView | None
    enable_attempts: int
    current: PoolView | None = None
    interval_s: float | None = None

    def document(self, formula: str | None) -> dict[str, Any]:
        """The export as JSON (`export --format json`): the pool before, the new formula's run, what was done."""

        def run(view: RunView | None) -> dict[str, Any] | None:
            if view is None:
                return None
            error = (
                None
                if not view.failed
                else {"code": view.error_code, "message": view.error_detail or view.error_message}
            )
            stamp = view.timestamp.isoformat() if view.timestamp else None
            return {"timestamp": stamp, "results": view.results, "error": error}

        current = self.current
        return {
            "pool_id": self.pool_id,
            "enabled": self.enabled,
            "dry_run": not self.enabled,
            "evaluated_by": self.evaluated_by,
            "enable_attempts": self.enable_attempts,
            "current": None
            if current is None
            else {
                "autoscale_enabled": current.autoscale_enabled,
                "formula": current.formula,
                "interval_s": current.interval_s,
                "last_run": run(current.last_run),
                "etag": current.etag,
            },
            "new": {"formula": formula, "interval_s": self.interval_s, "run": run(self.new_run)},
            "formula_changed": current is None or (current.formula or "").strip() != (formula or "").strip(),
        }


def validate_interval(seconds: float) -> float:
    """`seconds` when between 5 minutes and 168 hours (the service's limits), else ValueError."""
    if not MIN_INTERVAL_S <= seconds <= MAX_INTERVAL_S:
        raise ValueError(f"the evaluation interval must be between 5m and 168h, got {format_duration(seconds)}")
    return seconds


def _call(action: str, endpoint: str, pool_id: str, request: Callable[[], T]) -> T:
    from azure.core.exceptions import AzureError

    try:
        return request()
    except AzureError as exc:
        raise explain(exc, endpoint=endpoint, pool_id=pool_id, action=action) from None


def read_pool(client: Any, pool_id: str, *, endpoint: str) -> PoolView:
    """The pool, or an `AzureIntegrationError` saying why it cannot be read."""
    return pool_view(_call("read the pool", endpoint, pool_id, lambda: client.get_pool(pool_id)))


def _describe(view: PoolView) -> str:
    autoscale = f"on, every {format_duration(view.interval_s or 0)}" if view.autoscale_enabled else "off"
    return (
        f"pool '{view.pool_id}': {view.vm_size}, {view.allocation_state}, dedicated "
        f"{view.current_dedicated} (target {view.target_dedicated}), spot {view.current_low_priority} "
        f"(target {view.target_low_priority}), autoscale {autoscale}"
    )


def _local_run(text: str, view: PoolView, strict: bool) -> RunView:
    """The new formula evaluated here against the pool's counts, without metric samples."""
    from batchsim.formula.compiler import compile
    from batchsim.formula.context import EvalContext, datetime_to_ticks

    now = datetime.now(timezone.utc)
    context = EvalContext(
        now_tick=datetime_to_ticks(now),
        target_dedicated_nodes=view.target_dedicated,
        target_low_priority_nodes=view.target_low_priority,
        current_dedicated_nodes=view.current_dedicated,
        current_low_priority_nodes=view.current_low_priority,
        task_slots_per_node=view.task_slots_per_node,
    )
    run = compile(text, strict=strict).evaluate(context)
    if run.error is None:
        return RunView(now, run.results)
    return RunView(now, run.results, run.error.code, run.error.message, run.error.detail)


def _raise_run_error(run: RunView) -> NoReturn:
    line, column, detail = formula_position([run.error_detail or "", run.error_message or ""])
    raise ServiceFormulaError(
        run.error_code or "", run.error_message or "", detail or run.error_detail or "", line, column
    )


def export_formula(
    client: Any,
    pool_id: str,
    text: str,
    *,
    interval_s: float = 900.0,
    label: str = "new formula",
    endpoint: str = "",
    dry_run: bool = False,
    strict: bool = False,
    echo: Echo = print,
    sleep: Callable[[float], None] | None = None,
    enable_spacing_s: float = ENABLE_SPACING_S,
) -> ExportResult:
    """Check, compare and enable `text` on `pool_id` (module docstring); raises `AzureIntegrationError`.

    client: an azure-batch `BatchClient`. label: how to name the new formula in the diff.
    sleep: how to wait between enable attempts; `time.sleep` (looked up at call time) by default.
    """
    from batchsim.formula.checker import check, has_errors

    diagnostics = check(text, strict=strict)
    if has_errors(diagnostics):
        raise LocalCheckFailed(diagnostics)
    validate_interval(interval_s)
    view = read_pool(client, pool_id, endpoint=endpoint)
    echo(_describe(view))
    if view.autoscale_enabled:
        from azure.batch import models

        options = models.BatchPoolEvaluateAutoScaleOptions(auto_scale_formula=text)
        run = _call(
            "evaluate the formula",
            endpoint,
            pool_id,
            lambda: client.evaluate_pool_auto_scale(pool_id, options),
        )
        new_run = run_view(run)
        evaluated_by = "service"
        if new_run is not None and new_run.failed:
            _raise_run_error(new_run)
    else:
        new_run = _local_run(text, view, strict)
        evaluated_by = "local"
        echo(
            "autoscale is off, so the service cannot evaluate the formula before it is enabled; "
            "the new results below are batchsim's, from the pool's node counts without metric samples"
        )
    current_label = f"pool '{pool_id}' (current)"
    new_label = f"{label} ({'service evaluate' if evaluated_by == 'service' else 'local evaluation'})"
    for line in formula_diff(view.formula, text, current_label, label):
        echo(line)
    old_interval = format_duration(view.interval_s) if view.interval_s is not None else "-"
    new_interval = format_duration(interval_s)
    echo(f"interval: {old_interval} -> {new_interval}" if old_interval != new_interval else f"interval: {new_interval}")
    current_results = view.last_run.results if view.last_run is not None else None
    if view.last_run is not None:
        stamp = view.last_run.timestamp.isoformat() if view.last_run.timestamp else "an unknown time"
        failure = (
            f", which failed: {view.last_run.error_code}: {view.last_run.error_detail}" if view.last_run.failed else ""
        )
        echo(f"current results: the pool's last autoscale run, at {stamp}{failure}")
    for line in results_diff(current_results, new_run.results if new_run else None, "current", new_label):
        echo(line)
    if new_run is not None and new_run.failed:
        echo(f"note: the local evaluation ends with {new_run.error_code}: {new_run.error_detail}")
    if dry_run:
        echo(f"dry run: pool '{pool_id}' was not changed")
        return ExportResult(pool_id, False, evaluated_by, new_run, 0, view, interval_s)
    attempts = _enable(
        client, pool_id, text, interval_s, endpoint, echo, sleep or time.sleep, enable_spacing_s, view.etag
    )
    echo(
        f"autoscale enabled on pool '{pool_id}': the service evaluates the formula now and every "
        f"{format_duration(interval_s)}"
    )
    return ExportResult(pool_id, True, evaluated_by, new_run, attempts, view, interval_s)


def _enable(
    client: Any,
    pool_id: str,
    text: str,
    interval_s: float,
    endpoint: str,
    echo: Echo,
    sleep: Callable[[float], None],
    spacing_s: float,
    etag: str | None = None,
) -> int:
    from azure.batch import models
    from azure.core import MatchConditions
    from azure.core.exceptions import AzureError, HttpResponseError

    options = models.BatchPoolEnableAutoScaleOptions(
        auto_scale_formula=text, auto_scale_evaluation_interval=timedelta(seconds=interval_s)
    )
    attempt = 1
    while True:
        try:
            # azure-core would retry a 503 on its own within a few seconds, which the 30 s rule
            # refuses again; this call retries itself, spaced.
            # If-Match the pool's ETag as read: a pool changed since (another export, the portal)
            # is refused with 412 rather than overwritten.
            condition = {"etag": etag, "match_condition": MatchConditions.IfNotModified} if etag else {}
            client.enable_pool_auto_scale(pool_id, options, retry_total=0, **condition)
            return attempt
        except HttpResponseError as exc:
            # With If-Match the SDK raises ResourceModifiedError for every non-2xx answer
            # (BatchExceptionPolicy); only a 412 means the ETag no longer matches.
            if exc.status_code == 412:
                raise AzureIntegrationError(
                    f"pool '{pool_id}' was changed after batchsim read it (its ETag {etag} no longer matches, "
                    "HTTP 412), so autoscale was not enabled and the pool was not changed; run export again "
                    "to see the diff against the pool as it is now"
                ) from None
            error = service_error(exc)
            if attempt == 1 and error.status in _RETRY_ONCE_STATUS:
                echo(
                    f"the service answered {error.status} {error.code or ''} to enable; "
                    f"retrying once in {format_duration(spacing_s)}"
                )
                sleep(spacing_s)
                attempt = 2
                continue
            problem = explain(exc, endpoint=endpoint, pool_id=pool_id, action="enable autoscale")
            if attempt == 2 and not isinstance(problem, ServiceFormulaError):
                problem = AzureIntegrationError(f"{problem} (after one retry {format_duration(spacing_s)} later)")
            raise problem from None
        except AzureError as exc:
            raise explain(exc, endpoint=endpoint, pool_id=pool_id, action="enable autoscale") from None


def disable_autoscale(
    client: Any, pool_id: str, *, endpoint: str = "", dry_run: bool = False, echo: Echo = print
) -> bool:
    """Turn autoscale off on `pool_id`; False when it already was off or with `dry_run`."""
    view = read_pool(client, pool_id, endpoint=endpoint)
    echo(_describe(view))
    if not view.autoscale_enabled:
        echo(f"autoscale is already off on pool '{pool_id}'; nothing to do")
        return False
    for line in formula_diff(view.formula, "", f"pool '{pool_id}' (current)", "(none)"):
        echo(line)
    if dry_run:
        echo(f"dry run: pool '{pool_id}' was not changed")
        return False
    _call("disable autoscale", endpoint, pool_id, lambda: client.disable_pool_auto_scale(pool_id))
    echo(
        f"autoscale disabled on pool '{pool_id}'; it keeps its targets "
        f"({view.target_dedicated} dedicated, {view.target_low_priority} spot) until resized"
    )
    return True
