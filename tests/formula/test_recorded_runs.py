"""Every corpus and shipped formula, evaluated on a few pools, gives the runs the code before
issue 26 gave: results strings, errors (code, message, detail), targets and values, byte for byte.

The oracle is recorded, not recomputed: `data/runs-before-issue26.json` holds a digest of each
formula's runs, written by this module run on commit 29a0bc8 (the evaluator before issue 26's
compiled sample windows and sealed runs):

    PYTHONPATH=<checkout of 29a0bc8> python tests/formula/test_recorded_runs.py --record
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path

import pytest

from batchsim.formula import TICKS_PER_SECOND, EvalContext, FormulaError, SampleSeries, compile

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus" / "formulas"
RECORDED = Path(__file__).with_name("data") / "runs-before-issue26.json"
NOW_TICK = 1_767_571_200 * TICKS_PER_SECOND
_METRICS = ("$PendingTasks", "$ActiveTasks", "$RunningTasks", "$CPUPercent", "$SucceededTasks", "$FailedTasks")


def _contexts() -> dict[str, EvalContext]:
    """Empty; busy with a day of history; gappy (a third missing) with a 90 s lag; one sample."""
    day = 2880
    busy = {
        m: SampleSeries.ending_at([float((i * 7 + k) % 23) for i in range(day)], NOW_TICK)
        for k, m in enumerate(_METRICS)
    }
    gappy = {
        m: SampleSeries(
            NOW_TICK - 119 * 30 * TICKS_PER_SECOND,
            [math.nan if i % 3 == 0 else float(i % 11 + k) for i in range(120)],
            lag_ticks=90 * TICKS_PER_SECOND,
        )
        for k, m in enumerate(_METRICS)
    }
    single = {m: SampleSeries.ending_at([4.0], NOW_TICK) for m in _METRICS}
    return {
        "empty": EvalContext(now_tick=NOW_TICK),
        "busy": EvalContext(NOW_TICK, 3.0, 2.0, 3.0, 2.0, 1.0, 4.0, None, "taskcompletion", busy),
        "gappy": EvalContext(NOW_TICK, 5.0, 0.0, 5.0, 0.0, 0.0, 1.0, 4.0, "requeue", gappy),
        "single": EvalContext(NOW_TICK + 7, 1.0, 10.0, 1.0, 10.0, 5.0, 2.0, None, "requeue", single),
    }


def _formulas() -> dict[str, str]:
    paths = sorted(CORPUS.glob("*.formula")) + sorted((ROOT / "formulas").rglob("*.formula"))
    return {(p.name if p.parent == CORPUS else str(p.relative_to(ROOT))): p.read_text(encoding="utf-8") for p in paths}


def _digest(text: str) -> str:
    """A digest of the formula's runs on every context, or of its compile error."""
    try:
        program = compile(text)
    except FormulaError as error:
        return "compile error: " + str(error)
    # repr: a NaN compares equal to itself and -0.0 differs from 0.0
    runs = "\n".join(repr(program.evaluate(ctx)) for ctx in _contexts().values())
    return hashlib.sha256(runs.encode()).hexdigest()[:20]


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus not found at {CORPUS}")
def test_every_formula_runs_as_before_issue_26() -> None:
    recorded: dict[str, str] = json.loads(RECORDED.read_text(encoding="utf-8"))
    formulas = _formulas()
    assert set(recorded) <= set(formulas)  # every recorded formula is still there
    changed = [name for name in recorded if _digest(formulas[name]) != recorded[name]]
    assert not changed, f"runs differ from before issue 26: {changed}"


if __name__ == "__main__" and sys.argv[1:] == ["--record"]:
    RECORDED.write_text(json.dumps({n: _digest(t) for n, t in _formulas().items()}, indent=1) + "\n", encoding="utf-8")
