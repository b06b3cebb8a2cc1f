"""What a report says in words: what each run simulated, its figures, and labels by what differs.

Shared by the HTML and Markdown reports (and by other reports that compare runs), so both say the
same thing. Every cell is text; a value that is missing or not a number is shown as "–", never "nan".
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from batchsim.report.runs import Run, resolved_value, start_time
from batchsim.report.tables import cost_text, wait_text
from batchsim.units import format_duration

__all__ = [
    "MISSING",
    "Decision",
    "FigureRow",
    "SetupRow",
    "clock_text",
    "decisions",
    "figure_rows",
    "formula_texts",
    "price_source_text",
    "run_labels",
    "seed_groups",
    "setup_rows",
]

MISSING = "–"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


@dataclass(frozen=True)
class SetupRow:
    """One fact about what was simulated, one cell per run; `differs` when the runs disagree."""

    label: str
    cells: tuple[str, ...]

    @property
    def differs(self) -> bool:
        return len(set(self.cells)) > 1


def _pool(run: Run) -> dict[str, Any]:
    return dict(run.info.get("pool") or {})


def _formula(run: Run) -> dict[str, Any]:
    return dict(run.info.get("formula") or {})


def _overrides(run: Run) -> dict[str, Any]:
    return dict(run.info.get("overrides") or {})


def _prices(run: Run) -> str:
    dedicated = _number(run.summary.get("price_dedicated_per_hour"))
    spot = _number(run.summary.get("price_spot_per_hour"))
    if dedicated is None and spot is None:
        return MISSING
    return f"${dedicated or 0:.4f} dedicated, ${spot or 0:.4f} Spot per node-hour"


def _formula_cell(run: Run) -> str:
    formula = _formula(run)
    if not run.info:
        return MISSING
    if not formula:
        return "none (fixed pool size)"
    where = Path(formula["file"]).name if formula.get("file") else "inline in the scenario"
    interval = _number(formula.get("interval_s"))
    return f"{where}, every {format_duration(interval)}" if interval is not None else where


def price_source_text(source: Any) -> str:
    """Where prices came from, as a reader names it: the shipped catalog's rows are Azure Retail Prices
    snapshots ("catalog: <file and meters> (2026-08-20)" → "Azure Retail Prices, 2026-08-20")."""
    if not isinstance(source, str) or not source:
        return MISSING
    if source.startswith("catalog: ") and source.endswith(")") and " (" in source:
        date = source.rsplit(" (", 1)[1].rstrip(")")
        return f"Azure Retail Prices, {date} (batchsim's shipped catalog)"
    return source


def _text(value: Any) -> str:
    if value is None or value == "" or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    return str(value)


def setup_rows(runs: Sequence[Run]) -> list[SetupRow]:
    """What each run simulated: scenario, horizon, seed, overrides, pool, prices and their source, formula."""

    def row(label: str, cell: Callable[[Run], Any]) -> SetupRow:
        return SetupRow(label, tuple(_text(cell(r)) for r in runs))

    def horizon(run: Run) -> str:
        seconds = _number(run.info.get("duration_s", run.summary.get("simulated_s")))
        return format_duration(seconds) if seconds is not None else MISSING

    def start(run: Run) -> str:
        when = start_time(run)
        return when.strftime("%Y-%m-%d %H:%M UTC") if when is not None else MISSING

    def overrides(run: Run) -> str:
        if not run.info:
            return MISSING
        return "; ".join(f"{k}={v}" for k, v in _overrides(run).items()) or "none"

    def nodes(run: Run) -> str:
        pool = _pool(run)
        if "initial_dedicated" not in pool:
            return MISSING
        return f"{pool['initial_dedicated']} dedicated, {pool['initial_spot']} Spot"

    return [
        row("scenario", lambda r: r.info.get("scenario") or r.summary.get("scenario")),
        row("description", lambda r: r.info.get("description")),
        row("scenario file", lambda r: r.info.get("scenario_file")),
        row("start", start),
        row("horizon", horizon),
        row("seed", lambda r: r.summary.get("seed", r.info.get("seed"))),
        row("overrides (--set)", overrides),
        row("VM size", lambda r: _pool(r).get("vm_size")),
        row("region", lambda r: _pool(r).get("region")),
        row("OS", lambda r: _pool(r).get("os")),
        row("task slots per node", lambda r: _pool(r).get("task_slots_per_node")),
        row("initial nodes", nodes),
        row("Spot evictions per node-hour", lambda r: _pool(r).get("spot_eviction_rate_per_hour")),
        row("prices", _prices),
        row("price source", lambda r: price_source_text(r.summary.get("price_source"))),
        row("autoscale formula", _formula_cell),
        row("batchsim", lambda r: r.info.get("batchsim_version")),
    ]


def formula_texts(runs: Sequence[Run]) -> list[str | None]:
    """Each run's formula text (None: no formula, or a run directory without run.json)."""
    return [_formula(r).get("text") for r in runs]


