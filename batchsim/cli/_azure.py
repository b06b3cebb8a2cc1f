"""Options shared by the commands that talk to Azure (`export`, `pool pull`, `history pull`, `skus`)."""

from __future__ import annotations

__all__ = ["ACCOUNT_HELP", "DEBUG_HELP", "ENDPOINT_HELP", "KEY_HELP", "RETRIES_HELP", "TIMEOUT_HELP"]

ENDPOINT_HELP = "Batch account URL, https://ACCOUNT.REGION.batch.azure.com (else AZURE_BATCH_ENDPOINT)."
ACCOUNT_HELP = "Batch account name for shared-key auth (else AZURE_BATCH_ACCOUNT)."
KEY_HELP = (
    "Batch account key (else AZURE_BATCH_ACCESS_KEY, preferred: flags show in the process list). "
    "Without a key: Microsoft Entra ID through DefaultAzureCredential."
)
TIMEOUT_HELP = "Seconds to wait for a connection or an answer."
RETRIES_HELP = "Retries of transient failures (connection errors, 500/503/504) by azure-core."
DEBUG_HELP = "Log the SDK's HTTP requests and responses to stderr (keys and tokens redacted)."
