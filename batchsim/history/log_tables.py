"""Batch service log events → the history's tables (`batchsim history import`, after `logs.py` reads them).

Events used: PoolResizeStartEvent, PoolResizeCompleteEvent, PoolAutoScaleEvent, PoolCreateEvent,
TaskStartEvent, TaskCompleteEvent, TaskFailEvent, TaskRequeueEvent (learn.microsoft.com/azure/batch/
batch-*-event). Service logs carry no task creation time or job priority: those cells stay empty,
and `first_started` (the first attempt's start) stands in for the arrival.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from batchsim.history.directory import AUTOSCALE_COLUMNS, RESIZE_COLUMNS, TASK_COLUMNS, HistoryError, iso
from batchsim.history.metric_records import MetricRecord, node_counts_from_metrics, steps_as_frame

__all__ = [
    "USED_EVENTS",
    "Event",
    "ImportReport",
    "autoscale_table",
    "choose_pool",
    "node_counts_table",
    "policy_changes",
    "pool_document",
    "pool_of",
    "resizes_table",
    "slim",
    "tasks_table",
    "time_of",
]

USED_EVENTS = frozenset(
    {
        "PoolCreateEvent",
        "PoolResizeStartEvent",
        "PoolResizeCompleteEvent",
        "PoolAutoScaleEvent",
        "TaskStartEvent",
        "TaskCompleteEvent",
        "TaskFailEvent",
        "TaskRequeueEvent",
    }
)


@dataclass(frozen=True)
class Event:
    """One service log event: its name, the record's time, and the event body."""

    name: str
    time: datetime | None  # UTC (a pd.Timestamp is one too)
    body: dict[str, Any]


@dataclass
class ImportReport:
    """What an import read and what it skipped, for the summary line and history.json."""

    files: int = 0
    records: int = 0
    used: Counter[str] = field(default_factory=Counter)
    ignored: Counter[str] = field(default_factory=Counter)
    unknown: Counter[str] = field(default_factory=Counter)
    not_json: int = 0
    first_bad_line: str | None = None
    other_pools: Counter[str] = field(default_factory=Counter)
    no_execution_info: int = 0
    pool_id: str = ""
    sources: list[dict[str, Any]] = field(default_factory=list)  # one per file: file, kind, rows, span
    notes: list[str] = field(default_factory=list)
    metrics: list[MetricRecord] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "records": self.records,
            "used": dict(self.used),
            "ignored": dict(self.ignored),
            "unknown_event_types": dict(self.unknown),
            "lines_not_json": self.not_json,
            "first_line_not_json": self.first_bad_line,
            "events_of_other_pools": dict(self.other_pools),
            "task_events_without_execution_info": self.no_execution_info,
            "metric_records": len(self.metrics),
        }


# What tasks_table reads of a task event's body; the rest is dropped as the event is read, so a
# million events fit in memory (issue 22 §4: ≤ 2 GiB). The key strings are these constants, shared.
_TASK_KEYS = ("jobId", "id", "nodeInfo", "requiredSlots")
_INFO_KEYS = ("startTime", "endTime", "exitCode", "retryCount", "requeueCount")
_NODE_KEYS = ("poolId", "nodeId")


def slim(event: Event) -> Event:
    """The event with only what the history uses: a task event's body cut to the fields read, an
    event not used at all to its name and time."""
    if event.name not in USED_EVENTS:
        return Event(event.name, event.time, {})
    if not event.name.startswith("Task"):
        return event
    body = event.body
    kept: dict[str, Any] = {key: body[key] for key in _TASK_KEYS if key in body}
    node = body.get("nodeInfo")
    if isinstance(node, dict):
        kept["nodeInfo"] = {key: node[key] for key in _NODE_KEYS if key in node}
    info = body.get("executionInfo")
    if isinstance(info, dict):
        kept["executionInfo"] = {key: info[key] for key in _INFO_KEYS if key in info}
    return Event(event.name, event.time, kept)


