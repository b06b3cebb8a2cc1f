"""The stress report: the table of formulas × stresses, and for each formula the nodes and queue of
its baseline and of its worst stress, every seed overlaid on one axis (a colour per stress, labelled
"baseline (3 seeds)"), drawn by the report's own plot functions (`batchsim.report.plots`,
`batchsim.report.html.figure_png`)."""

from __future__ import annotations

import base64
import functools
import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from batchsim.measure.text import plus_minus
from batchsim.report.tables import SeedTable
from batchsim.stress.table import StressTable, worst_stress
from batchsim.stress.transforms import describe

__all__ = ["stress_section", "write_stress_report"]

_COLUMNS = (
    ("cost_usd", "cost (USD)", "{:.2f}"),
    ("wait_s_p95", "p95 wait (s)", "{:.0f}"),
    ("deadline_met_fraction", "deadlines met", "{:.3f}"),
    ("tasks_never_started", "never started", "{:.1f}"),
)


def _img(draw: Any, runs: list[Any], labels: list[str], alt: str) -> str:
    from batchsim.report.html import figure_png

    data = base64.b64encode(figure_png(draw, runs, labels)).decode("ascii")
    image = f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'>"
    return f"<figure>{image}<figcaption>{html.escape(alt)}</figcaption></figure>"


def _windows(parameters: Mapping[str, Any]) -> list[tuple[float, float]]:
    """When a stress acts, as (start, duration) in seconds; an instant (a mass eviction) as one minute."""
    found = []
    for p in parameters.values():
        if isinstance(p, dict) and "start_s" in p and "duration_s" in p:
            found.append((float(p["start_s"]), float(p["duration_s"])))
        elif isinstance(p, dict) and "at_s" in p:
            found.append((float(p["at_s"]), 60.0))
    return found


def stress_section(
    table: StressTable, results: Mapping[tuple[str, str], list[Any]], printed: SeedTable | None = None
) -> str:
    """An HTML fragment: the rows (as the command printed them, when given), then per formula its
    baseline and its worst stress, each seed's run (`results`: the runs of seeds 1..K) overlaid with
    the stress's window shaded."""
    from batchsim.report import plots
    from batchsim.report.html import seed_table_html

    head = "".join(f"<th>{h}</th>" for h in ("formula", "stress", "what", *(c[1] for c in _COLUMNS), "Δ cost", "Δ p95"))
    body = []
    for row in table.rows:
        cells = [html.escape(row["formula"]), html.escape(row["stress"]), html.escape(describe(row["parameters"]))]
        cells += [plus_minus(row[k], row[f"{k}_ci"], f) for k, _, f in _COLUMNS]
        cells += [plus_minus(row["cost_usd_change"], row["cost_usd_change_ci"], "{:+.2f}")]
        cells += [plus_minus(row["wait_s_p95_change"], row["wait_s_p95_change_ci"], "{:+.0f}")]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    parts = [
        "<h2 id='stress'>Stress</h2>",
        "<p>Each formula under each stress on the same seeds; ± is the 95 % t-interval across seeds, Δ the paired "
        "change against the formula's baseline.</p>",
        seed_table_html(printed)
        if printed is not None
        else f"<table class='stress'><tr>{head}</tr>{''.join(body)}</table>",
    ]
    baseline = table.rows[0]["stress"]
    for formula in dict.fromkeys(r["formula"] for r in table.rows):
        worst = worst_stress(table, formula)
        parts.append(f"<h3>{html.escape(formula)}: baseline and its worst stress, {html.escape(str(worst))}</h3>")
        shown = [s for s in (baseline, worst) if s is not None and (formula, s) in results]
        # One label per run: the plots give a stress's seeds one colour and one legend entry, "burst (3 seeds)".
        runs = [run for s in shown for run in results[(formula, s)]]
        labels = [s for s in shown for _ in results[(formula, s)]]
        seeds = max((len(results[(formula, s)]) for s in shown), default=0)
        windows = _windows(next((r["parameters"] for r in table.rows if r["stress"] == worst), {}))
        for title, draw in (("Nodes", plots.nodes_over_time), ("Queue", plots.queue_length)):
            shaded = functools.partial(draw, windows=windows)
            alt = f"{title} of {formula}: {' and '.join(shown)}, {seeds} seed(s) each overlaid"
            parts.append(_img(shaded, runs, labels, alt))
    return "\n".join(parts)


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; font-size: .85rem; } td, th { border: 1px solid #ddd; padding: .25rem .5rem; }
td { text-align: right; } td:nth-child(-n+3) { text-align: left; } img { max-width: 100%; }
"""


def write_stress_report(
    table: StressTable,
    results: Mapping[tuple[str, str], list[Any]],
    out: Path,
    title: str,
    printed: SeedTable | None = None,
) -> Path:
    """A self-contained HTML page holding the stress section."""
    body = f"<h1>batchsim stress: {html.escape(title)}</h1>\n{stress_section(table, results, printed)}"
    page = f"<!doctype html><html><head><meta charset='utf-8'><title>batchsim stress</title><style>{_CSS}</style>"
    out.write_text(f"{page}</head><body>{body}</body></html>\n", encoding="utf-8")
    return out
