"""The pool's own node counts now, from its compute-node list (`history pull` on an account of several pools).

Azure Monitor's node-count metrics have no pool dimension, so on an account with several pools
they count every pool's nodes; the pool's node list (REST Compute Node - List,
learn.microsoft.com/rest/api/batchservice/compute-node/list: `id`, `state`, `stateTransitionTime`,
`isDedicated`, `allocationTime`) is the pool's alone, but only as it is at the pull. It gives the
counts node_counts.csv would have at that minute: dedicated and Spot nodes (`isDedicated`; a
preempted Spot node still counts as Spot, as `currentLowPriorityNodes` does), and per state, with
when each preempted node was preempted (its `stateTransitionTime`).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from batchsim.history.directory import iso

__all__ = ["NOW_TOLERANCE", "account_caveat", "counts_now"]

# The node list is the window's last count only when the window ends at the pull (the default
# --until is now); a pull's own minutes of paging are allowed for.
NOW_TOLERANCE = timedelta(minutes=10)

# node_counts.csv's per-state columns ← the node states the matching Azure Monitor metric counts.
_STATE_COLUMNS = {"idle": "idle", "running": "running", "starting": "starting", "unusable": "unusable"}


def counts_now(nodes: list[dict[str, Any]], pulled_at: datetime, until: datetime) -> dict[str, Any]:
    """The pool's counts at `pulled_at` from its node list, and whether that is the window's end."""
    states = Counter(str(node.get("state") or "unknown").lower() for node in nodes)
    dedicated = sum(1 for node in nodes if node.get("isDedicated"))
    preempted_since = sorted(
        str(node.get("stateTransitionTime") or "")
        for node in nodes
        if str(node.get("state") or "").lower() == "preempted"
    )
    counts: dict[str, Any] = {
        "time": iso(pulled_at),
        "source": "the pool's node list (Compute Node - List)",
        "window_end": abs(pulled_at - until) <= NOW_TOLERANCE,
        "dedicated": dedicated,
        "spot": len(nodes) - dedicated,
        "preempted": states.get("preempted", 0),
    }
    counts.update({column: states.get(state, 0) for column, state in _STATE_COLUMNS.items()})
    counts["states"] = dict(sorted(states.items()))
    counts["preempted_since"] = preempted_since
    return counts


def account_caveat(pools: list[str], pool_id: str, counts: dict[str, Any], *, monitor: bool) -> str:
    """The note a pull of one pool of several writes (history.json and the terminal)."""
    others = [p for p in pools if p != pool_id]
    named = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
    what = (
        "so node_counts.csv was not written from them"
        if monitor
        else "so --resource-id would not give this pool's counts"
    )
    minutes = NOW_TOLERANCE.seconds // 60
    when = (
        "the window's end"
        if counts["window_end"]
        else f"{counts['time']}, after the window (--until is more than {minutes} min before the pull)"
    )
    return (
        f"the account has {len(pools)} pools (also {named}) and Azure Monitor's node counts have no pool "
        f"dimension (they count the whole account), {what}; the pool's own node list gives its counts at "
        f"{when}: {counts['dedicated']} dedicated, {counts['spot']} Spot, {counts['preempted']} preempted "
        "(history.json pool_nodes_now)"
    )