def time_of(value: Any) -> datetime | None:
    """A record's time as a UTC timestamp (a time without a zone is UTC), None when not a time."""
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    try:
        # The standard library parses the service's spellings (`2026-03-02T10:00:00.5698778Z`,
        # `2026-03-02 10:00:00.522`) ten times faster than pd.Timestamp, and a datetime costs less
        # to keep: the columns are converted at once when the tables are made.
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is not None:
        return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    try:
        stamp = pd.Timestamp(text)
    except ValueError:
        return None
    if pd.isna(stamp):
        return None
    utc: datetime = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return utc


# --- events → tables --------------------------------------------------------------------------------


def pool_of(event: Event) -> str | None:
    value = event.body.get("id") if event.name.startswith("Pool") else (event.body.get("nodeInfo") or {}).get("poolId")
    return str(value) if value else None


def choose_pool(owners: list[str | None], pool_id: str | None, everything: list[Event]) -> str:
    """The pool to import: `pool_id`, or the only one; owners: each used event's pool."""
    pools = Counter(p for p in owners if p)
    if pool_id is not None:
        if pool_id not in pools:
            listed = ", ".join(f"{p} ({n} events)" for p, n in pools.most_common(10)) or "none"
            raise HistoryError(f"the logs have no event of pool '{pool_id}'; pools in them: {listed}")
        return pool_id
    if not pools:
        raise HistoryError("the logs hold no pool or task event of the Batch service (ServiceLog)" + _found(everything))
    if len(pools) > 1:
        listed = ", ".join(f"{p} ({n} events)" for p, n in pools.most_common(10))
        raise HistoryError(f"the logs hold events of several pools; choose one with --pool: {listed}")
    return next(iter(pools))


def _found(events: list[Event]) -> str:
    """What the logs did hold, for the message that says they hold nothing usable."""
    names = Counter(e.name for e in events)
    if not names:
        return ""
    listed = ", ".join(f"{name} ×{n}" for name, n in names.most_common(8))
    return f"; found: {listed}"


def int_or_none(value: Any) -> int | None:
    try:
        return None if value is None or value == "" else int(float(value))
    except (TypeError, ValueError):
        return None


def tasks_table(events: list[Event], report: ImportReport) -> pd.DataFrame:
    tasks: dict[tuple[str, str], dict[str, Any]] = {}
    timed = sorted((e for e in events if e.name.startswith("Task") and e.time is not None), key=_event_time)
    untimed = [e for e in events if e.name.startswith("Task") and e.time is None]  # last, in file order
    for event in [*timed, *untimed]:
        body = event.body
        key = (str(body.get("jobId") or ""), str(body.get("id") or ""))
        if not all(key):
            report.unknown[f"{event.name} without jobId/id"] += 1
            continue
        info = body.get("executionInfo")
        if not isinstance(info, dict):
            report.no_execution_info += 1
            continue
        row = tasks.setdefault(key, {"job_id": key[0], "task_id": key[1], "state": "active"})
        node = (body.get("nodeInfo") or {}).get("nodeId")
        slots = int_or_none(body.get("requiredSlots"))
        if slots is not None:
            row["required_slots"] = slots
        for name in ("retry_count", "requeue_count"):
            value = int_or_none(info.get("retryCount" if name == "retry_count" else "requeueCount"))
            if value is not None:
                row[name] = max(value, row.get(name, 0))
        if event.name == "TaskStartEvent":
            if row["state"] != "completed":
                row.update(state="running", started=event.time, ended=None, node_id=node)
                row.setdefault("first_started", event.time)
        elif event.name in ("TaskCompleteEvent", "TaskFailEvent"):
            row.update(
                state="completed",
                started=time_of(info.get("startTime")) or row.get("started"),
                ended=time_of(info.get("endTime")) or event.time,
                exit_code=int_or_none(info.get("exitCode")),
                node_id=node or row.get("node_id"),
            )
            row.setdefault("first_started", row["started"])
        elif event.name == "TaskRequeueEvent" and row["state"] != "completed":
            # The requeued attempt ended at its executionInfo.endTime; a start at or after that is
            # the restart (its event can be logged before the requeue's), which keeps running.
            requeued_end = time_of(info.get("endTime"))
            restarted = row.get("started") is not None and requeued_end is not None and row["started"] >= requeued_end
            if not restarted:
                row.update(state="active", started=None, ended=None)
            row.setdefault("first_started", time_of(info.get("startTime")))
    frame = pd.DataFrame(list(tasks.values()))
    if not len(frame):
        return pd.DataFrame(columns=TASK_COLUMNS)
    frame["created"] = pd.NaT
    for column in ("started", "ended", "first_started"):
        if column not in frame:
            frame[column] = pd.NaT
        frame[column] = pd.to_datetime(frame[column], utc=True)
    for column in ("exit_code", "required_slots", "retry_count", "requeue_count"):
        if column in frame:
            frame[column] = frame[column].astype("Int64")
    return frame