@dataclass(frozen=True)
class FigureRow:
    """One figure of the summary, formatted per run, with the change against the first run."""

    label: str
    cells: tuple[str, ...]
    changes: tuple[str, ...]  # "" for the first run and where no change can be computed


def _unfinished(summary: dict[str, Any]) -> float | None:
    active = _number(summary.get("tasks_active_at_end"))
    running = _number(summary.get("tasks_running_at_end"))
    return None if active is None and running is None else (active or 0) + (running or 0)


_FIGURES: tuple[tuple[str, Callable[[dict[str, Any]], Any], str], ...] = (
    ("tasks submitted", lambda s: s.get("tasks_submitted"), "{:.0f}"),
    ("tasks completed", lambda s: s.get("tasks_completed"), "{:.0f}"),
    ("tasks failed", lambda s: s.get("tasks_failed"), "{:.0f}"),
    ("unfinished at the end", _unfinished, "{:.0f}"),
    ("never started", lambda s: s.get("tasks_never_started"), "{:.0f}"),
    ("deadlines met", lambda s: s.get("deadline_met_fraction"), "{:.1%}"),
    ("wait p50", lambda s: s.get("wait_s_p50"), "{:.0f}"),
    ("wait p95", lambda s: s.get("wait_s_p95"), "{:.0f}"),
    ("wait p99", lambda s: s.get("wait_s_p99"), "{:.0f}"),
    ("wait max", lambda s: s.get("wait_s_max"), "{:.0f}"),
    ("cost", lambda s: s.get("cost_usd"), "{:.2f}"),
    ("dedicated (USD)", lambda s: s.get("cost_dedicated_usd"), "{:.2f}"),
    ("Spot (USD)", lambda s: s.get("cost_spot_usd"), "{:.2f}"),
    ("idle waste (USD)", lambda s: s.get("cost_idle_usd"), "{:.2f}"),
    ("provisioning waste (USD)", lambda s: s.get("cost_provisioning_usd"), "{:.2f}"),
    ("per completed task (USD)", lambda s: s.get("cost_per_completed_task_usd"), "{:.4f}"),
    ("node-hours dedicated", lambda s: s.get("node_hours_dedicated"), "{:.1f}"),
    ("node-hours Spot", lambda s: s.get("node_hours_spot"), "{:.1f}"),
    ("preemptions", lambda s: s.get("preemptions"), "{:.0f}"),
    ("task requeues", lambda s: s.get("task_requeues"), "{:.0f}"),
    ("autoscale evaluations", lambda s: s.get("autoscale_evaluations"), "{:.0f}"),
    ("autoscale errors", lambda s: s.get("autoscale_errors"), "{:.0f}"),
)


# Cells worded as the terminal words them: waits in seconds, "≥"-marked when some tasks never
# started; the cost with the period it covers.
_WAIT_KEYS = {"wait p50": "wait_s_p50", "wait p95": "wait_s_p95", "wait p99": "wait_s_p99", "wait max": "wait_s_max"}


def _cell(label: str, fmt: str, value: float | None, run: Run) -> str:
    if value is None:
        return MISSING
    if label in _WAIT_KEYS:
        text = wait_text(run.summary, (_WAIT_KEYS[label],))
        return text if label == "wait p95" else text.split(" (")[0]
    if label == "cost":
        return cost_text(value, None, _horizon_s(run))
    return fmt.format(value)


def _horizon_s(run: Run) -> float:
    return _number(run.info.get("duration_s", run.summary.get("simulated_s"))) or 0.0


def figure_rows(runs: Sequence[Run]) -> list[FigureRow]:
    """The summary figures per run; for several runs, each one's change against the first."""
    rows = []
    for label, read, fmt in _FIGURES:
        values = [_number(read(r.summary)) for r in runs]
        cells = tuple(_cell(label, fmt, v, r) for v, r in zip(values, runs, strict=True))
        changes = []
        for i, value in enumerate(values):
            base = values[0]
            if i == 0 or value is None or base is None:
                changes.append("")
            elif fmt.endswith("%}"):
                changes.append(f"{(value - base) * 100:+.1f} pt")
            elif base:
                changes.append(f"{(value - base) / abs(base):+.0%}")
            else:
                changes.append("" if value == base else f"+{fmt.format(value)}")
        rows.append(FigureRow(label, cells, tuple(changes)))
    return rows


