"""Batch service log events → a history directory (`batchsim history import`).

Two shapes users have (record shapes and their sources in docs/history.md):

- **Azure Monitor resource logs archived to a storage account**: blobs `PT1H.json` under
  `insights-logs-servicelog/resourceId=/SUBSCRIPTIONS/.../BATCHACCOUNTS/NAME/y=/m=/d=/h=/m=00/`,
  one record per line (JSON lines; before November 2018 one `{"records": [...]}` document), each
  in the common top-level schema (`time`, `resourceId`, `category` "ServiceLog", `operationName`,
  `operationVersion`, ...) with the event body in `properties`.
- **A Log Analytics export** of the `AzureDiagnostics` table: the portal's CSV, the JSON rows
  `az monitor log-analytics query` prints, or the query API's `{"tables": [...]}`; the body is
  flattened into columns named by path and type (`executionInfo_startTime_t`, `nodeInfo_poolId_s`,
  `currentDedicatedNodes_d`), beside `TimeGenerated` and `OperationName`.

Events used: PoolResizeStartEvent, PoolResizeCompleteEvent, PoolAutoScaleEvent, PoolCreateEvent,
TaskStartEvent, TaskCompleteEvent, TaskFailEvent, TaskRequeueEvent. Other documented events are
counted as ignored, unknown ones as skipped; a line that is not JSON is skipped and counted with
its file and line. Service logs carry no task creation time or job priority: those cells stay empty,
and `first_started` (the first attempt's start) stands in for the arrival.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import re
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from batchsim.history.directory import (
    AUTOSCALE_COLUMNS,
    NODE_COUNT_COLUMNS,
    RESIZE_COLUMNS,
    TASK_COLUMNS,
    HistoryError,
    finish_directory,
    iso,
    partial_path,
    write_frame,
    write_json,
)
from batchsim.history.metric_records import (
    MetricRecord,
    cross_checks,
    metric_record,
    node_counts_from_metrics,
    steps_as_frame,
)

__all__ = ["USED_EVENTS", "Event", "ImportReport", "import_logs", "read_events"]

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
# Documented service log events (monitor-batch-reference) that a history does not need.
IGNORED_EVENTS = frozenset(
    {"PoolDeleteStartEvent", "PoolDeleteCompleteEvent", "TaskScheduleFailEvent", "SpecialTaskEvent"}
)
_EXTRA = ("idle", "running", "starting", "unusable")  # node_counts.csv's optional state columns
_TYPE_SUFFIX = re.compile(r"_(s|d|b|t|g|l|i|r)$")
_LA_META = {
    "TenantId",
    "SourceSystem",
    "TimeGenerated",
    "ResourceId",
    "Category",
    "OperationName",
    "Type",
    "_ResourceId",
}


@dataclass(frozen=True)
class Event:
    """One service log event: its name, the record's time, and the event body."""

    name: str
    time: pd.Timestamp | None
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


def _time(value: Any) -> pd.Timestamp | None:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        stamp = pd.Timestamp(str(value).strip())
    except ValueError:
        return None
    if pd.isna(stamp):
        return None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


# --- the storage shape -----------------------------------------------------------------------------


def _from_resource_log(record: dict[str, Any]) -> Event | None:
    name = record.get("operationName")
    if not isinstance(name, str):
        return None
    body = record.get("properties")
    if isinstance(body, str):  # some pipelines write the body as a JSON string
        try:
            body = json.loads(body)
        except json.JSONDecodeError:
            body = None
    return Event(name, _time(record.get("time")), body if isinstance(body, dict) else {})


# --- the Log Analytics shape -----------------------------------------------------------------------


