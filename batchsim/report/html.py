"""One self-contained HTML report for one or more runs (plots embedded as PNG)."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Sequence
from pathlib import Path

from batchsim.report import plots
from batchsim.report.runs import Run, load_run

__all__ = ["SECTIONS", "SUMMARY_ROWS", "render_report", "write_report"]

SECTIONS = ("Summary", "Cost", "Nodes", "Queue", "Waits", "Preemptions", "Autoscale decisions")
_FIGURES: dict[str, Callable[..., object]] = {
    "Cost": plots.cost_breakdown,
    "Nodes": plots.nodes_over_time,
    "Queue": plots.queue_length,
    "Waits": plots.wait_distribution,
    "Preemptions": plots.preemptions,
}
SUMMARY_ROWS = (
    ("tasks completed", "tasks_completed", "{:.0f}"),
    ("tasks failed", "tasks_failed", "{:.0f}"),
    ("wait p50 (s)", "wait_s_p50", "{:.0f}"),
    ("wait p95 (s)", "wait_s_p95", "{:.0f}"),
    ("cost (USD)", "cost_usd", "{:.2f}"),
    ("dedicated (USD)", "cost_dedicated_usd", "{:.2f}"),
    ("spot (USD)", "cost_spot_usd", "{:.2f}"),
    ("idle waste (USD)", "cost_idle_usd", "{:.2f}"),
    ("provisioning waste (USD)", "cost_provisioning_usd", "{:.2f}"),
    ("per completed task (USD)", "cost_per_completed_task_usd", "{:.4f}"),
    ("node-hours dedicated", "node_hours_dedicated", "{:.1f}"),
    ("node-hours spot", "node_hours_spot", "{:.1f}"),
    ("preemptions", "preemptions", "{:.0f}"),
    ("task requeues", "task_requeues", "{:.0f}"),
)


def _png(draw: Callable[..., object], run: Run) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 3.2))
    draw(run, ax=ax)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _summary_table(runs: Sequence[Run]) -> str:
    head = "".join(f"<th>{html.escape(r.name)}</th>" for r in runs)
    if len(runs) > 1:
        head += "<th>Δ last vs first</th>"
    rows = []
    for label, key, fmt in SUMMARY_ROWS:
        values = [float(r.summary.get(key, 0.0)) for r in runs]
        cells = "".join(f"<td>{fmt.format(v)}</td>" for v in values)
        if len(runs) > 1:
            base = values[0]
            delta = values[-1] - base
            pct = f" ({delta / base:+.0%})" if base else ""
            cells += f"<td>{fmt.format(delta)}{pct}</td>"
        rows.append(f"<tr><th>{label}</th>{cells}</tr>")
    return f"<table><tr><th></th>{head}</tr>{''.join(rows)}</table>"


def _decisions(run: Run, limit: int = 40) -> str:
    ev = run.evaluations
    if not len(ev):
        return "<p>No autoscale formula: the pool kept its initial size.</p>"
    changes = ev[(ev["target_dedicated"].diff() != 0) | (ev["target_spot"].diff() != 0) | ev["error_code"].notna()]
    rows = "".join(
        f"<tr><td class='time'>{row.time_s / 3600:.2f} h</td>"
        f"<td>{row.target_dedicated:.0f}</td><td>{row.target_spot:.0f}</td>"
        f"<td><code>{html.escape(str(row.error_code or ''))} {html.escape(str(row.error_message or ''))}</code></td>"
        f"<td class='results'><code>{html.escape(str(row.results))}</code></td></tr>"
        for row in changes.head(limit).itertuples()
    )
    note = f"<p>{len(ev)} evaluations; {len(changes)} changed a target or failed (first {limit} shown).</p>"
    head = "<tr><th>time</th><th>dedicated</th><th>spot</th><th>error</th><th>results</th></tr>"
    return note + f"<table class='decisions'>{head}{rows}</table>"


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6rem; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2rem; margin-top: 2rem; }
table { border-collapse: collapse; font-size: .9rem; }
td, th { border: 1px solid #ddd; padding: .3rem .6rem; text-align: right; }
table.decisions td { text-align: left; font-size: .8rem; } img { max-width: 100%; }
table.decisions th { text-align: left; } table.decisions td.time { white-space: nowrap; }
/* A results string is one long line with no spaces: break it anywhere rather than widen the page. */
table.decisions td.results { word-break: break-all; }
"""


def render_report(runs: Sequence[Run]) -> str:
    """The report's HTML for `runs` (the first is the baseline for deltas)."""
    parts = [f"<h1>batchsim report: {html.escape(', '.join(r.name for r in runs))}</h1>"]
    parts.append(f"<h2 id='summary'>Summary</h2>{_summary_table(runs)}")
    for section, draw in _FIGURES.items():
        parts.append(f"<h2 id='{section.lower()}'>{section}</h2>")
        for run in runs:
            name = html.escape(run.name)
            image = f"<img alt='{section} of {name}' src='data:image/png;base64,{_png(draw, run)}'>"
            parts.append(f"<h3>{name}</h3>{image}")
    parts.append("<h2 id='autoscale-decisions'>Autoscale decisions</h2>")
    for run in runs:
        parts.append(f"<h3>{html.escape(run.name)}</h3>{_decisions(run)}")
    body = "\n".join(parts)
    head = f"<meta charset='utf-8'><title>batchsim report</title><style>{_CSS}</style>"
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>\n"


def write_report(run_dirs: Sequence[str | Path], out: str | Path) -> Path:
    """Load run directories and write one self-contained HTML report to `out`."""
    runs = [load_run(d) for d in run_dirs]
    out = Path(out)
    out.write_text(render_report(runs), encoding="utf-8")
    return out
