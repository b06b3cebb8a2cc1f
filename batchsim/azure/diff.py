"""Text diffs the exporter prints before it changes a pool: formulas line by line, results by variable."""

from __future__ import annotations

import difflib

from batchsim.azure.pool import parse_results

__all__ = ["formula_diff", "results_diff"]


def formula_diff(current: str | None, new: str, current_label: str, new_label: str) -> list[str]:
    """A unified diff of two formulas; one line saying so when they are equal."""
    if current is not None and current.strip() == new.strip():
        return ["formula: unchanged"]
    before = (current or "").splitlines()
    lines = list(difflib.unified_diff(before, new.splitlines(), fromfile=current_label, tofile=new_label, lineterm=""))
    if current is None:
        lines.insert(0, "formula: the pool has none (autoscale is off)")
    return lines


def results_diff(current: str | None, new: str | None, current_label: str, new_label: str) -> list[str]:
    """One row per variable of either results string: name, current value, new value, and '*' when changed."""
    before, after = parse_results(current), parse_results(new)
    names = list(before) + [name for name in after if name not in before]
    if not names:
        return ["results: none on either side"]
    width = max(len(name) for name in names)
    head_width = max(len(current_label), max((len(v) for v in before.values()), default=1), 1)
    rows = [f"  {'':{width}}  {current_label:<{head_width}}  {new_label}"]
    for name in names:
        old, fresh = before.get(name, "-"), after.get(name, "-")
        mark = "  *" if old != fresh else ""
        rows.append(f"  {name:<{width}}  {old:<{head_width}}  {fresh}{mark}")
    return ["results:", *rows]