def resizes_table(events: list[Event]) -> pd.DataFrame:
    starts = sorted(
        ((e.time, e.body) for e in events if e.name == "PoolResizeStartEvent" and e.time is not None),
        key=lambda item: item[0],
    )
    rows = []
    for event in events:
        if event.name != "PoolResizeCompleteEvent":
            continue
        body = event.body
        start, end = time_of(body.get("startTime")), time_of(body.get("endTime")) or event.time
        if start is None or end is None:
            continue
        # The start event of this resize: the last one at most a minute after the complete event's startTime.
        before = [b for t, b in starts if t <= start + pd.Timedelta(minutes=1)]
        origin = before[-1] if before else {}
        rows.append(
            {
                "start": start,
                "end": end,
                "target_dedicated": int_or_none(body.get("targetDedicatedNodes")),
                "target_spot": int_or_none(body.get("targetLowPriorityNodes")),
                "current_dedicated": int_or_none(body.get("currentDedicatedNodes")),
                "current_spot": int_or_none(body.get("currentLowPriorityNodes")),
                "result_code": body.get("resultCode"),
                "from_dedicated": int_or_none(origin.get("currentDedicatedNodes")),
                "from_spot": int_or_none(origin.get("currentLowPriorityNodes")),
            }
        )
    return pd.DataFrame(rows, columns=RESIZE_COLUMNS)


def autoscale_table(events: list[Event]) -> pd.DataFrame:
    rows = []
    for event in events:
        if event.name != "PoolAutoScaleEvent":
            continue
        body = event.body
        raw_error = body.get("error")
        error: dict[str, Any] = raw_error if isinstance(raw_error, dict) else {}
        values = error.get("values") or []
        detail = next((v.get("value") for v in values if isinstance(v, dict) and v.get("name") == "Message"), None)
        rows.append(
            {
                "time": time_of(body.get("timestamp")) or event.time,
                "results": body.get("results"),
                "error_code": error.get("code"),
                "error_message": detail or error.get("message"),
            }
        )
    frame = pd.DataFrame(rows, columns=AUTOSCALE_COLUMNS)
    return frame.sort_values("time", kind="stable") if len(frame) else frame