def _value(column: str, raw: Any) -> Any:
    suffix = _TYPE_SUFFIX.search(column)
    kind = suffix.group(1) if suffix else "s"
    if raw is None or raw == "" or (isinstance(raw, float) and math.isnan(raw)):
        return None
    if kind in ("d", "l", "i", "r"):
        try:
            number = float(raw)
        except (TypeError, ValueError):
            return raw
        return int(number) if number.is_integer() else number
    if kind == "b":
        return raw if isinstance(raw, bool) else str(raw).strip().lower() == "true"
    if isinstance(raw, str) and raw[:1] in "[{":
        # A list in the body (an autoscale error's `values`) is stored as its JSON text.
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def _from_diagnostics_row(row: dict[str, Any]) -> Event | None:
    """An AzureDiagnostics row → an event, unflattening `a_b_c_s` columns into {"a": {"b": {"c": ...}}}."""
    keys = {key.split(" [")[0]: value for key, value in row.items()}  # the portal writes "TimeGenerated [UTC]"
    name = keys.get("OperationName")
    if not isinstance(name, str) or not name:
        return None
    body: dict[str, Any] = {}
    extra = keys.get("AdditionalFields")
    if isinstance(extra, str) and extra.strip().startswith("{"):
        with contextlib.suppress(json.JSONDecodeError):
            keys = {**json.loads(extra), **keys}
    elif isinstance(extra, dict):
        keys = {**extra, **keys}
    for column in ("properties_s", "Properties_s", "properties"):
        # A body left unflattened: one column holding the event body as JSON text.
        raw_body = keys.get(column)
        if isinstance(raw_body, str) and raw_body.strip().startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                parsed = json.loads(raw_body)
                if isinstance(parsed, dict):
                    body.update(parsed)
        elif isinstance(raw_body, dict):
            body.update(raw_body)
    for column, raw in keys.items():
        if column in _LA_META or column == "AdditionalFields" or not _TYPE_SUFFIX.search(column):
            continue
        if column in ("properties_s", "Properties_s"):
            continue
        value = _value(column, raw)
        if value is None:
            continue
        path = _TYPE_SUFFIX.sub("", column).split("_")
        node = body
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            node[path[-1]] = value
    return Event(name, _time(keys.get("TimeGenerated")), body)


def _api_rows(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for table in document.get("tables") or []:
        names = [str(c.get("name")) for c in table.get("columns") or []]
        for values in table.get("rows") or []:
            yield dict(zip(names, values, strict=False))


# --- files -------------------------------------------------------------------------------------------


def _document_events(document: Any) -> Iterator[Event | MetricRecord | None]:
    if isinstance(document, dict) and "tables" in document:
        for row in _api_rows(document):
            yield _from_record(row)
    elif isinstance(document, dict) and "records" in document:
        for record in document["records"] or []:
            yield _from_resource_log(record) if isinstance(record, dict) else None
    elif isinstance(document, list):
        for item in document:
            yield _from_record(item)
    else:
        yield _from_record(document)


def _from_record(item: Any) -> Event | MetricRecord | None:
    if not isinstance(item, dict):
        return None
    if "operationName" in item:
        return _from_resource_log(item)
    if "metricName" in item or "MetricName" in item:  # a platform metric: storage archive or AzureMetrics
        return metric_record(item)
    return _from_diagnostics_row(item)


def _file_events(path: Path, report: ImportReport) -> Iterator[Event | MetricRecord | None]:
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as stream:
            for row in csv.DictReader(stream):
                yield _from_record(row)
        return
    with path.open(encoding="utf-8-sig") as stream:
        head = stream.read(1 << 16)
        stream.seek(0)
        stripped = head.lstrip()
        if stripped.startswith("[") or (
            stripped.startswith("{") and ('"records"' in head[:200] or '"tables"' in head[:200])
        ):
            try:
                document = json.load(stream)
            except json.JSONDecodeError as exc:
                report.not_json += 1
                report.first_bad_line = report.first_bad_line or f"{path}:{exc.lineno}: {exc.msg}"
                return
            yield from _document_events(document)
            return
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                report.not_json += 1
                report.first_bad_line = report.first_bad_line or f"{path}:{number}: not JSON ({exc.msg})"
                continue
            yield _from_record(record)


def _log_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in (".json", ".csv", ".jsonl"))
            )
        elif path.is_file():
            files.append(path)
        else:
            raise HistoryError(f"{path}: no such file or directory")
    if not files:
        raise HistoryError(f"no log files (*.json, *.jsonl, *.csv) in {', '.join(str(p) for p in paths)}")
    return files


