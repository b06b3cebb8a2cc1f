"""`batchsim history pull`: a pool's past read through azure-batch 15.x into a history directory.

Requests (a week of 100,000 tasks is a few hundred): the pool (1), the account's jobs filtered on
creation time with `$select` (1 per 1,000 jobs), each job of the pool's task counts (1) and its
tasks created in the window with `$filter` and `$select` (1 per 1,000 tasks), the pool's nodes
(1 per 1,000). Jobs are matched to the pool by `poolInfo.poolId` or `executionInfo.poolId` on the
client: the service's job filter has no pool property.

Resumable: everything is assembled in `DIR.partial`; after each page of tasks the rows are appended
to the job's part file and `pull-state.json` records the page's `odata.nextLink` and the part's
length, atomically. An interrupted pull (Ctrl-C, a dropped connection) run again with the same
arguments continues from the last page saved; a torn last write is cut back to the recorded length
and a page saved twice is de-duplicated. `DIR` appears only when the pull is complete.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from batchsim import jsonio
from batchsim.azure.errors import AzureIntegrationError, explain
from batchsim.files import write_atomically
from batchsim.history.directory import (
    AUTOSCALE_COLUMNS,
    NODE_COLUMNS,
    TASK_COLUMNS,
    HistoryError,
    finish_directory,
    iso,
    partial_path,
    write_frame,
    write_json,
)

__all__ = [
    "JOB_SELECT",
    "NODE_SELECT",
    "TASK_SELECT",
    "PullOptions",
    "PullResult",
    "pull_history",
    "request_counter",
    "task_filter",
]

TASK_SELECT = ["id", "creationTime", "state", "executionInfo", "nodeInfo", "requiredSlots"]
JOB_SELECT = ["id", "priority", "poolInfo", "executionInfo", "creationTime", "state"]
NODE_SELECT = ["id", "state", "stateTransitionTime", "isDedicated", "allocationTime", "startTaskInfo"]
STATE_FILE = "pull-state.json"
_FORMAT = "batchsim-pull-state/1"


@dataclass(frozen=True)
class PullOptions:
    """What to pull: a pool, a window [since, until], where to, and how."""

    pool_id: str
    since: datetime
    until: datetime
    out: Path
    endpoint: str
    force: bool = False
    restart: bool = False
    page_size: int = 1000


@dataclass
class PullResult:
    """What a pull wrote and what it cost."""

    out: Path
    jobs: int
    tasks: int
    nodes: int
    requests: int
    wall_s: float
    resumed: bool
    notes: list[str] = field(default_factory=list)


def request_counter() -> Any:
    """An azure-core per-retry policy counting every HTTP request sent (retries of 429/503 included);
    its `count` is the number so far. Built here so that azure-core is imported only when used."""
    from azure.core.pipeline.policies import SansIOHTTPPolicy

    class RequestCounter(SansIOHTTPPolicy):  # type: ignore[type-arg]
        def __init__(self) -> None:
            self.count = 0

        def on_request(self, request: Any) -> None:
            self.count += 1

    return RequestCounter()


def _odata_time(moment: datetime) -> str:
    return "DateTime'" + moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") + "'"


def task_filter(since: datetime, until: datetime) -> str:
    """Tasks created in the window (creationTime is filterable on List Tasks)."""
    return f"creationTime ge {_odata_time(since)} and creationTime le {_odata_time(until)}"


def _job_filter(until: datetime) -> str:
    return f"creationTime le {_odata_time(until)}"


def _on_pool(job: dict[str, Any], pool_id: str) -> bool:
    pools = {(job.get("poolInfo") or {}).get("poolId"), (job.get("executionInfo") or {}).get("poolId")}
    return pool_id in pools


def _ended_before(job: dict[str, Any], since: datetime) -> bool:
    end = (job.get("executionInfo") or {}).get("endTime")
    return bool(end) and pd.Timestamp(end) < pd.Timestamp(since)


def _task_row(task: Any, job_id: str, priority: int) -> list[Any]:
    """A tasks.csv row from an SDK `BatchTask` (read as the mapping of REST names it is: 10x faster
    than `as_dict()`, which copies every nested model) or a REST dict."""
    info = task.get("executionInfo") or {}
    node = task.get("nodeInfo") or {}
    exit_code = info.get("exitCode")
    return [
        job_id,
        task.get("id", ""),
        task.get("creationTime", ""),
        info.get("startTime", ""),
        info.get("endTime", ""),
        task.get("requiredSlots", 1) or 1,
        task.get("state", ""),
        "" if exit_code is None else exit_code,
        info.get("retryCount", 0) or 0,
        info.get("requeueCount", 0) or 0,
        node.get("nodeId", ""),
        priority,
    ]


class _State:
    """pull-state.json: what is done, where the current job's paging stands, the part files' lengths."""

    def __init__(self, partial: Path, document: dict[str, Any]) -> None:
        self.partial = partial
        self.document = document

    @classmethod
    def open(cls, partial: Path, identity: dict[str, Any], restart: bool) -> tuple[_State, bool]:
        path = partial / STATE_FILE
        if partial.exists() and restart:
            shutil.rmtree(partial)
        if path.is_file():
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                document = None
            if document is not None and document.get("format") == _FORMAT:
                if document.get("identity") != identity:
                    was = document.get("identity") or {}
                    raise HistoryError(
                        f"{partial} holds an interrupted pull of pool '{was.get('pool_id')}' from "
                        f"{was.get('since')} to {was.get('until')}; run that pull again to finish it, "
                        "or give --restart to discard it"
                    )
                return cls(partial, document), True
            raise HistoryError(f"{partial} exists but is not an interrupted pull; remove it or give --restart")
        if partial.exists():
            raise HistoryError(f"{partial} exists but is not an interrupted pull; remove it or give --restart")
        (partial / "parts").mkdir(parents=True)
        state = cls(partial, {"format": _FORMAT, "identity": identity, "jobs": None, "done": [], "current": None})
        state.save()
        return state, False

    def save(self) -> None:
        write_atomically(self.partial / STATE_FILE, jsonio.dumps(self.document))

    def part(self, index: int) -> Path:
        return self.partial / "parts" / f"{index:05d}.csv"


def _call(action: str, options: PullOptions, request: Callable[[], Any]) -> Any:
    from azure.core.exceptions import AzureError

    try:
        return request()
    except AzureError as exc:
        raise explain(exc, endpoint=options.endpoint, pool_id=options.pool_id, action=action) from None


def _append(part: Path, rows: list[list[Any]], expected_length: int) -> int:
    """Append rows to a part file after cutting it back to the length last recorded; the new length."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    data = buffer.getvalue().encode("utf-8")
    with part.open("ab") as stream:
        stream.truncate(expected_length)
        stream.seek(expected_length)
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
    return expected_length + len(data)


