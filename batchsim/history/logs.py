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
import gc
import json
import math
import re
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime
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
from batchsim.history.log_tables import (
    USED_EVENTS,
    Event,
    ImportReport,
    autoscale_table,
    choose_pool,
    node_counts_table,
    policy_changes,
    pool_document,
    pool_of,
    resizes_table,
    slim,
    tasks_table,
    time_of,
)
from batchsim.history.metric_records import (
    MetricRecord,
    cross_checks,
    metric_record,
)

__all__ = ["import_logs", "read_events"]

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
    return Event(name, time_of(record.get("time")), body if isinstance(body, dict) else {})


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
    return Event(name, time_of(keys.get("TimeGenerated")), body)


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
    with _no_cycle_collection():
        return _read_events(paths, report)


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Parsed JSON and the rows made from it hold no reference cycles, so the cyclic collector has
    nothing to find; left on, it walks every object kept so far each time allocations pile up,
    which made importing a million events take quadratically longer."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _read_events(paths: Iterable[Path], report: ImportReport) -> list[Event]:
    events: list[Event] = []
    for file in _log_files(list(paths)):
        report.files += 1
        kinds: Counter[str] = Counter()
        first: datetime | None = None
        last: datetime | None = None
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
                    events.append(slim(item))
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
    if not events and report.not_json and not report.metrics:
        # Say both counts: "no line is JSON" is false when some lines parsed but none is a service log event.
        parsed = f"; the other {report.records} line(s) are JSON but no service log event" if report.records else ""
        raise HistoryError(
            f"no Batch service log event: {report.not_json} line(s) are not JSON"
            f" (first: {report.first_bad_line}){parsed}"
        )
    for event in events:
        if event.name not in USED_EVENTS:
            (report.ignored if event.name in IGNORED_EVENTS else report.unknown)[event.name] += 1
    known = [e for e in events if e.name in USED_EVENTS]
    if not known and report.metrics:
        raise HistoryError(
            f"the files hold {len(report.metrics)} platform metric record(s) but no pool or task event: "
            "import them together with the pool's service logs"
        )
    owners = [pool_of(event) for event in known]
    chosen = choose_pool(owners, pool_id, events)
    report.pool_id = chosen
    mine = []
    for event, owner in zip(known, owners, strict=True):
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
    with _no_cycle_collection():
        tasks = tasks_table(mine, report)
    times = [e.time for e in mine if e.time is not None]
    start = since if since is not None else min(times)
    end = until if until is not None else max(times)
    target = partial_path(out).with_name(out.name + ".import") if existing else out
    partial = partial_path(target)
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    write_json(partial, "pool.json", pool_document(mine, chosen, pool_json, region))
    write_frame(partial, "tasks.csv", tasks, TASK_COLUMNS)
    # A blob delivered twice holds every event twice: one row per evaluation and per resize.
    autoscale = autoscale_table(mine).drop_duplicates(subset=["time"])
    if len(autoscale):
        write_frame(partial, "autoscale.csv", autoscale, AUTOSCALE_COLUMNS)
    resizes = resizes_table(mine).drop_duplicates(subset=["start", "end"])
    if len(resizes):
        write_frame(partial, "resizes.csv", resizes, RESIZE_COLUMNS)
    notes: list[str] = []
    counts = node_counts_table(mine, metrics, notes)
    if counts is not None:
        write_frame(partial, "node_counts.csv", counts, [*NODE_COUNT_COLUMNS, *(c for c in counts if c in _EXTRA)])
    checks = cross_checks(metrics, [(e.name, e.time) for e in mine if e.time is not None]) if metrics else {}
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
            **policy_changes(mine),
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


def _outside(time: datetime | None, since: pd.Timestamp | None, until: pd.Timestamp | None) -> bool:
    return time is not None and ((since is not None and time < since) or (until is not None and time > until))
