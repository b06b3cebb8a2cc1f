"""The corpus of real formulas (../shared/corpus): expected verdicts and documented decisions."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from batchsim.formula import EvalContext, check, compile
from batchsim.formula.diagnostics import Severity

pytestmark = pytest.mark.conformance

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
# Decisions for the `unsure` formulas, with reasons in docs/formula-language.md ("Corpus decisions").
UNSURE_VALID = {"016", "025", "052", "160", "190", "211", "247", "250"}
UNSURE_INVALID = {"010", "040", "058", "070", "076", "091", "157", "172", "229"}
# Errors a formula that the corpus calls valid must never get from an evaluation on an empty pool.
STATIC_ERRORS = (
    "Undefined symbol",
    "Unknown function",
    "Unknown method",
    "Unknown field",
    "Wrong number",
    "Type mismatch",
)


def _rows() -> list[dict[str, str]]:
    if not (CORPUS / "expected.tsv").is_file():
        return []
    with open(CORPUS / "expected.tsv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


ROWS = _rows()


@pytest.mark.skipif(not ROWS, reason=f"corpus not found at {CORPUS}")
def test_every_unsure_formula_has_a_decision() -> None:
    unsure = {row["file"].split(".")[0] for row in ROWS if row["expect"] == "unsure"}
    assert unsure == UNSURE_VALID | UNSURE_INVALID


@pytest.mark.parametrize("row", ROWS, ids=[row["file"] for row in ROWS])
def test_corpus_formula(row: dict[str, str]) -> None:
    text = (CORPUS / "formulas" / row["file"]).read_text(encoding="utf-8")
    errors = [d for d in check(text) if d.severity is Severity.ERROR]
    stem = row["file"].split(".")[0]
    expect = row["expect"]
    if expect == "unsure":
        expect = "valid" if stem in UNSURE_VALID else "invalid"
    if expect == "valid":
        assert errors == []
        run = compile(text).evaluate(EvalContext(now_tick=0))
        assert run.error is None or not run.error.detail.split(": ", 1)[1].startswith(STATIC_ERRORS), run.error
    else:
        assert errors, "an invalid formula must get an error"
        first = errors[0]
        assert first.span.line >= 1 and first.span.column >= 1
        assert first.code in (
            "AutoScalingFormulaSyntaxError",
            "AutoScalingFormulaEvaluationError",
            "AutoScalingFormulaTooLong",
        )
