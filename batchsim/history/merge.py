"""Several histories of one pool → one (`batchsim history merge`, and `history import` into an existing one).

No one source is complete (docs/history.md): `pull` has creation times, priorities and nodes but no
resizes; service logs have resizes, evaluations and first starts but no creation times; Azure
Monitor has node counts. Merged, a row is keyed so that what two sources both saw is one row:

- tasks by (job_id, task_id): each column from the first source that knows it, the most advanced
  state first (completed, then running, then active), so a pull's "running" yields to the logs'
  later "completed" and the pull's `created` fills the logs' empty one;
- resizes by (start, end), evaluations by time, node counts by time (measured counts, with a
  preempted column, are kept over counts reconstructed from resize events), nodes by node_id;
- pool.json: each key from the first source that has it (a pull's REST document first);
- history.json: the union of the windows and every source's `sources` entries and notes; the latest
  `pool_nodes_now` of a pull.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from batchsim.history.directory import (
    AUTOSCALE_COLUMNS,
    NODE_COLUMNS,
    NODE_COUNT_COLUMNS,
    RESIZE_COLUMNS,
    TASK_COLUMNS,
    History,
    HistoryError,
    finish_directory,
    iso,
    partial_path,
    read_history,
    read_tasks_as_recorded,
    write_frame,
    write_json,
)

__all__ = ["MergeReport", "merge_histories", "source_entries"]

_STATE_ORDER = {"completed": 0, "running": 1, "preparing": 1, "active": 2}
_EXTRA_COUNT_COLUMNS = ("idle", "running", "starting", "unusable")


@dataclass(frozen=True)
class MergeReport:
    out: Path
    rows: dict[str, int]  # file → rows after merging
    duplicates: dict[str, int]  # file → rows seen twice and kept once


def source_entries(history: History) -> list[dict[str, Any]]:
    """A history's `sources`; a history written before they were listed gets one entry for itself."""
    listed = history.meta.get("sources")
    if isinstance(listed, list) and listed:
        return [dict(entry) for entry in listed]
    return [
        {
            "file": str(history.path),
            "kind": str(history.meta.get("source") or "history directory"),
            "rows": len(history.tasks),
            "span": {"start": iso(history.window_start), "end": iso(history.window_end)},
        }
    ]


def _keyed(frames: list[pd.DataFrame], key: list[str], columns: list[str]) -> tuple[pd.DataFrame, int]:
    """One row per key, each column the first non-empty value in source order."""
    parts = [f.reindex(columns=list(dict.fromkeys([*columns, *f.columns]))) for f in frames if f is not None and len(f)]
    if not parts:
        return pd.DataFrame(columns=columns), 0
    joined = pd.concat(parts, ignore_index=True)
    merged = joined.groupby(key, sort=False, dropna=False).first().reset_index()
    return merged, len(joined) - len(merged)


def _tasks(histories: list[History]) -> tuple[pd.DataFrame, int]:
    frames = []
    for order, history in enumerate(histories):
        frame = read_tasks_as_recorded(history.path)
        state = frame["state"] if "state" in frame else pd.Series(pd.NA, index=frame.index)
        frame["_rank"] = state.astype("string").str.lower().map(_STATE_ORDER).fillna(3).astype(float)
        frame["_order"] = order
        frames.append(frame)
    joined = pd.concat(frames, ignore_index=True).sort_values(["_rank", "_order"], kind="stable")
    merged, duplicates = _keyed([joined], ["job_id", "task_id"], TASK_COLUMNS)
    return merged.drop(columns=["_rank", "_order"]), duplicates


def _node_counts(histories: list[History]) -> tuple[pd.DataFrame | None, int]:
    frames = [h.node_counts for h in histories if h.node_counts is not None and len(h.node_counts)]
    measured = [f for f in frames if f["preempted"].notna().any()]
    chosen = measured or frames
    if not chosen:
        return None, 0
    merged, duplicates = _keyed(chosen, ["time"], NODE_COUNT_COLUMNS)
    return merged.sort_values("time", kind="stable"), duplicates


