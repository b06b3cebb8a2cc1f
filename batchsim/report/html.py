"""One self-contained HTML report for one or more runs (figures embedded as PNG).

It says what was simulated (scenario, pool, prices and their source, seed, overrides, horizon,
formula), the figures a planner reads first, then the plots; several runs are compared on shared
axes and labelled by what differs between them. Figures are drawn on `matplotlib.figure.Figure`,
never through pyplot, so writing a report from a notebook leaves its backend alone.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from batchsim.files import write_atomically
from batchsim.report import plots
from batchsim.report.describe import (
    SetupRow,
    decisions,
    figure_rows,
    formula_texts,
    run_labels,
    seed_groups,
    setup_rows,
)
from batchsim.report.runs import Run, load_run
from batchsim.report.tables import SeedTable

__all__ = ["SECTIONS", "figure_png", "render_report", "seed_table_html", "write_report"]

Draw = Callable[..., Any]

# (section id, title, plot): the report's figures, in reading order. Seeds of one set-up are
# overlaid in one colour, except on the cost bars, which have one bar per run.
FIGURES: tuple[tuple[str, str, Draw], ...] = (
    ("cost", "Cost", plots.cost_breakdown),
    ("cost-per-hour", "Cost per hour", plots.cost_rate),
    ("nodes", "Nodes", plots.nodes_over_time),
    ("queue", "Queue", plots.queue_length),
    ("waits", "Waits", plots.wait_distribution),
    ("preemptions", "Preemptions", plots.preemptions),
)
SECTIONS = ("What was simulated", "Summary", *(title for _, title, _ in FIGURES), "Autoscale decisions")
_VISIBLE_DECISIONS = 12


def figure_png(draw: Draw, runs: Sequence[Any], labels: Sequence[str], *, height_in: float = 3.4) -> bytes:
    """`draw(runs, ax=..., labels=...)` on a figure of its own, as PNG bytes (no pyplot involved)."""
    from matplotlib.figure import Figure

    if draw is plots.cost_breakdown:  # one bar per run, and a legend of up to three rows under them
        height_in = 1.9 + 0.4 * len(runs)
    figure = Figure(figsize=(10, height_in), layout="constrained")
    draw(list(runs), ax=figure.subplots(), labels=list(labels))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")  # legends outside the axes too
    return buffer.getvalue()


def _img(draw: Draw, runs: Sequence[Run], labels: Sequence[str], alt: str) -> str:
    data = base64.b64encode(figure_png(draw, runs, labels)).decode("ascii")
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'>"


def _head(labels: Sequence[str]) -> str:
    return "<tr><th></th>" + "".join(f"<th>{html.escape(label)}</th>" for label in labels) + "</tr>"


def _setup(runs: Sequence[Run], labels: Sequence[str], replace: dict[str, list[str]] | None = None) -> str:
    rows = []
    for row in setup_rows(runs):
        if all(cell == "–" for cell in row.cells):
            continue
        if replace and row.label in replace:
            row = SetupRow(row.label, tuple(replace[row.label]))
        mark = " class='differs'" if row.differs else ""
        cells = "".join(f"<td>{html.escape(cell)}</td>" for cell in row.cells)
        rows.append(f"<tr{mark}><th>{html.escape(row.label)}</th>{cells}</tr>")
    note = "<p class='note'>Rows in bold differ between the runs.</p>" if len(runs) > 1 else ""
    formulas = []
    for label, text in zip(labels, formula_texts(runs), strict=True):
        if text:
            title = f"Formula of {label}" if len(runs) > 1 else "Formula"
            formulas.append(f"<details><summary>{html.escape(title)}</summary><pre>{html.escape(text)}</pre></details>")
    return f"{note}<table class='setup'>{_head(labels)}{''.join(rows)}</table>{''.join(formulas)}"


def seed_table_html(table: SeedTable) -> str:
    """The table across seeds, cell for cell as the command printed it."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.headers)

    def cell(i: int, text: str) -> str:
        return f"<th>{html.escape(text)}</th>" if i < table.left else f"<td>{html.escape(text)}</td>"

    rows = "".join("<tr>" + "".join(cell(i, c) for i, c in enumerate(row)) + "</tr>" for row in table.rows)
    note = f"<p class='note'>{html.escape(table.note)}</p>"
    return f"<div class='wide'><table class='figures seeds'><tr>{head}</tr>{rows}</table></div>{note}"