def _list_jobs(client: Any, options: PullOptions) -> list[dict[str, Any]]:
    jobs = _call(
        "list the jobs",
        options,
        lambda: [
            j.as_dict()
            for j in client.list_jobs(
                filter=_job_filter(options.until), select=JOB_SELECT, max_results=options.page_size
            )
        ],
    )
    return [
        {"id": j["id"], "priority": int(j.get("priority") or 0)}
        for j in jobs
        if _on_pool(j, options.pool_id) and not _ended_before(j, options.since)
    ]


def _task_total(client: Any, options: PullOptions, jobs: list[dict[str, Any]]) -> int:
    """Tasks in the pool's jobs (any creation time): an upper bound for the progress bar."""
    total = 0
    for job in jobs:
        job_id = str(job["id"])

        def count(job_id: str = job_id) -> Any:
            return client.get_job_task_counts(job_id)

        counts = _call(f"count the tasks of job '{job_id}'", options, count)
        tasks = counts.task_counts
        total += int(tasks.active or 0) + int(tasks.running or 0) + int(tasks.completed or 0)
    return total


def pull_history(
    client: Any,
    options: PullOptions,
    *,
    counter: Any = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
    node_counts: Callable[[list[str]], tuple[pd.DataFrame | None, list[str]]] | None = None,
) -> PullResult:
    """Pull the pool's history into `options.out` (see the module docstring for the requests and resumption).

    counter: the policy the client counts requests with (for the result). progress: called with
    {"jobs", "jobs_done", "tasks", "tasks_total", "requests"} after each page. node_counts: reads
    node_counts.csv's rows (Azure Monitor), with notes, given the account's pool ids; called once
    the tasks are in. On an account of several pools the pool's node list gives its counts now
    (batchsim.azure.pool_nodes), in history.json `pool_nodes_now`.
    """
    began = time.monotonic()
    out = options.out
    if options.until <= options.since:
        raise HistoryError(
            f"the window is empty: --until {iso(options.until)} is not after --since {iso(options.since)}"
        )
    if out.exists() and not options.force:
        raise HistoryError(f"{out} already exists; give --force to replace it")
    pool = _call("read the pool", options, lambda: client.get_pool(options.pool_id)).as_dict()
    identity = {
        "pool_id": options.pool_id,
        "endpoint": options.endpoint,
        "since": iso(options.since),
        "until": iso(options.until),
    }
    partial = partial_path(out)
    state, resumed = _State.open(partial, identity, options.restart)
    document = state.document
    if document["jobs"] is None:
        listed = _list_jobs(client, options)
        document["jobs"] = listed
        document["tasks_total"] = _task_total(client, options, listed)
        document["tasks"] = 0
        state.save()
    jobs: list[dict[str, Any]] = document["jobs"]

    def report() -> None:
        if progress is not None:
            progress(
                {
                    "jobs": len(jobs),
                    "jobs_done": len(document["done"]),
                    "tasks": document["tasks"],
                    "tasks_total": document.get("tasks_total", 0),
                    "requests": None if counter is None else counter.count,
                }
            )

    report()
    done = set(document["done"])
    for index, job in enumerate(jobs):
        if job["id"] in done:
            continue
        current = document["current"]
        if current is None or current.get("job") != job["id"]:
            current = {"job": job["id"], "next_link": None, "part_bytes": 0, "started": False}
            document["current"] = current
        part = state.part(index)
        if not part.exists():
            part.touch()
        pages = client.list_tasks(
            job["id"],
            filter=task_filter(options.since, options.until),
            select=TASK_SELECT,
            max_results=options.page_size,
        ).by_page(continuation_token=current["next_link"])
        while True:

            def next_page(pages: Any = pages) -> list[Any]:
                return list(next(pages))

            try:
                page = _call(f"list the tasks of job '{job['id']}'", options, next_page)
            except StopIteration:
                break
            rows = [_task_row(task, job["id"], job["priority"]) for task in page]
            current["part_bytes"] = _append(part, rows, current["part_bytes"])
            current["next_link"] = pages.continuation_token
            document["tasks"] += len(rows)
            state.save()
            report()
            if not current["next_link"]:
                break
        document["done"].append(job["id"])
        document["current"] = None
        state.save()
        report()
    return _finish(client, options, state, pool, began, resumed, counter, node_counts)


