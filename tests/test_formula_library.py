"""The formula library (formulas/): documented, valid, and exercised by a shipped scenario."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchsim.formula import EvalContext, check, compile

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = sorted((ROOT / "formulas").glob("*.formula"))


def test_at_least_eight_library_formulas() -> None:
    assert len(LIBRARY) >= 8


@pytest.mark.parametrize("path", LIBRARY, ids=[p.name for p in LIBRARY])
def test_library_formula_is_documented_valid_and_warning_free(path: Path) -> None:
    text = path.read_text()
    header = [line for line in text.splitlines() if line.startswith("//")]
    assert len(header) >= 2 and "When to use" in text
    # Warnings the formula accepts carry a `// batchsim: accept CODE <why>` comment (a missing reason
    # is itself a warning), so a library formula has no finding at all.
    assert check(text) == []
    assert compile(text).evaluate(EvalContext(now_tick=0)).error is None


@pytest.mark.parametrize("path", LIBRARY, ids=[p.name for p in LIBRARY])
def test_library_formula_is_exercised_by_a_shipped_scenario_or_test(path: Path) -> None:
    uses = [p.read_text() for p in (ROOT / "scenarios").glob("*.yaml")]
    uses += [p.read_text() for p in (ROOT / "tests").rglob("*.py")]
    assert any(path.name in text for text in uses)
