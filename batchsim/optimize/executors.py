"""Where simulation runs execute: a local process pool, or a Dask cluster.

Both take plain, picklable `RunSpec`s (the seed travels with each) and yield `(spec, summary)` as
runs finish, so results are identical whichever executor runs them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

__all__ = ["ExecutorError", "RunSpec", "execute", "run_one"]


class ExecutorError(RuntimeError):
    """An executor that cannot be used (scheduler unreachable, Dask missing)."""


@dataclass(frozen=True)
class RunSpec:
    """One simulation: a scenario file, overrides (`key=value`), a formula text or None, a seed."""

    scenario: str
    overrides: tuple[str, ...]
    seed: int
    formula: str | None = None
    tag: str = ""


def run_one(spec: RunSpec) -> dict[str, Any]:
    """Simulate one run and return its summary (executes in a worker process)."""
    from batchsim.pipeline import simulate
    from batchsim.scenario import load_scenario

    scenario = load_scenario(spec.scenario, list(spec.overrides))
    if spec.formula is not None:
        assert scenario.pool.autoscale is not None, "a formula needs pool.autoscale in the scenario"
        scenario.pool.autoscale = scenario.pool.autoscale.model_copy(
            update={"formula": spec.formula, "formula_file": None}
        )
    return simulate(scenario, spec.seed).summary


def execute(
    specs: Sequence[RunSpec], *, executor: str = "local", scheduler: str | None = None, workers: int | None = None
) -> Iterator[tuple[RunSpec, dict[str, Any]]]:
    """Run `specs`, yielding each `(spec, summary)` as it finishes."""
    if not specs:
        return
    if executor == "local":
        count = workers or min(len(specs), os.cpu_count() or 1)
        if count == 1:
            for spec in specs:
                yield spec, run_one(spec)
            return
        with ProcessPoolExecutor(max_workers=count) as pool:
            futures = {pool.submit(run_one, spec): spec for spec in specs}
            for future in as_completed(futures):
                yield futures[future], future.result()
        return
    if executor != "dask":
        raise ExecutorError(f"unknown executor {executor!r}; use local or dask")
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError:
        raise ExecutorError("the dask executor needs `pip install 'batchsim[dask]'`") from None
    if scheduler is None:
        raise ExecutorError("--executor dask needs --scheduler ADDRESS (for example tcp://127.0.0.1:8786)")
    try:
        client = Client(scheduler, timeout="10s")  # type: ignore[no-untyped-call]
    except OSError as exc:
        raise ExecutorError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    try:
        submitted: dict[Any, RunSpec] = {client.submit(run_one, spec, pure=False): spec for spec in specs}
        for future in dask_completed(submitted):  # type: ignore[no-untyped-call]
            yield submitted[future], future.result()
    finally:
        client.close()  # type: ignore[no-untyped-call]
