"""The report as Markdown with PNG figures beside it (`batchsim report --format md`).

The same content as the HTML report: what was simulated, the summary figures, one figure per
section (several runs overlaid), and every autoscale decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from batchsim.files import write_atomically
from batchsim.report import plots
from batchsim.report.describe import decisions, figure_rows, formula_texts, run_labels, seed_groups, setup_rows
from batchsim.report.html import FIGURES, figure_png
from batchsim.report.runs import Run, load_run
from batchsim.report.tables import SeedTable

__all__ = ["write_markdown"]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(_cell(h) for h in head) + " |", "|" + "---|" * len(head)]
    return lines + ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]


def render_markdown(
    runs: Sequence[Run], image_name: str = "report-{section}.png", seed_table: SeedTable | None = None
) -> tuple[str, dict[str, bytes]]:
    """The Markdown text and the PNG files it links to (file name → bytes)."""
    labels = run_labels(runs)
    groups = seed_groups(runs)
    overlay = list(groups) if groups is not None else labels
    lines = [f"# batchsim report: {', '.join(dict.fromkeys(r.name for r in runs))}", ""]
    lines += ["## What was simulated", ""]
    setup = [r for r in setup_rows(runs) if any(cell != "–" for cell in r.cells)]
    lines += _table(["", *labels], [[("**" + r.label + "**") if r.differs else r.label, *r.cells] for r in setup])
    for label, text in zip(labels, formula_texts(runs), strict=True):
        if text:
            lines += ["", f"Formula of {label}:" if len(runs) > 1 else "Formula:", "", "```", text.rstrip(), "```"]
    lines += ["", "## Summary", ""]
    if seed_table is not None:
        lines += _table(seed_table.headers, seed_table.rows)
        lines += ["", seed_table.note, "", "Each run:", ""]
    rows = [
        [row.label, *(f"{c} ({d})" if d else c for c, d in zip(row.cells, row.changes, strict=True))]
        for row in figure_rows(runs)
    ]
    lines += _table(["", *labels], rows)
    images: dict[str, bytes] = {}
    for section, name, draw in FIGURES:
        file_name = image_name.format(section=section)
        shown = labels if draw is plots.cost_breakdown else overlay
        images[file_name] = figure_png(draw, runs, shown)
        lines += ["", f"## {name}", "", f"![{name}: {', '.join(dict.fromkeys(shown))}]({file_name})"]
    lines += ["", "## Autoscale decisions"]
    for run, label in zip(runs, labels, strict=True):
        lines += ["", f"### {label}", ""] if len(runs) > 1 else [""]
        changes = decisions(run)
        if not len(run.evaluations):
            lines.append("No autoscale formula: the pool kept its initial size.")
            continue
        lines += [f"{len(run.evaluations)} evaluations; {len(changes)} changed a target or failed.", ""]
        table = [[d.time, d.dedicated, d.spot, d.error, f"`{d.results}`" if d.results else ""] for d in changes]
        lines += _table(["time", "dedicated", "Spot", "error", "results"], table)
    return "\n".join(lines) + "\n", images


def write_markdown(runs: Sequence[Run | str | Path], out: str | Path, seed_table: SeedTable | None = None) -> Path:
    """Write `out` (Markdown) and its PNG figures next to it (`<stem>-<section>.png`)."""
    out = Path(out)
    loaded = [r if isinstance(r, Run) else load_run(r) for r in runs]
    text, images = render_markdown(loaded, f"{out.stem}-{{section}}.png", seed_table)
    for name, data in images.items():
        out.parent.mkdir(parents=True, exist_ok=True)
        (out.parent / name).write_bytes(data)
    return write_atomically(out, text)
