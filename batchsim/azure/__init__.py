"""Everything that talks to Azure. Azure SDKs are imported lazily, inside functions.

    client.py   BatchClient construction: flags, then AZURE_BATCH_* variables, then DefaultAzureCredential
    pool.py     a pool's fields as plain values (PoolView), results strings
    export.py   check → get pool → evaluate → diff → enable; disable
    diff.py     formula and results diffs
    pull.py     a scenario skeleton from a pool
    skus.py     VM sizes (azure-mgmt-compute) and Batch core quotas (azure-mgmt-batch) as catalog rows
    errors.py   one clear message per failure; the service's formula errors with line and column
    history.py  `history pull`: a pool's jobs, tasks and nodes into a history directory, resumable
    metrics.py  one-minute node counts from Azure Monitor (azure-monitor-querymetrics)
    logging_setup.py  what the SDKs may print: errors only, or the HTTP log with --debug (redacted)

Nothing is re-exported here, so that `import batchsim.azure` stays free of SDK imports.
"""

from __future__ import annotations

__all__: list[str] = []