def pool_document(events: list[Event], pool_id: str, base: dict[str, Any] | None, region: str | None) -> dict[str, Any]:
    """pool.json from what the logs say: a pool create event, the last autoscale formula, resize targets."""
    pool: dict[str, Any] = {"id": pool_id}
    created = [e.body for e in events if e.name == "PoolCreateEvent"]
    if created:
        body = created[-1]
        for key in ("vmSize", "taskSlotsPerNode", "targetDedicatedNodes", "targetLowPriorityNodes", "enableAutoScale"):
            if body.get(key) is not None:
                pool[key] = body[key]
        if body.get("vmFillType"):
            pool["taskSchedulingPolicy"] = {"nodeFillType": str(body["vmFillType"]).lower()}
        timeout_ms = int_or_none(body.get("resizeTimeout"))  # the event writes milliseconds ("300000")
        if timeout_ms:
            minutes, seconds = divmod(timeout_ms // 1000, 60)
            pool["resizeTimeout"] = f"PT{minutes}M{seconds}S" if seconds else f"PT{minutes}M"
        agent = (body.get("virtualMachineConfiguration") or {}).get("nodeAgentId")
        if agent:
            pool["virtualMachineConfiguration"] = {"nodeAgentSKUId": agent}
    formulas = [e for e in events if e.name == "PoolAutoScaleEvent" and e.body.get("formula")]
    if formulas:
        pool["enableAutoScale"] = True
        pool["autoScaleFormula"] = formulas[-1].body["formula"]
        times = sorted(t for t in (time_of(e.body.get("timestamp")) or e.time for e in formulas) if t is not None)
        if len(times) >= 3:
            gaps = pd.Series(times).diff().dt.total_seconds().dropna()
            minutes = max(5, round(float(gaps.median()) / 60))
            pool["autoScaleEvaluationInterval"] = f"PT{minutes}M"
    resizes = [e.body for e in events if e.name == "PoolResizeCompleteEvent"]
    if resizes:
        pool.setdefault("enableAutoScale", bool(resizes[-1].get("enableAutoScale")))
        pool.setdefault("targetDedicatedNodes", resizes[-1].get("targetDedicatedNodes"))
        pool.setdefault("targetLowPriorityNodes", resizes[-1].get("targetLowPriorityNodes"))
    if base:
        pool = {**pool, **base, "id": pool_id}
    if region:
        pool["location"] = region
    return pool


def policy_changes(events: list[Event]) -> dict[str, list[dict[str, Any]]]:
    """The formula in force from each change on, and the resizes asked for with autoscale off
    (manual), for backtest to say what one replay of one policy cannot follow."""
    formulas: list[dict[str, Any]] = []
    timed = [(time_of(e.body.get("timestamp")) or e.time, e) for e in events if e.name == "PoolAutoScaleEvent"]
    for moment, event in sorted(((t, e) for t, e in timed if t is not None), key=lambda item: item[0]):
        formula = event.body.get("formula")
        if formula and (not formulas or formulas[-1]["formula"] != formula):
            formulas.append({"time": iso(moment), "formula": formula})
    manual = [
        {
            "start": iso(e.time),
            "target_dedicated": int_or_none(e.body.get("targetDedicatedNodes")),
            "target_spot": int_or_none(e.body.get("targetLowPriorityNodes")),
        }
        for e in sorted((e for e in events if e.name == "PoolResizeStartEvent" and e.time is not None), key=_event_time)
        if e.body.get("enableAutoScale") is False or str(e.body.get("enableAutoScale")).lower() == "false"
    ]
    return {"formula_changes": formulas, "manual_resizes": manual}


def _event_time(event: Event) -> datetime:
    assert event.time is not None
    return event.time


def _count_steps(events: list[Event]) -> pd.DataFrame | None:
    """Dedicated and Spot counts as steps from the pool's create event (none yet) and each resize:
    the counts a resize starts from at its start, and those it completes with at its end."""
    steps: list[tuple[datetime, float, float]] = []
    for event in events:
        body = event.body
        if event.name == "PoolCreateEvent" and event.time is not None:
            steps.append((event.time, 0.0, 0.0))
        elif event.name in ("PoolResizeStartEvent", "PoolResizeCompleteEvent"):
            at = event.time if event.name == "PoolResizeStartEvent" else time_of(body.get("endTime")) or event.time
            dedicated, spot = (
                int_or_none(body.get("currentDedicatedNodes")),
                int_or_none(body.get("currentLowPriorityNodes")),
            )
            if at is not None and dedicated is not None and spot is not None:
                steps.append((at, float(dedicated), float(spot)))
    if not steps:
        return None
    steps.sort(key=lambda step: step[0])
    return steps_as_frame([t for t, _, _ in steps], [d for _, d, _ in steps], [s for _, _, s in steps])


def node_counts_table(mine: list[Event], metrics: list[MetricRecord], notes: list[str]) -> pd.DataFrame | None:
    counts = node_counts_from_metrics(metrics)
    if counts is not None:
        notes.append(
            "node_counts.csv from the platform metrics' node counts, which have no pool dimension: they count "
            "the whole account, and are this pool's only when the account has no other pool"
        )
        return counts
    counts = _count_steps(mine)
    if counts is not None:
        notes.append(
            "node_counts.csv reconstructed as steps from the pool's create and resize events (the counts each "
            "resize starts from and completes with); preemptions are unknown (Azure Monitor's PreemptedNodeCount, "
            "through `history pull --resource-id`, has them)"
        )
    return counts
