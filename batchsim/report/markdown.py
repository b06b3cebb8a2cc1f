"""The report as Markdown with PNG files beside it (`batchsim report --format md`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from batchsim.report import plots
from batchsim.report.html import SUMMARY_ROWS
from batchsim.report.runs import Run, load_run

__all__ = ["write_markdown"]

_FIGURES = {
    "Cost": plots.cost_breakdown,
    "Nodes": plots.nodes_over_time,
    "Queue": plots.queue_length,
    "Waits": plots.wait_distribution,
    "Preemptions": plots.preemptions,
}


def _summary(runs: Sequence[Run]) -> list[str]:
    head = "| | " + " | ".join(r.name for r in runs) + (" | Δ last vs first |" if len(runs) > 1 else " |")
    lines = [head, "|---" * (len(runs) + 1 + (len(runs) > 1)) + "|"]
    for label, key, fmt in SUMMARY_ROWS:
        values = [float(r.summary.get(key, 0.0)) for r in runs]
        cells = [fmt.format(v) for v in values]
        if len(runs) > 1:
            delta = values[-1] - values[0]
            cells.append(fmt.format(delta) + (f" ({delta / values[0]:+.0%})" if values[0] else ""))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def write_markdown(run_dirs: Sequence[str | Path], out: str | Path) -> Path:
    """Write `out` (Markdown) and one PNG per figure and run next to it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [load_run(d) for d in run_dirs]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"# batchsim report: {', '.join(r.name for r in runs)}", "", "## Summary", "", *_summary(runs)]
    for section, draw in _FIGURES.items():
        lines += ["", f"## {section}", ""]
        for i, run in enumerate(runs):
            image = out.with_name(f"{out.stem}-{section.lower()}-{i}.png")
            fig, ax = plt.subplots(figsize=(9, 3.2))
            draw(run, ax=ax)
            fig.tight_layout()
            fig.savefig(image, dpi=90)
            plt.close(fig)
            lines.append(f"![{section} of {run.name}]({image.name})")
    lines += ["", "## Autoscale decisions", ""]
    for run in runs:
        ev = run.evaluations
        changes = ev[(ev["target_dedicated"].diff() != 0) | (ev["target_spot"].diff() != 0) | ev["error_code"].notna()]
        lines += [f"### {run.name}", "", "| time (h) | dedicated | spot | error | results |", "|---|---|---|---|---|"]
        for row in changes.head(40).itertuples():
            error = f"{row.error_code} {row.error_message}" if isinstance(row.error_code, str) else ""
            targets = f"{row.target_dedicated:.0f} | {row.target_spot:.0f}"
            lines.append(f"| {row.time_s / 3600:.2f} | {targets} | {error} | `{row.results}` |")
        lines.append("")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out