def read_events(paths: Iterable[Path], report: ImportReport) -> list[Event]:
    """Every Batch service log event in `paths` (files, or directories searched for *.json/*.csv);
    platform metric records go to `report.metrics`, each file's kind, rows and span to `report.sources`."""
    events: list[Event] = []
    for file in _log_files(list(paths)):
        report.files += 1
        kinds: Counter[str] = Counter()
        first: pd.Timestamp | None = None
        last: pd.Timestamp | None = None
        try:
            for item in _file_events(file, report):
                report.records += 1
                if item is None:
                    report.unknown["(not a service log record)"] += 1
                    continue
                if isinstance(item, MetricRecord):
                    report.metrics.append(item)
                    kinds["platform metrics"] += 1
                else:
                    events.append(item)
                    kinds["service logs"] += 1
                when = item.time
                if when is not None:
                    first = when if first is None or when < first else first
                    last = when if last is None or when > last else last
        except (OSError, UnicodeDecodeError) as exc:
            raise HistoryError(f"{file}: cannot read: {exc}") from None
        report.sources.append(
            {
                "file": str(file),
                "kind": " and ".join(sorted(kinds)) or "nothing usable",
                "rows": sum(kinds.values()),
                "span": {
                    "start": iso(first) if first is not None else None,
                    "end": iso(last) if last is not None else None,
                },
            }
        )
    return events


# --- events → history --------------------------------------------------------------------------------


def _pool_of(event: Event) -> str | None:
    value = event.body.get("id") if event.name.startswith("Pool") else (event.body.get("nodeInfo") or {}).get("poolId")
    return str(value) if value else None


def _choose_pool(events: list[Event], pool_id: str | None, everything: list[Event]) -> str:
    pools = Counter(p for p in (_pool_of(e) for e in events if e.name in USED_EVENTS) if p)
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


def _int(value: Any) -> int | None:
    try:
        return None if value is None or value == "" else int(float(value))
    except (TypeError, ValueError):
        return None


def _tasks(events: list[Event], report: ImportReport) -> pd.DataFrame:
    tasks: dict[tuple[str, str], dict[str, Any]] = {}
    for event in sorted((e for e in events if e.name.startswith("Task")), key=lambda e: (e.time is None, e.time)):
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
        slots = _int(body.get("requiredSlots"))
        if slots is not None:
            row["required_slots"] = slots
        for name in ("retry_count", "requeue_count"):
            value = _int(info.get("retryCount" if name == "retry_count" else "requeueCount"))
            if value is not None:
                row[name] = max(value, row.get(name, 0))
        if event.name == "TaskStartEvent":
            if row["state"] != "completed":
                row.update(state="running", started=event.time, ended=None, node_id=node)
                row.setdefault("first_started", event.time)
        elif event.name in ("TaskCompleteEvent", "TaskFailEvent"):
            row.update(
                state="completed",
                started=_time(info.get("startTime")) or row.get("started"),
                ended=_time(info.get("endTime")) or event.time,
                exit_code=_int(info.get("exitCode")),
                node_id=node or row.get("node_id"),
            )
            row.setdefault("first_started", row["started"])
        elif event.name == "TaskRequeueEvent" and row["state"] != "completed":
            # The requeued attempt ended at its executionInfo.endTime; a start at or after that is
            # the restart (its event can be logged before the requeue's), which keeps running.
            requeued_end = _time(info.get("endTime"))
            restarted = row.get("started") is not None and requeued_end is not None and row["started"] >= requeued_end
            if not restarted:
                row.update(state="active", started=None, ended=None)
            row.setdefault("first_started", _time(info.get("startTime")))
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