def _tasks_frame(state: _State, jobs: list[dict[str, Any]]) -> pd.DataFrame:
    frames = []
    for index in range(len(jobs)):
        part = state.part(index)
        if part.exists() and part.stat().st_size:
            frames.append(pd.read_csv(part, header=None, names=TASK_COLUMNS, dtype=str, keep_default_na=False))
    if not frames:
        return pd.DataFrame(columns=TASK_COLUMNS)
    tasks = pd.concat(frames, ignore_index=True)
    # A page saved twice (interrupted between writing it and recording it) appears twice: keep the last.
    return tasks.drop_duplicates(subset=["job_id", "task_id"], keep="last").reset_index(drop=True)


def _list_nodes(client: Any, options: PullOptions) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = _call(
        "list the pool's nodes",
        options,
        lambda: [
            n.as_dict() for n in client.list_nodes(options.pool_id, select=NODE_SELECT, max_results=options.page_size)
        ],
    )
    return nodes


def _nodes_frame(nodes: list[dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for node in nodes:
        start_task = node.get("startTaskInfo") or {}
        rows.append(
            {
                "node_id": node.get("id"),
                "dedicated": "true" if node.get("isDedicated") else "false",
                "state": node.get("state"),
                "allocation_time": node.get("allocationTime", ""),
                "start_task_started": start_task.get("startTime", ""),
                "start_task_ended": start_task.get("endTime", ""),
            }
        )
    return pd.DataFrame(rows, columns=NODE_COLUMNS)


def _autoscale_frame(pool: dict[str, Any]) -> pd.DataFrame:
    run = pool.get("autoScaleRun") or {}
    if not run:
        return pd.DataFrame(columns=AUTOSCALE_COLUMNS)
    error = run.get("error") or {}
    detail = next((v.get("value") for v in error.get("values") or [] if v.get("name") == "Message"), None)
    return pd.DataFrame(
        [
            {
                "time": run.get("timestamp", ""),
                "results": run.get("results", ""),
                "error_code": error.get("code", ""),
                "error_message": detail or error.get("message", ""),
            }
        ],
        columns=AUTOSCALE_COLUMNS,
    )


def _finish(
    client: Any,
    options: PullOptions,
    state: _State,
    pool: dict[str, Any],
    began: float,
    resumed: bool,
    counter: Any,
    node_counts: Callable[[list[str]], tuple[pd.DataFrame | None, list[str]]] | None,
) -> PullResult:
    from batchsim.azure.pool import region_of
    from batchsim.azure.pool_nodes import account_caveat, counts_now

    document = state.document
    jobs = document["jobs"]
    tasks = _tasks_frame(state, jobs)
    if not len(tasks):
        shutil.rmtree(state.partial, ignore_errors=True)
        raise HistoryError(
            f"no task of pool '{options.pool_id}' was created between {iso(options.since)} and "
            f"{iso(options.until)} ({len(jobs)} job(s) of the pool looked at); nothing was written"
        )
    listed_nodes = _list_nodes(client, options)
    pulled_at = datetime.now(timezone.utc)
    nodes = _nodes_frame(listed_nodes)
    pools = _call("list the account's pools", options, lambda: [p.id for p in client.list_pools(select=["id"])])
    notes: list[str] = []
    now_counts = counts_now(listed_nodes, pulled_at, options.until) if len(pools) > 1 else None
    if now_counts is not None:
        notes.append(account_caveat(pools, options.pool_id, now_counts, monitor=node_counts is not None))
    region = region_of(pool.get("url"), options.endpoint)
    if region and not pool.get("location"):
        pool["location"] = region
    partial = state.partial
    write_json(partial, "pool.json", pool)
    write_frame(partial, "tasks.csv", tasks, TASK_COLUMNS)
    write_frame(partial, "nodes.csv", nodes, NODE_COLUMNS)
    autoscale = _autoscale_frame(pool)
    if len(autoscale):
        write_frame(partial, "autoscale.csv", autoscale, AUTOSCALE_COLUMNS)
    count_rows = 0
    if node_counts is not None:
        counts, more = node_counts(pools)
        notes.extend(more)
        if counts is not None:
            write_frame(partial, "node_counts.csv", counts, list(counts.columns))
            count_rows = len(counts)
    requests = None if counter is None else counter.count
    span = {"start": iso(options.since), "end": iso(options.until)}
    sources = [
        {
            "file": f"{options.endpoint} (azure-batch)",
            "kind": "pool, tasks and nodes",
            "rows": len(tasks),
            "span": span,
        },
    ]
    if count_rows:
        sources.append({"file": "Azure Monitor metrics", "kind": "node counts", "rows": count_rows, "span": span})
    if now_counts is not None:
        at = {"start": now_counts["time"], "end": now_counts["time"]}
        sources.append(
            {
                "file": f"{options.endpoint} (azure-batch, the pool's node list)",
                "kind": "node counts now (history.json pool_nodes_now)",
                "rows": len(listed_nodes),
                "span": at,
            }
        )
    write_json(
        partial,
        "history.json",
        {
            "sources": sources,
            "format": "batchsim-history/1",
            "source": "history pull",
            "pool_id": options.pool_id,
            "endpoint": options.endpoint,
            "pulled_at": iso(datetime.now(timezone.utc)),
            "window": {"start": iso(options.since), "end": iso(options.until)},
            "jobs": [job["id"] for job in jobs],
            "requests": requests,
            "notes": notes,
            **({} if now_counts is None else {"pool_nodes_now": now_counts}),
        },
    )
    (partial / STATE_FILE).unlink()
    shutil.rmtree(partial / "parts")
    try:
        finish_directory(partial, options.out, force=options.force)
    except HistoryError:
        raise
    except OSError as exc:
        raise AzureIntegrationError(f"cannot move {partial} to {options.out}: {exc.strerror}") from None
    return PullResult(
        options.out,
        len(jobs),
        len(tasks),
        len(nodes),
        requests or 0,
        time.monotonic() - began,
        resumed,
        notes,
    )
