"""The stress report: the table of formulas × stresses, and for each formula the nodes and queue of
its baseline beside its worst stress (first seed), drawn by the report's own plot functions."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from batchsim.optimize.text import plus_minus
from batchsim.stress.table import StressTable, worst_stress
from batchsim.stress.transforms import describe

__all__ = ["stress_section", "write_stress_report"]

_COLUMNS = (
    ("cost_usd", "cost (USD)", "{:.2f}"),
    ("wait_s_p95", "p95 wait (s)", "{:.0f}"),
    ("deadline_met_fraction", "deadlines met", "{:.3f}"),
    ("tasks_never_started", "never started", "{:.1f}"),
)


def _png(draw: Callable[..., Any], run: Any) -> str:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 3.0))
    draw(run, ax=figure.add_subplot())
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _as_run(name: str, result: Any) -> Any:
    from batchsim.report.runs import Run

    return Run(name, result.summary, result.tasks, result.nodes, result.evaluations, result.metrics)


def stress_section(table: StressTable, results: Mapping[tuple[str, str], Any]) -> str:
    """An HTML fragment: the rows, then per formula its baseline and its worst stress, plotted."""
    from batchsim.report import plots

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
        f"<table class='stress'><tr>{head}</tr>{''.join(body)}</table>",
    ]
    baseline = table.rows[0]["stress"]
    for formula in dict.fromkeys(r["formula"] for r in table.rows):
        worst = worst_stress(table, formula)
        parts.append(f"<h3>{html.escape(formula)}: baseline and worst stress ({html.escape(str(worst))})</h3>")
        for stress in (baseline, worst):
            if stress is None or (formula, stress) not in results:
                continue
            run = _as_run(f"{formula} / {stress}", results[(formula, stress)])
            for title, draw in (("nodes", plots.nodes_over_time), ("queue", plots.queue_length)):
                alt = html.escape(f"{title} of {formula} under {stress}")
                parts.append(f"<figure><img alt='{alt}' src='data:image/png;base64,{_png(draw, run)}'>")
                parts.append(f"<figcaption>{alt}</figcaption></figure>")
    return "\n".join(parts)


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; font-size: .85rem; } td, th { border: 1px solid #ddd; padding: .25rem .5rem; }
td { text-align: right; } td:nth-child(-n+3) { text-align: left; } img { max-width: 100%; }
"""


def write_stress_report(table: StressTable, results: Mapping[tuple[str, str], Any], out: Path, title: str) -> Path:
    """A self-contained HTML page holding the stress section."""
    body = f"<h1>batchsim stress: {html.escape(title)}</h1>\n{stress_section(table, results)}"
    page = f"<!doctype html><html><head><meta charset='utf-8'><title>batchsim stress</title><style>{_CSS}</style>"
    out.write_text(f"{page}</head><body>{body}</body></html>\n", encoding="utf-8")
    return out
