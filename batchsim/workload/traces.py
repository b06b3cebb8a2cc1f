"""Trace files → (submit_s, duration_s, slots, job) rows: CSV and the Standard Workload Format v2.2."""

from __future__ import annotations

import csv
import io
from pathlib import Path

__all__ = ["TraceError", "read_csv_trace", "read_swf_trace"]

Row = tuple[float, float, int, str | None]


class TraceError(ValueError):
    """A trace that cannot be read; the message names the file and line."""


def read_csv_trace(path: str | Path) -> list[Row]:
    """CSV with a header: `submit_s` and `duration_s` required, `slots` and `job` optional."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TraceError(f"{path}: cannot read: {exc.strerror}") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = {"submit_s", "duration_s"} - set(reader.fieldnames or [])
    if missing:
        raise TraceError(f"{path}: line 1: missing column(s) {', '.join(sorted(missing))}")
    rows: list[Row] = []
    for line, record in enumerate(reader, start=2):
        try:
            rows.append(
                (
                    float(record["submit_s"]),
                    float(record["duration_s"]),
                    int(record.get("slots") or 1),
                    record.get("job") or None,
                )
            )
        except (TypeError, ValueError):
            raise TraceError(f"{path}: line {line}: not a number in {record}") from None
    return sorted(rows, key=lambda r: r[0])


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