def _resizes(events: list[Event]) -> pd.DataFrame:
    starts = sorted(
        ((e.time, e.body) for e in events if e.name == "PoolResizeStartEvent" and e.time is not None),
        key=lambda item: item[0],
    )
    rows = []
    for event in events:
        if event.name != "PoolResizeCompleteEvent":
            continue
        body = event.body
        start, end = _time(body.get("startTime")), _time(body.get("endTime")) or event.time
        if start is None or end is None:
            continue
        # The start event of this resize: the last one at most a minute after the complete event's startTime.
        before = [b for t, b in starts if t <= start + pd.Timedelta(minutes=1)]
        origin = before[-1] if before else {}
        rows.append(
            {
                "start": start,
                "end": end,
                "target_dedicated": _int(body.get("targetDedicatedNodes")),
                "target_spot": _int(body.get("targetLowPriorityNodes")),
                "current_dedicated": _int(body.get("currentDedicatedNodes")),
                "current_spot": _int(body.get("currentLowPriorityNodes")),
                "result_code": body.get("resultCode"),
                "from_dedicated": _int(origin.get("currentDedicatedNodes")),
                "from_spot": _int(origin.get("currentLowPriorityNodes")),
            }
        )
    return pd.DataFrame(rows, columns=RESIZE_COLUMNS)


def _autoscale(events: list[Event]) -> pd.DataFrame:
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
                "time": _time(body.get("timestamp")) or event.time,
                "results": body.get("results"),
                "error_code": error.get("code"),
                "error_message": detail or error.get("message"),
            }
        )
    frame = pd.DataFrame(rows, columns=AUTOSCALE_COLUMNS)
    return frame.sort_values("time", kind="stable") if len(frame) else frame


def _pool_json(events: list[Event], pool_id: str, base: dict[str, Any] | None, region: str | None) -> dict[str, Any]:
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
        timeout_ms = _int(body.get("resizeTimeout"))  # the event writes milliseconds ("300000")
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
        times = sorted(t for t in (_time(e.body.get("timestamp")) or e.time for e in formulas) if t is not None)
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


def _policy_changes(events: list[Event]) -> dict[str, list[dict[str, Any]]]:
    """The formula in force from each change on, and the resizes asked for with autoscale off
    (manual), for backtest to say what one replay of one policy cannot follow."""
    formulas: list[dict[str, Any]] = []
    timed = [(_time(e.body.get("timestamp")) or e.time, e) for e in events if e.name == "PoolAutoScaleEvent"]
    for moment, event in sorted(((t, e) for t, e in timed if t is not None), key=lambda item: item[0]):
        formula = event.body.get("formula")
        if formula and (not formulas or formulas[-1]["formula"] != formula):
            formulas.append({"time": iso(moment), "formula": formula})
    manual = [
        {
            "start": iso(e.time),
            "target_dedicated": _int(e.body.get("targetDedicatedNodes")),
            "target_spot": _int(e.body.get("targetLowPriorityNodes")),
        }
        for e in sorted((e for e in events if e.name == "PoolResizeStartEvent" and e.time is not None), key=_event_time)
        if e.body.get("enableAutoScale") is False or str(e.body.get("enableAutoScale")).lower() == "false"
    ]
    return {"formula_changes": formulas, "manual_resizes": manual}


def _event_time(event: Event) -> pd.Timestamp:
    assert event.time is not None
    return event.time


def _count_steps(events: list[Event]) -> pd.DataFrame | None:
    """Dedicated and Spot counts as steps from the pool's create event (none yet) and each resize:
    the counts a resize starts from at its start, and those it completes with at its end."""
    steps: list[tuple[pd.Timestamp, float, float]] = []
    for event in events:
        body = event.body
        if event.name == "PoolCreateEvent" and event.time is not None:
            steps.append((event.time, 0.0, 0.0))
        elif event.name in ("PoolResizeStartEvent", "PoolResizeCompleteEvent"):
            at = event.time if event.name == "PoolResizeStartEvent" else _time(body.get("endTime")) or event.time
            dedicated, spot = _int(body.get("currentDedicatedNodes")), _int(body.get("currentLowPriorityNodes"))
            if at is not None and dedicated is not None and spot is not None:
                steps.append((at, float(dedicated), float(spot)))
    if not steps:
        return None
    steps.sort(key=lambda step: step[0])
    return steps_as_frame([t for t, _, _ in steps], [d for _, d, _ in steps], [s for _, _, s in steps])


def _node_counts(mine: list[Event], metrics: list[MetricRecord], notes: list[str]) -> pd.DataFrame | None:
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


