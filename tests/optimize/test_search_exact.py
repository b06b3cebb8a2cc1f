"""A search's trials are the same bit for bit as before issue 26's per-worker caches (compiled
formulas reused across seeds, billing without a frame per run) and a random search's longer
batches: the oracle is the trials table of the same search recorded with the code before (commit
29a0bc8), not this code.

Re-record (only with the code before a change that is meant to change results):
`PYTHONPATH=/path/to/that/code python tests/optimize/test_search_exact.py`.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd

from batchsim.measure import executors
from batchsim.measure.executors import Executor, run_one
from batchsim.measure.runs import RunSpec, resolved_json
from batchsim.optimize.objective import Objective
from batchsim.optimize.search import RANDOM_BATCH_FACTOR, optimize
from batchsim.optimize.templates import find_template
from batchsim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "azure-llm-trace.yaml"
RECORDED = Path(__file__).with_name("data") / "search-exact-trials.csv"


def small_search(batch: int | None = None, hours: float = 6, budget: int = 4, on_trial: Any = None) -> str:
    """`budget` random `spot-share` candidates × 2 seeds of the 50-node day over its first `hours`, in
    this process (one worker: every run goes through `run_one` and its caches), as CSV text."""
    scenario = load_scenario(SCENARIO)
    scenario = scenario.model_copy(update={"duration": hours * 3600.0})
    with Executor(workers=1) as executor:
        result = optimize(
            scenario,
            find_template("spot-share"),
            Objective(p95_wait_target_s=600),
            executor,
            budget=budget,
            seeds=2,
            sampler="random",
            final_seeds=1,
            batch=batch,
            on_trial=on_trial,
        )
    return str(result.trials.to_csv(index=False))


def test_trials_are_the_recorded_ones() -> None:
    recorded = RECORDED.read_text()
    now = small_search()
    pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(now)), pd.read_csv(io.StringIO(recorded)))
    assert now == recorded  # bit for bit: the CSV's float digits too


def test_a_random_search_is_the_same_in_longer_batches() -> None:
    """A random search's default batch is RANDOM_BATCH_FACTOR times the others' (fewer ends of batch
    where one worker waits for the other); its trials are those of a search asked two at a time."""
    told: list[int] = []
    default = small_search(hours=1, budget=8, on_trial=lambda done, _total: told.append(done))
    assert RANDOM_BATCH_FACTOR * 2 >= 8 and told == [8]  # one batch of 2 × RANDOM_BATCH_FACTOR trials on one worker
    assert default == small_search(batch=2, hours=1, budget=8)


def test_a_reused_program_runs_as_a_fresh_one() -> None:
    """The second seed of a formula reuses the program compiled for the first: its summary is the one
    a fresh compile gives (a program that kept state between runs would differ here)."""
    scenario = load_scenario(SCENARIO)
    text = resolved_json(scenario.model_copy(update={"duration": 3 * 3600.0}))
    formula = find_template("spot-share").render({})
    first, second = RunSpec(text, 1, formula=formula), RunSpec(text, 2, formula=formula)
    executors._program.cache_clear()
    fresh = run_one(second).summary
    executors._program.cache_clear()
    run_one(first)
    reused = run_one(second).summary
    assert executors._program.cache_info().hits == 1
    executors._program.cache_clear()
    assert {k: v for k, v in reused.items() if k != "wall_s"} == {k: v for k, v in fresh.items() if k != "wall_s"}


if __name__ == "__main__":
    RECORDED.write_text(small_search())