def run_labels(runs: Sequence[Run]) -> list[str]:
    """A short label per run saying what differs from the others: seed, overrides, formula, ...

    Runs that agree on everything (or say nothing about themselves) keep their names, numbered.
    """
    if len(runs) == 1:
        return [runs[0].name]
    labels = _differences(runs, with_seed=True)
    if len(set(labels)) < len(labels):
        labels = [f"{label} #{i + 1}" for i, label in enumerate(labels)]
    return labels


def seed_groups(runs: Sequence[Run]) -> list[str] | None:
    """Per run, the label of its group when the runs are seeds of a few set-ups (each run labelled
    by what differs apart from the seed); None when no two runs differ by their seed alone.

    Two runs of one group with the same seed are not seeds of one set-up: then None as well.
    """
    if len(runs) < 2:
        return None
    labels = _differences(runs, with_seed=False)
    seeds = [(label, r.summary.get("seed")) for label, r in zip(labels, runs, strict=True)]
    if len(set(labels)) == len(labels) or len(set(seeds)) < len(seeds):
        return None
    return labels


def _differences(runs: Sequence[Run], *, with_seed: bool) -> list[str]:
    parts: list[list[str]] = [[] for _ in runs]

    def add(values: Sequence[Any], show: Callable[[Any], str]) -> None:
        if len({repr(v) for v in values}) > 1:
            for i, value in enumerate(values):
                parts[i].append(show(value))

    add([r.name for r in runs], str)
    if with_seed:
        add([r.summary.get("seed") for r in runs], lambda v: f"seed {v}")
    # A formula set by --set is labelled with the other formulas, below.
    keys = sorted({k for r in runs for k in _overrides(r) if not k.startswith("pool.autoscale.formula")})
    short = {k: k.rsplit(".", 1)[-1] for k in keys}
    for key in keys:
        name = short[key] if list(short.values()).count(short[key]) == 1 else key
        values = []
        for run in runs:
            value = _overrides(run).get(key)
            if value is None:  # not overridden here: the value the scenario itself gave
                value = resolved_value(run, key)
            values.append("(scenario's)" if value is None else value)
        add(values, functools.partial("{}={}".format, name))
    texts = formula_texts(runs)
    files = [_formula(r).get("file") for r in runs]
    if len(set(texts)) > 1:
        named = all(files) and len({Path(str(f)).name for f in files}) == len(set(texts))
        order = list(dict.fromkeys(texts))
        for i, (text, file) in enumerate(zip(texts, files, strict=True)):
            parts[i].append(Path(str(file)).name if named else f"formula {chr(ord('A') + order.index(text))}")
    for name in ("vm_size", "region", "os"):
        add([_pool(r).get(name) for r in runs], str)
    add([_prices(r) for r in runs], lambda v: "prices " + v.split(" per ")[0])
    return [", ".join(p) or r.name for p, r in zip(parts, runs, strict=True)]


def clock_text(run: Run, seconds: float) -> str:
    """A time in the run as the clock showed it ("2026-01-05 14:05:00"), else hours since the start."""
    start = start_time(run)
    if start is None:
        return f"{seconds / 3600:.2f} h"
    return (start + timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class Decision:
    """An autoscale evaluation that changed a target or failed."""

    time: str
    dedicated: str  # "2 → 5", or "5" when unchanged
    spot: str
    error: str
    results: str


def _change(before: float | None, after: float | None) -> str:
    if after is None:
        return MISSING
    if before is None or before == after:
        return f"{after:.0f}"
    return f"{before:.0f} → {after:.0f}"


def decisions(run: Run) -> list[Decision]:
    """Every evaluation that changed the dedicated or Spot target, or ended in an error, in order."""
    pool = _pool(run)
    before = (_number(pool.get("initial_dedicated")), _number(pool.get("initial_spot")))
    found = []
    for row in run.evaluations.itertuples(index=False):
        after = (_number(row.target_dedicated), _number(row.target_spot))
        code, message = _text(row.error_code), _text(row.error_message)
        failed = code != MISSING or message != MISSING
        if after != before or failed:
            error = " ".join(t for t in (code, message) if t != MISSING)
            results = _text(row.results)
            found.append(
                Decision(
                    clock_text(run, float(row.time_s)),
                    _change(before[0], after[0]),
                    _change(before[1], after[1]),
                    error,
                    "" if results == MISSING else results,
                )
            )
        before = tuple(a if a is not None else b for a, b in zip(after, before, strict=True))  # type: ignore[assignment]
    return found