def _pool(histories: list[History]) -> dict[str, Any]:
    ids = {h.pool_id for h in histories}
    if len(ids) > 1:
        raise HistoryError(f"the histories are of different pools ({', '.join(sorted(ids))}); merge one pool's")
    pool: dict[str, Any] = {}
    for history in histories:
        for key, value in history.pool.items():
            pool.setdefault(key, value)
    return pool


def _meta(histories: list[History], sources: list[dict[str, Any]]) -> dict[str, Any]:
    start = min(h.window_start for h in histories)
    end = max(h.window_end for h in histories)
    meta: dict[str, Any] = {
        "format": "batchsim-history/1",
        "source": "merged",
        "pool_id": histories[0].pool_id,
        "window": {"start": iso(start), "end": iso(end)},
        "window_source": "asked"
        if all(h.meta.get("window_source", "asked") == "asked" and h.meta.get("window") for h in histories)
        else "events",
        "sources": sources,
    }
    labels = [h.meta["label"] for h in histories if h.meta.get("label")]
    if labels:
        meta["label"] = labels[0]
    for key, time_key in (("formula_changes", "time"), ("manual_resizes", "start")):
        rows = {str(row.get(time_key)): row for h in histories for row in h.meta.get(key) or []}
        if rows:
            meta[key] = [rows[t] for t in sorted(rows)]
    # A pull's counts of the pool's own nodes at its time (batchsim.azure.pool_nodes): the latest is kept.
    counted = [h.meta["pool_nodes_now"] for h in histories if isinstance(h.meta.get("pool_nodes_now"), dict)]
    if counted:
        meta["pool_nodes_now"] = max(counted, key=lambda counts: str(counts.get("time")))
    notes = [n for h in histories for n in h.meta.get("notes") or []]
    if notes:
        meta["notes"] = list(dict.fromkeys(notes))
    return meta


def merge_histories(sources: list[Path], out: Path, *, force: bool = False) -> MergeReport:
    """Merge the history directories `sources` (in order of trust) into `out`, written whole.

    `out` may be one of `sources` (an import merging into an existing history): it is replaced
    only once the merged history is complete.
    """
    if len(sources) < 2:
        raise HistoryError("merge needs at least two history directories")
    histories = [read_history(path) for path in sources]
    resolved = {p.resolve() for p in sources}
    if out.exists() and not force and out.resolve() not in resolved:
        raise HistoryError(f"{out} already exists; give --force to replace it")
    entries = [entry for h in histories for entry in source_entries(h)]
    rows: dict[str, int] = {}
    duplicates: dict[str, int] = {}
    partial = partial_path(out)
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    write_json(partial, "pool.json", _pool(histories))
    tasks, duplicates["tasks.csv"] = _tasks(histories)
    write_frame(partial, "tasks.csv", tasks, TASK_COLUMNS)
    rows["tasks.csv"] = len(tasks)
    for name, attribute, key, columns in (
        ("autoscale.csv", "autoscale", ["time"], AUTOSCALE_COLUMNS),
        ("resizes.csv", "resizes", ["start", "end"], RESIZE_COLUMNS),
        ("nodes.csv", "nodes", ["node_id"], NODE_COLUMNS),
    ):
        frames = [getattr(h, attribute) for h in histories if getattr(h, attribute) is not None]
        if not frames:
            continue
        merged, duplicates[name] = _keyed(frames, key, columns)
        if attribute == "nodes":
            merged["dedicated"] = merged["dedicated"].map({True: "true", False: "false"})
        else:
            merged = merged.sort_values(key, kind="stable")
        write_frame(partial, name, merged, columns)
        rows[name] = len(merged)
    counts, duplicates["node_counts.csv"] = _node_counts(histories)
    if counts is not None:
        extra = [c for c in _EXTRA_COUNT_COLUMNS if c in counts and counts[c].notna().any()]
        write_frame(partial, "node_counts.csv", counts, [*NODE_COUNT_COLUMNS, *extra])
        rows["node_counts.csv"] = len(counts)
    write_json(partial, "history.json", _meta(histories, entries))
    finish_directory(partial, out, force=True)
    return MergeReport(out, rows, {k: v for k, v in duplicates.items() if v})
