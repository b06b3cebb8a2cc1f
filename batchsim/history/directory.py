"""The history directory (DESIGN §7): what each file holds, reading it back, writing it whole.

A history directory is written into `DIR.partial` and renamed to `DIR` only when every file is in
place, so a reader never sees half a history; an interrupted pull leaves its `DIR.partial` to be
continued. Times are ISO 8601 UTC strings on disk and `datetime64[ns, UTC]` columns in memory;
an empty cell is unknown.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from batchsim import jsonio
from batchsim.files import write_atomically

__all__ = [
    "AUTOSCALE_COLUMNS",
    "IN_POOL_STATES",
    "NODE_COLUMNS",
    "NODE_COUNT_COLUMNS",
    "RESIZE_COLUMNS",
    "TASK_COLUMNS",
    "History",
    "HistoryError",
    "finish_directory",
    "format_times",
    "iso",
    "parse_time",
    "partial_path",
    "read_history",
    "read_tasks_as_recorded",
    "write_frame",
    "write_json",
]

# Node states in which a node counts in the pool's node counts ($CurrentDedicatedNodes and
# $CurrentLowPriorityNodes count a node from its allocation until it has left, preempted included).
IN_POOL_STATES = (
    "creating",
    "waitingforstarttask",
    "starttaskfailed",
    "idle",
    "running",
    "preempted",
    "leavingpool",
    "retaining",
)

TASK_COLUMNS = [
    "job_id",
    "task_id",
    "created",
    "started",
    "ended",
    "required_slots",
    "state",
    "exit_code",
    "retry_count",
    "requeue_count",
    "node_id",
    "job_priority",
    # An extension: the first attempt's start (service logs), the arrival's upper bound when
    # `created` is unknown; `started` is the last attempt's.
    "first_started",
]
AUTOSCALE_COLUMNS = ["time", "results", "error_code", "error_message"]
# `from_dedicated`/`from_spot` (an extension): the node counts when the resize started, from the
# pool resize start event, so that the number of nodes a resize added is known.
RESIZE_COLUMNS = [
    "start",
    "end",
    "target_dedicated",
    "target_spot",
    "current_dedicated",
    "current_spot",
    "result_code",
    "from_dedicated",
    "from_spot",
]
NODE_COUNT_COLUMNS = ["time", "dedicated", "spot", "preempted"]
# nodes.csv (an extension, from `history pull`): the pool's nodes when it was pulled.
NODE_COLUMNS = ["node_id", "dedicated", "state", "allocation_time", "start_task_started", "start_task_ended"]

_TIME_COLUMNS = {
    "tasks.csv": ("created", "started", "ended", "first_started"),
    "autoscale.csv": ("time",),
    "resizes.csv": ("start", "end"),
    "node_counts.csv": ("time",),
    "nodes.csv": ("allocation_time", "start_task_started", "start_task_ended"),
}
_REQUIRED = {
    "tasks.csv": ("job_id", "task_id", "created", "started", "ended"),
    "autoscale.csv": ("time", "results"),
    "resizes.csv": ("start", "end", "target_dedicated", "target_spot"),
    "node_counts.csv": ("time", "dedicated", "spot"),
    "nodes.csv": ("node_id", "dedicated"),
}


class HistoryError(ValueError):
    """A history directory or file that cannot be used; the message names the file, the line and the column."""


def iso(moment: datetime | pd.Timestamp) -> str:
    """`2026-03-02T10:15:00Z` (milliseconds when there are any), the history's spelling of a time."""
    stamp = pd.Timestamp(moment)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    text = stamp.strftime("%Y-%m-%dT%H:%M:%S")
    millis = stamp.microsecond // 1000
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"


def parse_time(text: str) -> datetime:
    """An ISO 8601 time as an aware UTC datetime; a time without a zone is taken as UTC."""
    stamp = pd.Timestamp(text)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    moment: datetime = stamp.to_pydatetime()
    return moment


