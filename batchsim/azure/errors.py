"""Azure failures as one clear sentence each (azure-sdk.md §6), never an SDK traceback.

`explain` turns any azure-core exception into an `AzureIntegrationError` whose message says what
failed and what to do; the formula errors of the service keep their line and column in
`ServiceFormulaError`. Messages are built from the service's codes and texts only, never from
request headers, so they cannot carry a key; `redact` is the second line of defence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AzureIntegrationError",
    "ServiceError",
    "ServiceFormulaError",
    "explain",
    "formula_position",
    "redact",
    "service_error",
]

_POSITION = re.compile(r"Line\s+(\d+),\s*Col(?:umn)?\s+(\d+)\s*:?\s*", re.IGNORECASE)
_FORMULA_CODES = {
    "AutoScalingFormulaSyntaxError",
    "AutoScalingFormulaEvaluationError",
    "InsufficientSampleData",
}


class AzureIntegrationError(RuntimeError):
    """A call to Azure that cannot continue; the message is meant for the user, as is."""


class ServiceFormulaError(AzureIntegrationError):
    """The service rejected or could not evaluate a formula; `line`/`column` are 1-based or None."""

    def __init__(self, code: str, message: str, detail: str, line: int | None, column: int | None) -> None:
        self.code = code
        self.message = message
        self.detail = detail
        self.line = line
        self.column = column
        where = f"Line {line}, Col {column}: " if line is not None and column is not None else ""
        super().__init__(f"{code}: {where}{detail or message}")


@dataclass(frozen=True)
class ServiceError:
    """What an HTTP error body says: status, code, message and the `values` pairs."""

    status: int | None
    code: str
    message: str
    values: tuple[tuple[str, str], ...]


def service_error(exc: Any) -> ServiceError:
    """Read the Batch error body (`code`, `message.value`, `values[{key, value}]`) of an HttpResponseError."""
    status = getattr(exc, "status_code", None)
    model = getattr(exc, "model", None)
    code = ""
    message = ""
    values: list[tuple[str, str]] = []
    if model is not None:
        code = str(getattr(model, "code", "") or "")
        text = getattr(model, "message", None)
        message = str(getattr(text, "value", text) or "")
        for pair in getattr(model, "error_values", None) or []:
            values.append((str(getattr(pair, "key", "") or ""), str(getattr(pair, "value", "") or "")))
    if not code:
        error = getattr(exc, "error", None)
        code = str(getattr(error, "code", "") or "")
        message = message or str(getattr(error, "message", "") or "")
    if not message:
        message = str(getattr(exc, "reason", "") or "")
    return ServiceError(status, code, message, tuple(values))


def formula_position(texts: Iterable[str]) -> tuple[int | None, int | None, str]:
    """The first `Line L, Col C: detail` in `texts`, as (L, C, detail); (None, None, '') when none."""
    for text in texts:
        match = _POSITION.search(text)
        if match:
            return int(match.group(1)), int(match.group(2)), text[match.end() :].strip()
    return None, None, ""


def formula_error(code: str, message: str, values: Iterable[tuple[str, str]]) -> ServiceFormulaError:
    """A `ServiceFormulaError` from a code, a message and the error's name/value pairs."""
    pairs = list(values)
    line, column, detail = formula_position([value for _, value in pairs] + [message])
    if line is None:
        numbers = {name.lower(): value for name, value in pairs}
        line_text, column_text = numbers.get("line", ""), numbers.get("column", numbers.get("col", ""))
        if line_text.isdigit() and column_text.isdigit():
            line, column = int(line_text), int(column_text)
        detail = numbers.get("message", "")
    return ServiceFormulaError(code, message, detail, line, column)


