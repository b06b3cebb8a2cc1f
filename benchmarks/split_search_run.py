"""Where a search's run spends its CPU time, as one worker runs it (issue 26).

Runs `--candidates` random `spot-share` candidates × 5 seeds of the 50-node day through
`executors.run_one` in this process (each spec and outcome pickled as between processes, the
seeds' workloads built first as a worker's cache holds them), with the stages wrapped in CPU-time
counters: the engine proper (`Engine.simulate`), its set-up, the reduction of records to the
summary and the bill, the formula's compilation, the pydantic copies; the rest of a run (pickling
the spec and the outcome, freeing the run's records, the collector) is what is left. Works on the
code before issue 26 too (run it with that code's PYTHONPATH).
Run: python benchmarks/split_search_run.py [--candidates 8]
"""

from __future__ import annotations

import argparse
import pickle
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna

import batchsim.formula.compiler as compiler
import batchsim.measure.executors as executors
import batchsim.pipeline as pipeline
import batchsim.sim.engine as engine
import batchsim.sim.result as result
from batchsim.measure.runs import RunSpec, resolved_json
from batchsim.optimize.families import Families
from batchsim.optimize.templates import find_template
from batchsim.scenario import load_scenario

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "azure-llm-trace.yaml"
SPENT: defaultdict[str, float] = defaultdict(float)


def timed(function: Callable[..., Any], key: str) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            SPENT[key] += time.process_time() - started

    return wrapper


def instrument() -> None:
    executors.with_formula = timed(executors.with_formula, "pydantic copies (with_formula)")  # type: ignore[assignment]
    compiler.compile = timed(compiler.compile, "formula compile")  # type: ignore[assignment]
    pipeline.add_costs = timed(pipeline.add_costs, "reduction: the bill (add_costs)")  # type: ignore[assignment]
    engine.Engine.__init__ = timed(engine.Engine.__init__, "engine set-up (Engine.__init__)")  # type: ignore[method-assign]
    engine.Engine.simulate = timed(engine.Engine.simulate, "engine proper (Engine.simulate)")  # type: ignore[method-assign]
    from_records = result.Result.from_records.__func__  # type: ignore[attr-defined]
    result.Result.from_records = classmethod(timed(from_records, "reduction: the summary (from_records)"))  # type: ignore[method-assign, assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=8)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    text = resolved_json(load_scenario(SCENARIO))
    families = Families(find_template("spot-share"))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    specs = []
    for _ in range(args.candidates):
        template, values = families.suggest(study.ask())
        specs += [RunSpec(text, seed, formula=template.render(values)) for seed in range(1, 6)]
    executors._STOP = threading.Event()  # as in a pool's worker (its workload cache is frozen)
    for spec in specs[:5]:
        executors.run_one(spec)
    instrument()
    started = time.process_time()
    for spec in specs:
        at = time.process_time()
        sent = pickle.loads(pickle.dumps(spec))
        outcome = executors.run_one(sent)
        pickle.loads(pickle.dumps(outcome))
        SPENT["run (with pickling)"] += time.process_time() - at
    total_s = time.process_time() - started
    print(f"{len(specs)} runs of {SCENARIO.name}: {total_s / len(specs) * 1000:.1f} ms CPU a run")
    stages_s = sum(spent_s for key, spent_s in SPENT.items() if not key.startswith("run"))
    SPENT["the rest (freeing the run, gc, workload lookup)"] = SPENT["run (with pickling)"] - stages_s
    for key, spent_s in sorted(SPENT.items(), key=lambda item: -item[1]):
        print(f"  {key:48s} {spent_s / len(specs) * 1000:7.2f} ms  {spent_s / total_s:6.1%}")


if __name__ == "__main__":
    main()
