"""The table across seeds that `compare`, `report` and `sweep` print, built once for the terminal
and the report alike (`batchsim.report.tables.SeedTable`): each metric's mean ± 95 % interval, the
paired difference against the first row, costs with the period they cover and censored waits
marked "≥"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from batchsim.report.tables import SeedTable, cost_periods

__all__ = ["comparison_table", "report_seed_table", "stress_seed_table"]


def comparison_table(rows: Sequence[Mapping[str, Any]], horizon_s: float, name: str = "formula") -> SeedTable:
    """`rows` as `measure.cells.metric_row` gives them (with `_diff` against the first), keyed by `name`."""
    from batchsim.measure.cells import METRICS
    from batchsim.measure.text import plus_minus

    periods = cost_periods(horizon_s)
    reference = str(rows[0][name])
    paired = len(rows) > 1  # one row has nothing to be paired with
    headers = [name]
    for key, label, _ in METRICS:
        headers += [f"cost (USD) per {periods[0][0]}" if key == "cost_usd" else label, *(["Δ"] if paired else [])]
    headers += [f"USD per {period}" for period, _ in periods[1:]]
    lines = []
    for row in rows:
        line = [str(row[name])]
        for key, _, fmt in METRICS:
            mark = "≥ " if key.startswith("wait_s") and row.get("wait_censored") else ""
            line.append(mark + plus_minus(row[key], row[f"{key}_ci"], fmt))
            if paired:
                first = str(row[name]) == reference
                diff = "" if first else plus_minus(row[f"{key}_diff"], row[f"{key}_diff_ci"], fmt.replace("{:", "{:+"))
                line.append(diff)
        for _, factor in periods[1:]:
            half = row["cost_usd_ci"]
            line.append(plus_minus(row["cost_usd"] * factor, None if half is None else half * factor, "{:.2f}"))
        lines.append(line)
    seeds = max(int(row.get("runs") or 0) for row in rows)
    note = f"mean ± 95 % t-interval across {seeds} seeds"
    if paired:
        note += f"; Δ: paired difference against {reference}"
    if any(row.get("wait_censored") for row in rows):
        note += "; ≥: some tasks never started, so their waits (and the p95) are lower bounds"
    return SeedTable(tuple(headers), tuple(tuple(line) for line in lines), note)


def report_seed_table(runs: Sequence[Any], groups: Sequence[str]) -> SeedTable:
    """The table across seeds of loaded runs grouped by set-up (`report.describe.seed_groups`),
    measured exactly as `compare` measures its seeds: paired by seed against the first group."""
    from batchsim.measure.cells import Measured, metric_row

    by_group: dict[str, dict[Any, dict[str, Any]]] = {}
    for run, group in zip(runs, groups, strict=True):
        by_group.setdefault(group, {})[run.summary.get("seed")] = run.summary
    first = next(iter(by_group.values()))
    rows = []
    for group, summaries in by_group.items():
        # Pairs need the same seeds on both sides: a group is paired on the seeds it shares with the first.
        shared = [seed for seed in summaries if seed in first]
        measured = Measured(list(summaries), list(summaries.values()))
        paired = Measured(shared, [summaries[s] for s in shared])
        against = Measured(shared, [first[s] for s in shared])
        row = metric_row(measured)
        row.update({k: v for k, v in metric_row(paired, against).items() if k.endswith(("_diff", "_diff_ci"))})
        rows.append({"set-up": group, **row})
    horizon_s = max(float(r.summary.get("simulated_s") or 0.0) for r in runs)
    return comparison_table(rows, horizon_s, name="set-up")


def stress_seed_table(rows: Sequence[Mapping[str, Any]], horizon_s: float, seeds: int) -> SeedTable:
    """`batchsim stress`'s rows (`stress.table.StressTable.rows`): each formula under each stress,
    with the paired change against the same formula's baseline."""
    from batchsim.measure.text import plus_minus
    from batchsim.stress import describe

    period = cost_periods(horizon_s)[0][0]
    headers = ["formula", "stress", "what", f"cost (USD) per {period}", "Δ cost", "p95 wait (s)", "Δ p95"]
    headers += ["deadlines met", "never started"]
    lines = []
    for r in rows:
        mark = "≥ " if r.get("wait_censored") else ""
        lines.append(
            (
                str(r["formula"]),
                str(r["stress"]),
                describe(r["parameters"]),
                plus_minus(r["cost_usd"], r["cost_usd_ci"], "{:.2f}"),
                plus_minus(r["cost_usd_change"], r["cost_usd_change_ci"], "{:+.2f}"),
                mark + plus_minus(r["wait_s_p95"], r["wait_s_p95_ci"], "{:.0f}"),
                plus_minus(r["wait_s_p95_change"], r["wait_s_p95_change_ci"], "{:+.0f}"),
                plus_minus(r["deadline_met_fraction"], r["deadline_met_fraction_ci"], "{:.3f}"),
                plus_minus(r["tasks_never_started"], r["tasks_never_started_ci"], "{:.1f}"),
            )
        )
    note = f"mean ± 95 % t-interval across {seeds} seeds; Δ: paired change against the formula's baseline"
    if any(r.get("wait_censored") for r in rows):
        note += "; ≥: some tasks never started, so their waits (and the p95) are lower bounds"
    return SeedTable(tuple(headers), tuple(lines), note, left=3)
