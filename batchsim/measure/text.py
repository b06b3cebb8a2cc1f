"""Plain-text tables of measurements (stdout is often a pipe or a file, where box drawing is noise)."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["format_table", "plus_minus"]


def plus_minus(mean: float | None, half: float | None, fmt: str) -> str:
    """`12.31 ± 0.22`; the half-width is left out when it is unknown (one seed)."""
    if mean is None or not math.isfinite(mean):
        return "-"
    if half is None or not math.isfinite(half):
        return fmt.format(mean)
    return f"{fmt.format(mean)} ± {fmt.replace('+', '').format(abs(half))}"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """The first `left` columns left-aligned (names), the others right-aligned (numbers)."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        parts = [str(c).ljust(widths[i]) if i < left else str(c).rjust(widths[i]) for i, c in enumerate(cells)]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), *(line(r) for r in rows)])
