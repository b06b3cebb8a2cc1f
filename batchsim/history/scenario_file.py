"""Writing a calibrated scenario: the YAML (formula as a literal block, the `calibration:` block last)
and, for a trace workload, the trace CSV beside it; both whole or not at all."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from batchsim.files import write_atomically
from batchsim.history.calibrate import Calibration

__all__ = ["CalibratedFiles", "scenario_text", "trace_path_for", "write_calibration"]


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]  # PyYAML ships no type hints
    """Multi-line strings (the formula) as `|` blocks, so the scenario reads like a hand-written one."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


@dataclass(frozen=True)
class CalibratedFiles:
    scenario: Path
    trace: Path | None


def trace_path_for(out: Path) -> Path:
    """`plan/render.yaml` → `plan/render.trace.csv`."""
    return out.with_name(out.stem + ".trace.csv")


def scenario_text(cal: Calibration, history_path: Path) -> str:
    """The scenario file's text: a header saying where it came from and what was not estimated."""
    document = dict(cal.document)
    autoscale = document["pool"].get("autoscale")
    if autoscale and not str(autoscale["formula"]).endswith("\n"):
        autoscale["formula"] = str(autoscale["formula"]) + "\n"
    lines = [
        f"Calibrated by `batchsim calibrate` from the history in {history_path}.",
        "Each estimate, its 95 % interval and sample size are in `calibration:` (informational: the",
        "simulation reads the keys above it). Keys with n 0 kept their defaults, for the reason given.",
    ]
    lines += [f"note: {note}" for note in cal.notes]
    header = "".join(f"# {line}\n" for line in lines)
    body: str = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)
    return header + body


def _csv_text(frame: pd.DataFrame) -> str:
    """CSV text of a trace; pyarrow's writer when installed (a million rows in a second, not ten)."""
    try:
        import io

        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:
        return str(frame.to_csv(index=False, lineterminator="\n"))
    buffer = io.BytesIO()
    options = pacsv.WriteOptions(quoting_style="needed")  # quotes only where a value needs them
    pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), buffer, options)
    return buffer.getvalue().decode("utf-8")


def write_calibration(cal: Calibration, out: Path, history_path: Path, *, force: bool = False) -> CalibratedFiles:
    """Write the scenario to `out` (and its trace beside it); existing files are kept unless `force`."""
    trace = trace_path_for(out) if cal.trace is not None else None
    existing = [str(p) for p in (out, trace) if p is not None and p.exists()]
    if existing and not force:
        raise FileExistsError(f"{', '.join(existing)} already exist(s); give --force to overwrite")
    if trace is not None and cal.trace is not None:
        write_atomically(trace, _csv_text(cal.trace))
    write_atomically(out, scenario_text(cal, history_path))
    return CalibratedFiles(out, trace)