def _summary(runs: Sequence[Run], labels: Sequence[str]) -> str:
    rows = []
    for row in figure_rows(runs):
        cells = "".join(
            f"<td>{html.escape(cell)}" + (f" <small>{html.escape(change)}</small>" if change else "") + "</td>"
            for cell, change in zip(row.cells, row.changes, strict=True)
        )
        rows.append(f"<tr><th>{html.escape(row.label)}</th>{cells}</tr>")
    note = "<p class='note'>Small figures: the change against the first run.</p>" if len(runs) > 1 else ""
    return f"{note}<div class='wide'><table class='figures'>{_head(labels)}{''.join(rows)}</table></div>"


def _decisions(run: Run) -> str:
    count = len(run.evaluations)
    if not count:
        return "<p>No autoscale formula: the pool kept its initial size.</p>"
    changes = decisions(run)
    errors = any(d.error for d in changes)
    head = "<tr><th>time</th><th>dedicated</th><th>Spot</th>" + ("<th>error</th>" if errors else "")
    head += "<th>results</th></tr>"

    def results(text: str) -> str:
        # Let the browser break a results string after each assignment rather than mid-name.
        return ";<wbr>".join(html.escape(part) for part in text.split(";"))

    def rows(items: Sequence[Any]) -> str:
        return "".join(
            f"<tr><td class='time'>{html.escape(d.time)}</td><td>{html.escape(d.dedicated)}</td>"
            f"<td>{html.escape(d.spot)}</td>"
            + (f"<td>{html.escape(d.error)}</td>" if errors else "")
            + f"<td class='results'><code>{results(d.results)}</code></td></tr>"
            for d in items
        )

    note = f"<p>{count} evaluations; {len(changes)} changed a target or failed.</p>"
    first = f"<table class='decisions'>{head}{rows(changes[:_VISIBLE_DECISIONS])}</table>"
    if len(changes) <= _VISIBLE_DECISIONS:
        return note + first
    rest = len(changes) - _VISIBLE_DECISIONS
    more = f"<details><summary>the other {rest} changes</summary><table class='decisions'>{head}"
    return note + first + more + rows(changes[_VISIBLE_DECISIONS:]) + "</table></details>"


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1180px; padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2rem; margin-top: 2.2rem; }
h3 { font-size: 1rem; margin-bottom: .3rem; }
table { border-collapse: collapse; font-size: .9rem; margin: .4rem 0; }
td, th { border: 1px solid #ddd; padding: .3rem .6rem; vertical-align: top; }
table.figures td { text-align: right; white-space: nowrap; }
table th { text-align: left; background: #f7f7f7; }
table.setup td { max-width: 28rem; overflow-wrap: anywhere; }
tr.differs th, tr.differs td { font-weight: 600; background: #fff6d6; }
small { color: #666; }
div.wide { overflow-x: auto; }
/* The table across seeds: as many columns as the terminal's, in a smaller type. */
table.seeds { font-size: .8rem; } table.seeds td, table.seeds th { padding: .25rem .45rem; }
p.note { color: #555; font-size: .85rem; margin: .2rem 0; }
img { max-width: 100%; display: block; margin: .3rem 0 1rem; }
details { margin: .4rem 0; } summary { cursor: pointer; color: #0b5cad; }
pre { background: #f7f7f7; padding: .6rem; overflow-x: auto; font-size: .8rem; }
table.decisions td { font-size: .8rem; } table.decisions td.time { white-space: nowrap; }
/* A results string is one long line: break it (after a ';' where possible) rather than widen the page. */
table.decisions td.results { overflow-wrap: anywhere; min-width: 20rem; }
"""


def _intro(runs: Sequence[Run], labels: Sequence[str], groups: Sequence[str] | None) -> str:
    if groups is None:
        return f"<p>{len(runs)} runs, labelled by what differs: {html.escape('; '.join(labels))}.</p>"
    counts = {g: groups.count(g) for g in dict.fromkeys(groups)}
    sets = "; ".join(f"{g} ({n} seeds)" for g, n in counts.items())
    return f"<p>{len(runs)} runs: {html.escape(sets)}. The plots overlay each one's seeds in one colour.</p>"


def render_report(runs: Sequence[Run], seed_table: SeedTable | None = None) -> str:
    """The report's HTML for `runs` (the first is the one the others are compared with).

    `seed_table`: the measurements across seeds as the command that ran them printed them (the
    runs of each set-up are its seeds); the summary leads with it.
    """
    if not runs:
        raise ValueError("a report needs at least one run")
    labels = run_labels(runs)
    groups = seed_groups(runs)
    title = ", ".join(dict.fromkeys(r.name for r in runs))
    parts = [f"<h1>batchsim report: {html.escape(title)}</h1>"]
    if len(runs) > 1:
        parts.append(_intro(runs, labels, groups))
    if groups is None:
        parts.append(f"<h2 id='setup'>What was simulated</h2>{_setup(runs, labels)}")
    else:  # one column per set-up, its seeds in one cell
        first = [groups.index(g) for g in dict.fromkeys(groups)]
        seeds = {
            g: ", ".join(str(r.summary.get("seed")) for r, h in zip(runs, groups, strict=True) if h == g)
            for g in groups
        }
        setup = _setup(
            [runs[i] for i in first], [groups[i] for i in first], {"seed": [seeds[groups[i]] for i in first]}
        )
        parts.append(f"<h2 id='setup'>What was simulated</h2>{setup}")
    if seed_table is not None:
        each = f"<details><summary>each run's figures</summary>{_summary(runs, labels)}</details>"
        parts.append(f"<h2 id='summary'>Summary</h2>{seed_table_html(seed_table)}{each}")
    else:
        parts.append(f"<h2 id='summary'>Summary</h2>{_summary(runs, labels)}")
    overlay = list(groups) if groups is not None else labels
    for section, name, draw in FIGURES:
        shown = labels if draw is plots.cost_breakdown else overlay
        alt = f"{name}: {', '.join(dict.fromkeys(shown))}"
        parts.append(f"<h2 id='{section}'>{name}</h2>{_img(draw, runs, shown, alt)}")
        if len(runs) > 1 and draw is plots.nodes_over_time:
            each = "".join(
                f"<h3>{html.escape(label)}</h3>{_img(draw, [run], [label], f'{name} of {label}')}"
                for run, label in zip(runs, labels, strict=True)
            )
            parts.append(f"<details><summary>each run's nodes, demand and preempted nodes</summary>{each}</details>")
    parts.append("<h2 id='autoscale-decisions'>Autoscale decisions</h2>")
    for run, label in zip(runs, labels, strict=True):
        heading = f"<h3>{html.escape(label)}</h3>" if len(runs) > 1 else ""
        parts.append(heading + _decisions(run))
    body = "\n".join(parts)
    head = f"<meta charset='utf-8'><title>batchsim report: {html.escape(title)}</title><style>{_CSS}</style>"
    return f"<!doctype html><html lang='en'><head>{head}</head><body>{body}</body></html>\n"


def write_report(runs: Sequence[Run | str | Path], out: str | Path, seed_table: SeedTable | None = None) -> Path:
    """Write one self-contained HTML report of `runs` (loaded, or run directories) to `out`."""
    loaded = [r if isinstance(r, Run) else load_run(r) for r in runs]
    return write_atomically(out, render_report(loaded, seed_table))