def format_times(values: pd.Series) -> pd.Series:
    """A datetime column as ISO 8601 UTC strings (empty where unknown), vectorised."""
    times = pd.to_datetime(values, utc=True)
    text = times.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"
    text = text.str.replace(".000Z", "Z", regex=False)
    return text.where(times.notna(), "")


@dataclass
class History:
    """A history directory in memory; optional files are None when absent."""

    path: Path
    pool: dict[str, Any]
    tasks: pd.DataFrame
    autoscale: pd.DataFrame | None = None
    resizes: pd.DataFrame | None = None
    node_counts: pd.DataFrame | None = None
    nodes: pd.DataFrame | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # what reading found doubtful, for every command's notes
    window_start: pd.Timestamp = field(default_factory=lambda: pd.Timestamp(0, tz="UTC"))
    window_end: pd.Timestamp = field(default_factory=lambda: pd.Timestamp(0, tz="UTC"))

    @property
    def pool_id(self) -> str:
        return str(self.pool.get("id") or "pool")

    @property
    def window_s(self) -> float:
        return float((self.window_end - self.window_start).total_seconds())

    def seconds(self, column: pd.Series) -> np.ndarray:
        """Seconds from the window's start for a time column (NaN where unknown)."""
        delta = (column - self.window_start).dt.total_seconds()
        return np.asarray(delta.to_numpy(dtype=float, na_value=np.nan))

    def present(self) -> list[str]:
        """The files this history has, for messages."""
        names = ["pool.json", "tasks.csv"]
        for name, frame in (
            ("autoscale.csv", self.autoscale),
            ("resizes.csv", self.resizes),
            ("node_counts.csv", self.node_counts),
            ("nodes.csv", self.nodes),
        ):
            if frame is not None:
                names.append(name)
        return names


def partial_path(out: Path) -> Path:
    """Where a history bound for `out` is assembled (and an interrupted pull is kept)."""
    return out.with_name(out.name + ".partial")


def write_frame(directory: Path, name: str, frame: pd.DataFrame, columns: list[str]) -> Path:
    """`frame` as `directory/name` in the history's CSV form: fixed column order, ISO times, empty unknowns."""
    out = frame.reindex(columns=columns).copy()
    for column in _TIME_COLUMNS.get(name, ()):
        if column in out and not pd.api.types.is_string_dtype(out[column]):
            out[column] = format_times(out[column])
    return write_atomically(directory / name, out.to_csv(index=False, lineterminator="\n"))


def write_json(directory: Path, name: str, document: Mapping[str, Any]) -> Path:
    return write_atomically(directory / name, jsonio.dumps(dict(document)) + "\n")


def finish_directory(partial: Path, out: Path, *, force: bool) -> Path:
    """Rename the assembled `partial` to `out`; an existing `out` is replaced only with `force`."""
    if out.exists():
        if not force:
            raise HistoryError(f"{out} already exists; give --force to replace it")
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
        os.replace(partial, out)
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
        return out
    os.replace(partial, out)
    return out


# The optional files of a history directory (DESIGN §7), read when present.
_OPTIONAL_FILES = ("autoscale.csv", "resizes.csv", "node_counts.csv", "nodes.csv")
_ALL_COLUMNS = {"autoscale.csv": AUTOSCALE_COLUMNS, "resizes.csv": RESIZE_COLUMNS}
_NUMERIC = {
    "tasks.csv": ("required_slots", "exit_code", "retry_count", "requeue_count", "job_priority"),
    "resizes.csv": (
        "target_dedicated",
        "target_spot",
        "current_dedicated",
        "current_spot",
        "from_dedicated",
        "from_spot",
    ),
    "node_counts.csv": ("dedicated", "spot", "preempted", "idle", "running", "starting", "unusable"),
}


