"""Trace files → (submit_s, duration_s, slots, job, priority) rows: CSV and the Standard Workload Format v2.2."""

from __future__ import annotations

from pathlib import Path

__all__ = ["CsvRow", "Row", "TraceError", "read_csv_trace", "read_swf_trace"]

Row = tuple[float, float, int, str | None]
CsvRow = tuple[float, float, int, str | None, int]  # and the job's priority


class TraceError(ValueError):
    """A trace that cannot be read; the message names the file and line."""


def read_csv_trace(path: str | Path) -> list[CsvRow]:
    """CSV with a header: `submit_s` and `duration_s` required, `slots`, `job` and `priority` optional.

    Read with pandas (a calibrated week can hold a million rows); a bad cell is reported with its line.
    """
    import numpy as np
    import pandas as pd

    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise TraceError(f"{path}: line 1: empty file (expected a header with submit_s,duration_s)") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise TraceError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    missing = {"submit_s", "duration_s"} - set(frame.columns)
    if missing:
        raise TraceError(f"{path}: line 1: missing column(s) {', '.join(sorted(missing))}")
    columns = {}
    for name, default in (("submit_s", None), ("duration_s", None), ("slots", "1"), ("priority", "0")):
        raw = frame[name] if name in frame else pd.Series(default, index=frame.index)
        raw = raw.where(raw != "", default) if default is not None else raw
        values = pd.to_numeric(raw, errors="coerce")
        bad = values.isna()
        if bad.any():
            line = int(np.flatnonzero(bad.to_numpy())[0]) + 2
            raise TraceError(f"{path}: line {line}: not a number in column {name}: {raw.iloc[line - 2]!r}")
        columns[name] = values.to_numpy()
    jobs = frame["job"].where(frame["job"] != "", None).tolist() if "job" in frame else [None] * len(frame)
    order = np.argsort(columns["submit_s"], kind="stable")
    return [
        (
            float(columns["submit_s"][i]),
            float(columns["duration_s"][i]),
            int(columns["slots"][i]),
            jobs[i],
            int(columns["priority"][i]),
        )
        for i in order
    ]


def read_swf_trace(path: str | Path) -> list[Row]:
    """Standard Workload Format v2.2: `;` comment lines, then 18 whitespace-separated fields per job."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise TraceError(f"{path}: cannot read: {exc.strerror}") from None
    rows: list[Row] = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith(";"):
            continue
        fields = line.split()
        if len(fields) < 18:
            raise TraceError(f"{path}: line {line_number}: expected 18 fields, found {len(fields)}")
        try:
            submit, run = float(fields[1]), float(fields[3])
            processors = int(fields[4]) if int(fields[4]) > 0 else int(fields[7])
        except ValueError:
            raise TraceError(f"{path}: line {line_number}: not a number") from None
        if run < 0:
            continue  # SWF: -1 is unknown (cancelled before running)
        user = fields[11]
        rows.append((submit, run, max(processors, 1), None if user == "-1" else f"user-{user}"))
    return sorted(rows, key=lambda r: r[0])