def import_logs(
    paths: list[Path],
    out: Path,
    *,
    pool_id: str | None = None,
    pool_json: dict[str, Any] | None = None,
    region: str | None = None,
    since: pd.Timestamp | None = None,
    until: pd.Timestamp | None = None,
    force: bool = False,
) -> ImportReport:
    """Read the logs, keep one pool's events in the window, write the history to `out` (whole).

    An existing history in `out` is merged with (`batchsim.history.merge`: a task, resize or
    evaluation seen twice is one row) unless `force`, which replaces it.
    """
    existing = out.exists() and not force
    if existing and not (out / "pool.json").is_file():
        raise HistoryError(f"{out} exists and is not a history directory (no pool.json); give --force to replace it")
    report = ImportReport()
    events = read_events(paths, report)
    if not events and report.not_json:
        raise HistoryError(f"no line of the logs is JSON (first: {report.first_bad_line})")
    for event in events:
        if event.name not in USED_EVENTS:
            (report.ignored if event.name in IGNORED_EVENTS else report.unknown)[event.name] += 1
    known = [e for e in events if e.name in USED_EVENTS]
    if not known and report.metrics:
        raise HistoryError(
            f"the files hold {len(report.metrics)} platform metric record(s) but no pool or task event: "
            "import them together with the pool's service logs"
        )
    chosen = _choose_pool(known, pool_id, events)
    report.pool_id = chosen
    mine = []
    for event in known:
        owner = _pool_of(event)
        if owner != chosen:
            report.other_pools[owner or "(none)"] += 1
            continue
        if _outside(event.time, since, until):
            continue
        mine.append(event)
        report.used[event.name] += 1
    if not mine:
        raise HistoryError(f"no event of pool '{chosen}' in the window asked for")
    metrics = [m for m in report.metrics if m.pool in (None, chosen) and not _outside(m.time, since, until)]
    tasks = _tasks(mine, report)
    times = [e.time for e in mine if e.time is not None]
    start = since if since is not None else min(times)
    end = until if until is not None else max(times)
    target = partial_path(out).with_name(out.name + ".import") if existing else out
    partial = partial_path(target)
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    write_json(partial, "pool.json", _pool_json(mine, chosen, pool_json, region))
    write_frame(partial, "tasks.csv", tasks, TASK_COLUMNS)
    # A blob delivered twice holds every event twice: one row per evaluation and per resize.
    autoscale = _autoscale(mine).drop_duplicates(subset=["time"])
    if len(autoscale):
        write_frame(partial, "autoscale.csv", autoscale, AUTOSCALE_COLUMNS)
    resizes = _resizes(mine).drop_duplicates(subset=["start", "end"])
    if len(resizes):
        write_frame(partial, "resizes.csv", resizes, RESIZE_COLUMNS)
    notes: list[str] = []
    counts = _node_counts(mine, metrics, notes)
    if counts is not None:
        write_frame(partial, "node_counts.csv", counts, [*NODE_COUNT_COLUMNS, *(c for c in counts if c in _EXTRA)])
    checks = cross_checks(metrics, [(e.name, e.time) for e in mine if e.time is not None])
    short = {name: c for name, c in checks.items() if not c["agrees"]}
    if short:
        listed = ", ".join(f"{n} {c['events_imported']} imported of {c['metric_total']}" for n, c in short.items())
        notes.append(f"the event-count metrics disagree with the imported events ({listed}): log blobs may be missing")
    write_json(
        partial,
        "history.json",
        {
            "format": "batchsim-history/1",
            "source": "batch service logs",
            "pool_id": chosen,
            "window": {"start": iso(start), "end": iso(end)},
            # Without --since/--until the window is the events' span, which read_history checks.
            "window_source": "asked" if since is not None and until is not None else "events",
            "sources": report.sources,
            **_policy_changes(mine),
            "metric_cross_checks": checks,
            "notes": notes,
            "import": report.as_dict(),
        },
    )
    finish_directory(partial, target, force=force)
    if existing:
        from batchsim.history.merge import merge_histories

        try:
            merge_histories([out, target], out)
        finally:
            shutil.rmtree(target, ignore_errors=True)
    report.notes = notes
    return report


def _outside(time: pd.Timestamp | None, since: pd.Timestamp | None, until: pd.Timestamp | None) -> bool:
    return time is not None and ((since is not None and time < since) or (until is not None and time > until))