def explain(
    exc: Exception,
    *,
    endpoint: str,
    pool_id: str | None = None,
    action: str = "request",
    subject: str | None = None,
    auth_hint: str = "check the account name and key, or the Entra ID identity's role on the account",
) -> AzureIntegrationError:
    """One clear `AzureIntegrationError` for an azure-core (or azure-identity) exception.

    subject: what the request was about, for messages ("pool 'p'" by default). auth_hint: what to
    check when the service answers 401 or 403.
    """
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceExistsError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceRequestTimeoutError,
        ServiceResponseError,
        ServiceResponseTimeoutError,
    )

    pool = subject or (f"pool '{pool_id}'" if pool_id else "the resource")
    if isinstance(exc, ClientAuthenticationError) and getattr(exc, "response", None) is None:
        # Raised by azure-identity before any request: no Entra ID credential could give a token.
        first = str(exc.message if hasattr(exc, "message") else exc).strip().splitlines()[0]
        return AzureIntegrationError(
            f"authentication failed: no Microsoft Entra ID credential is available ({first}); "
            "give --account-name and --account-key, set AZURE_BATCH_ACCOUNT and AZURE_BATCH_ACCESS_KEY, "
            "or sign in (az login, managed identity, AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET)"
        )
    if isinstance(exc, HttpResponseError) and getattr(exc, "status_code", None) is not None:
        error = service_error(exc)
        said = f"{error.code}: {error.message}" if error.code else error.message or f"HTTP {error.status}"
        if error.code in _FORMULA_CODES:
            return formula_error(error.code, error.message, error.values)
        if isinstance(exc, ClientAuthenticationError) or error.status in (401, 403):
            return AzureIntegrationError(
                f"authentication failed at {endpoint} (HTTP {error.status}, {said}); {auth_hint}"
            )
        if isinstance(exc, ResourceNotFoundError) or error.status == 404:
            return AzureIntegrationError(f"{pool} was not found at {endpoint} ({said})")
        if error.code == "PoolBeingResized":
            return AzureIntegrationError(
                f"{pool} is resizing, so the service refused to {action} ({said}); wait until its "
                "allocation state is steady, or stop the resize, then run again"
            )
        if isinstance(exc, ResourceExistsError) or error.status == 409:
            return AzureIntegrationError(
                f"the service refused to {action}: {pool} is not in a state that allows it ({said})"
            )
        if error.code == "TooManyEnableAutoScaleRequests":
            return AzureIntegrationError(
                f"the service refused to {action} on {pool}: autoscale may be enabled at most once every "
                f"30 s per pool ({said}); run again in a minute"
            )
        return AzureIntegrationError(f"the service refused to {action} on {pool}: HTTP {error.status} {said}")
    if isinstance(exc, (ServiceRequestTimeoutError, ServiceResponseTimeoutError)):
        return AzureIntegrationError(
            f"timed out waiting for {endpoint} during {action}; the service may be slow or unreachable, "
            "raise --timeout or try again"
        )
    if isinstance(exc, ServiceRequestError) and "non-TLS" in str(exc):
        return AzureIntegrationError(
            f"Microsoft Entra ID tokens are sent only over https, and {endpoint} is not https; "
            "use the account's https endpoint, or a shared key (--account-name and --account-key)"
        )
    if isinstance(exc, ServiceRequestError):
        return AzureIntegrationError(f"cannot reach {endpoint}: {_connection_reason(exc)}; check the endpoint")
    if isinstance(exc, ServiceResponseError):
        return AzureIntegrationError(
            f"{endpoint} closed the connection or sent no valid answer during {action}: {_connection_reason(exc)}"
        )
    return AzureIntegrationError(f"Azure {action} failed: {type(exc).__name__}: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _connection_reason(exc: BaseException) -> str:
    """The useful words of a urllib3 connection error ('[Errno 111] Connection refused')."""
    text = str(exc)
    for pattern in (
        r"Failed to establish a new connection: ([^'\")]+)",
        r"(Failed to resolve '[^']+'[^)']*)",
        r"(Name or service not known)",
        r"(Connection (?:refused|reset|aborted)[^'\")]*)",
        r"(Remote end closed connection without response)",
    ):
        match = re.search(pattern, text)
        if match:
            return match.group(1).strip().rstrip(".")
    return _first_line(exc)


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (and its URL-quoted form) replaced by `***`."""
    from urllib.parse import quote

    for secret in secrets:
        if secret:
            for form in {secret, quote(secret, safe="")}:
                text = text.replace(form, "***")
    return text