def _fast_read(path: Path, name: str) -> pd.DataFrame | None:
    """The typed read with pyarrow (a week of a million tasks in about two seconds), or None when
    pyarrow is missing or a cell does not convert (a bad number, a time without a zone): then
    `_read_csv`'s checked read handles it, or names the file, line and column."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:
        return None
    try:
        with path.open(encoding="utf-8") as stream:
            header = next(csv.reader(stream), [])
    except (OSError, UnicodeDecodeError):
        return None
    types = {column: pa.string() for column in header}  # nothing inferred: "true", "007" stay text
    types.update({column: pa.float64() for column in _NUMERIC.get(name, ()) if column in types})
    types.update({column: pa.timestamp("ns", tz="UTC") for column in _TIME_COLUMNS[name] if column in types})
    options = pacsv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=True)
    try:
        table = pacsv.read_csv(path, convert_options=options)
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError):
        return None
    strings = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}
    frame: pd.DataFrame = table.to_pandas(types_mapper=strings.get)
    return frame


def _read_csv(path: Path, name: str) -> pd.DataFrame:
    frame = _fast_read(path, name)
    if frame is None:
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        except pd.errors.EmptyDataError:
            raise HistoryError(f"{path}: empty file (expected a header line)") from None
        except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise HistoryError(f"{path}: cannot read: {exc}") from None
    missing = [c for c in _REQUIRED[name] if c not in frame.columns]
    if missing:
        raise HistoryError(f"{path}:1: missing column(s) {', '.join(missing)}")
    for column in _TIME_COLUMNS[name]:
        if column in frame:
            frame[column] = _times(frame[column], path, column)
    return frame


def read_tasks_as_recorded(root: Path) -> pd.DataFrame:
    """tasks.csv typed but with its empty cells left empty (read_history fills the defaults a
    simulation needs: one slot, priority 0), for merging, where empty means "ask another source"."""
    return _read_csv(root / "tasks.csv", "tasks.csv")


def _times(values: pd.Series, path: Path, column: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.to_datetime(values, utc=True)
    parsed = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
    bad = parsed.isna() & values.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise HistoryError(
            f"{path}:{row + 2}: column '{column}': {values.iloc[row]!r} is not an ISO 8601 time "
            "(for example 2026-03-02T10:15:00Z)"
        )
    return parsed


def _numbers(frame: pd.DataFrame, path: Path, columns: tuple[str, ...], *, default: float | None = None) -> None:
    for column in columns:
        if column not in frame:
            frame[column] = np.nan if default is None else default
            continue
        if pd.api.types.is_float_dtype(frame[column]):  # read typed already
            if default is not None:
                frame[column] = frame[column].fillna(default)
            continue
        parsed = pd.to_numeric(frame[column], errors="coerce")
        bad = parsed.isna() & frame[column].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise HistoryError(f"{path}:{row + 2}: column '{column}': {frame[column].iloc[row]!r} is not a number")
        frame[column] = parsed if default is None else parsed.fillna(default)


def read_history(path: str | Path) -> History:
    """Read and check a history directory; `HistoryError` names the file, line and column of a problem."""
    root = Path(path)
    if not root.is_dir():
        hint = (
            f" (an interrupted pull is in {partial_path(root)}; run the pull again)"
            if partial_path(root).is_dir()
            else ""
        )
        raise HistoryError(f"{root}: no such history directory{hint}")
    pool_file = root / "pool.json"
    try:
        pool = json.loads(pool_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HistoryError(f"{pool_file}: missing (a history directory has pool.json and tasks.csv)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HistoryError(f"{pool_file}: not valid JSON: {exc}") from None
    if not isinstance(pool, dict):
        raise HistoryError(f"{pool_file}: expected a JSON object (the pool as the REST API returns it)")
    tasks_file = root / "tasks.csv"
    if not tasks_file.is_file():
        raise HistoryError(f"{tasks_file}: missing (a history directory has pool.json and tasks.csv)")
    tasks = _read_csv(tasks_file, "tasks.csv")
    _numbers(tasks, tasks_file, ("required_slots",), default=1)
    _numbers(tasks, tasks_file, ("retry_count", "requeue_count"), default=0)
    _numbers(tasks, tasks_file, ("exit_code",))
    _numbers(tasks, tasks_file, ("job_priority",), default=0)
    for column in ("state", "node_id"):
        if column not in tasks:
            tasks[column] = np.nan
    history = History(root, pool, tasks)
    for name in _OPTIONAL_FILES:
        numeric = _NUMERIC.get(name, ())
        file = root / name
        if not file.is_file():
            continue
        frame = _read_csv(file, name)
        _numbers(frame, file, tuple(c for c in numeric if c in frame))
        for column in _ALL_COLUMNS.get(name, ()):  # an optional column left out is unknown throughout
            if column not in frame:
                frame[column] = np.nan
        setattr(history, name.removesuffix(".csv"), frame)
    if history.node_counts is not None and "preempted" not in history.node_counts:
        history.node_counts["preempted"] = 0.0  # a file without the column says none (an empty column: unknown)
    if history.nodes is not None:
        history.nodes["dedicated"] = history.nodes["dedicated"].str.lower().isin(("true", "1", "yes"))
    meta_file = root / "history.json"
    if meta_file.is_file():
        try:
            history.meta = json.loads(meta_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise HistoryError(f"{meta_file}: not valid JSON: {exc}") from None
    _set_window(history)
    return history


# How far a file may run past the tasks before a window taken from the files' times is doubted.
_PAST_TASKS_S = 3600.0


def _set_window(history: History) -> None:
    """The recorded window: history.json's, else the span of every time in the files.

    A window the files' own times make (no history.json window, or one an import took from the
    events: `window_source: events`) is checked: a file that runs more than an hour past the
    tasks' times stretches the window over time with no task, which dilutes every rate.
    """
    window = history.meta.get("window") or {}
    start, end = window.get("start"), window.get("end")
    spans: dict[str, tuple[pd.Timestamp, pd.Timestamp]] = {}
    for name, frame, columns in (
        ("tasks.csv", history.tasks, ("created", "started", "ended", "first_started")),
        ("autoscale.csv", history.autoscale, ("time",)),
        ("resizes.csv", history.resizes, ("start", "end")),
        ("node_counts.csv", history.node_counts, ("time",)),
    ):
        if frame is None:
            continue
        values = [frame[c].dropna() for c in columns if c in frame]
        values = [v for v in values if len(v)]
        if values:
            spans[name] = (min(v.min() for v in values), max(v.max() for v in values))
    times = [t for span in spans.values() for t in span]
    try:
        history.window_start = pd.Timestamp(parse_time(start)) if start else min(times)
        history.window_end = pd.Timestamp(parse_time(end)) if end else max(times)
    except ValueError:
        if not times:
            raise HistoryError(
                f"{history.path}: the history records no time at all (no task, evaluation, resize or node count)"
            ) from None
        raise HistoryError(f"{history.path / 'history.json'}: window times are not ISO 8601") from None
    if history.window_end <= history.window_start:
        raise HistoryError(
            f"{history.path}: the recorded window {iso(history.window_start)} .. {iso(history.window_end)} is empty"
        )
    from_files = not (start and end) or history.meta.get("window_source") == "events"
    if from_files and "tasks.csv" in spans:
        _check_span(history, spans)


def _check_span(history: History, spans: dict[str, tuple[pd.Timestamp, pd.Timestamp]]) -> None:
    first, last = spans["tasks.csv"]
    for name, (begin, finish) in spans.items():
        before_s = (first - begin).total_seconds()
        after_s = (finish - last).total_seconds()
        if max(before_s, after_s) <= _PAST_TASKS_S:
            continue
        where = []
        if before_s > _PAST_TASKS_S:
            where.append(f"starts {before_s / 3600:.1f} h before the first task time ({iso(first)})")
        if after_s > _PAST_TASKS_S:
            where.append(f"ends {after_s / 3600:.1f} h after the last task time ({iso(last)})")
        history.warnings.append(
            f"{name} {' and '.join(where)}: the window {iso(history.window_start)} .. {iso(history.window_end)} "
            "is the union of the files' times, so the arrival rate counts hours in which no task was recorded; "
            "if the tasks were not recorded then, trim the files or set the window in history.json"
        )
