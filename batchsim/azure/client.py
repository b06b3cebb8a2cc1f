"""Batch data-plane client construction with the fixed credential order (DESIGN §2, azure-sdk.md §2).

Each of endpoint, account and key comes from its flag, else from `AZURE_BATCH_ENDPOINT`,
`AZURE_BATCH_ACCOUNT`, `AZURE_BATCH_ACCESS_KEY`. With an account and a key the client signs with the
shared key; with neither it uses Microsoft Entra ID through `DefaultAzureCredential`. The key is
held only by the credential object and is never part of a repr or a message.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

__all__ = [
    "CLOUDS",
    "ENV_ACCOUNT",
    "ENV_ENDPOINT",
    "ENV_KEY",
    "BatchSettings",
    "Cloud",
    "SettingsError",
    "batch_client",
    "cloud_of",
    "default_credential",
    "resolve_settings",
]

ENV_ENDPOINT = "AZURE_BATCH_ENDPOINT"
ENV_ACCOUNT = "AZURE_BATCH_ACCOUNT"
ENV_KEY = "AZURE_BATCH_ACCESS_KEY"


@dataclass(frozen=True)
class Cloud:
    """An Azure cloud's names for what batchsim reaches: the Batch token scope, the Entra ID
    authority, and the Azure Monitor metrics audience and host suffix."""

    name: str
    batch_scope: str
    authority: str
    metrics_audience: str
    metrics_suffix: str


# Batch resource endpoints per cloud (learn.microsoft.com/azure/batch/batch-aad-auth and its
# docs.azure.cn copy); the public one keeps the SDK's own double slash (azure-sdk.md §2).
CLOUDS = {
    "public": Cloud(
        "AzureCloud",
        "https://batch.core.windows.net//.default",
        "login.microsoftonline.com",
        "https://metrics.monitor.azure.com",
        "metrics.monitor.azure.com",
    ),
    "china": Cloud(
        "AzureChinaCloud",
        "https://batch.chinacloudapi.cn/.default",
        "login.chinacloudapi.cn",
        "https://metrics.monitor.azure.cn",
        "metrics.monitor.azure.cn",
    ),
    "government": Cloud(
        "AzureUSGovernment",
        "https://batch.core.usgovcloudapi.net/.default",
        "login.microsoftonline.us",
        "https://metrics.monitor.azure.us",
        "metrics.monitor.azure.us",
    ),
}


def cloud_of(endpoint: str) -> Cloud:
    """The cloud of a Batch endpoint: `*.batch.chinacloudapi.cn`, `*.batch.usgovcloudapi.net`, else public."""
    host = (urlparse(endpoint if "://" in endpoint else f"https://{endpoint}").hostname or "").lower()
    if host.endswith(".chinacloudapi.cn"):
        return CLOUDS["china"]
    if host.endswith(".usgovcloudapi.net"):
        return CLOUDS["government"]
    return CLOUDS["public"]


class SettingsError(ValueError):
    """Connection settings that cannot work (a usage error: something is missing or malformed)."""


@dataclass(frozen=True)
class BatchSettings:
    """Where and how to reach a Batch account; `account_key` is excluded from repr."""

    endpoint: str
    account_name: str | None = None
    account_key: str | None = field(default=None, repr=False)
    timeout_s: float = 60.0
    retries: int = 3

    @property
    def shared_key(self) -> bool:
        """True when requests are signed with the account key rather than an Entra ID token."""
        return self.account_key is not None

    def describe_auth(self) -> str:
        """How requests are authenticated, in words safe to print."""
        if self.shared_key:
            return f"shared key of account '{self.account_name}'"
        return "Microsoft Entra ID (DefaultAzureCredential)"

    def secrets(self) -> list[str]:
        """Strings that must never be printed."""
        return [self.account_key] if self.account_key else []


def resolve_settings(
    endpoint: str | None,
    account_name: str | None,
    account_key: str | None,
    *,
    env: Mapping[str, str] | None = None,
    timeout_s: float = 60.0,
    retries: int = 3,
) -> BatchSettings:
    """Flags first, then the environment; `SettingsError` when the combination cannot authenticate."""
    env = os.environ if env is None else env
    endpoint = endpoint or env.get(ENV_ENDPOINT) or None
    account_name = account_name or env.get(ENV_ACCOUNT) or None
    account_key = account_key or env.get(ENV_KEY) or None
    if not endpoint:
        raise SettingsError(
            f"no Batch account endpoint: give --endpoint https://ACCOUNT.REGION.batch.azure.com or set {ENV_ENDPOINT}"
        )
    if "://" not in endpoint:
        endpoint = f"https://{endpoint}"
    endpoint = endpoint.rstrip("/")
    if account_key is not None and account_name is None:
        raise SettingsError(f"an account key needs the account name: give --account-name or set {ENV_ACCOUNT}")
    if account_key is not None:
        try:
            base64.b64decode(account_key, validate=True)
        except (binascii.Error, ValueError):
            # The key itself is deliberately left out of the message.
            raise SettingsError(
                "the account key is not valid base64; copy the primary or secondary key "
                "from the Batch account's Keys page"
            ) from None
    if timeout_s <= 0:
        raise SettingsError(f"--timeout must be positive, got {timeout_s:g}")
    return BatchSettings(endpoint, account_name if account_key else None, account_key, timeout_s, retries)


def default_credential(cloud: Cloud | None = None) -> Any:
    """azure-identity's `DefaultAzureCredential` (environment, workload or managed identity, CLI, ...),
    signing in at the cloud's authority."""
    from azure.identity import DefaultAzureCredential

    if cloud is None or cloud is CLOUDS["public"]:
        return DefaultAzureCredential()
    return DefaultAzureCredential(authority=cloud.authority)


def batch_client(settings: BatchSettings, credential: Any = None, **kwargs: Any) -> Any:
    """An azure-batch 15.x `BatchClient` for `settings`.

    credential: a `TokenCredential` to use instead of `DefaultAzureCredential` when there is no key.
    kwargs: passed to the client (`transport`, `per_retry_policies`, ...); timeouts and retries come
    from `settings`. A token is asked for the endpoint's cloud's Batch scope (sovereign clouds too).
    """
    from azure.batch import BatchClient
    from azure.core.credentials import AzureNamedKeyCredential

    cloud = cloud_of(settings.endpoint)
    if settings.shared_key:
        assert settings.account_name is not None and settings.account_key is not None
        credential = AzureNamedKeyCredential(settings.account_name, settings.account_key)
    else:
        if credential is None:
            credential = default_credential(cloud)
        kwargs.setdefault("credential_scopes", [cloud.batch_scope])
    kwargs.setdefault("connection_timeout", settings.timeout_s)
    kwargs.setdefault("read_timeout", settings.timeout_s)
    kwargs.setdefault("retry_total", settings.retries)
    return BatchClient(endpoint=settings.endpoint, credential=credential, **kwargs)
