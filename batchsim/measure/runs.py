"""Scenarios made self-contained for a run, and the key that identifies a run for resuming.

A run is sent to a worker as the *resolved* scenario: overrides applied, the formula file's text
inlined, trace paths made absolute. The same text is what a resumed sweep keys its finished runs
on (with the seed, the formula, the trace files' bytes and the batchsim version), so editing the
formula file a scenario points to, or upgrading batchsim, runs again instead of reusing old results.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchsim.scenario import Scenario, ScenarioError
from batchsim.sim.config import AutoscaleConfig
from batchsim.workload.generators import Trace

__all__ = [
    "RunOutcome",
    "RunSpec",
    "autoscaled",
    "fixed_pool_formula",
    "resolve",
    "resolved_json",
    "run_key",
    "with_formula",
]


@dataclass(frozen=True)
class RunSpec:
    """One simulation.

    scenario: the resolved scenario as JSON (`runs.resolved_json`); formula: a formula text that
    replaces the scenario's, or None; records: return the record tables (a `Result`) too;
    tag: anything hashable the caller uses to file the outcome (not sent to the engine).
    """

    scenario: str
    seed: int
    formula: str | None = None
    records: bool = False
    tag: Any = None


@dataclass
class RunOutcome:
    """A finished run: its summary and, when asked for, the whole `Result`."""

    summary: dict[str, Any]
    result: Any = None


def resolve(scenario: Scenario) -> Scenario:
    """`scenario` with its formula inlined and its trace paths absolute (no file needed to run it)."""
    pool = scenario.pool
    autoscale = pool.autoscale
    if autoscale is not None and autoscale.formula_file is not None:
        text = scenario.formula_text()
        pool = pool.model_copy(
            update={"autoscale": autoscale.model_copy(update={"formula": text, "formula_file": None})}
        )
    base = Path(scenario.base_dir or ".")
    workload = [
        entry.model_copy(update={"path": str((base / entry.path).resolve())}) if isinstance(entry, Trace) else entry
        for entry in scenario.workload
    ]
    return scenario.model_copy(update={"pool": pool, "workload": workload})


def resolved_json(scenario: Scenario) -> str:
    """The resolved scenario as JSON text: what a `RunSpec` carries to a worker."""
    return resolve(scenario).model_dump_json()


def fixed_pool_formula(scenario: Scenario) -> str:
    """The formula that keeps a pool at its initial sizes: a fixed pool, written as autoscale."""
    pool = scenario.pool
    return (
        "// the scenario's fixed pool: its initial sizes, kept\n"
        f"$TargetDedicatedNodes = {pool.initial_dedicated};\n"
        f"$TargetLowPriorityNodes = {pool.initial_spot};\n"
    )


def autoscaled(scenario: Scenario) -> Scenario:
    """`scenario` unchanged if it has autoscale; a fixed pool as `fixed_pool_formula`, evaluated at the
    service's default interval (15 min), so that a formula can be put in its place (optimize, compare,
    stress) and stresses on the samples apply."""
    if scenario.pool.autoscale is not None:
        return scenario
    autoscale = AutoscaleConfig(formula=fixed_pool_formula(scenario))
    return scenario.model_copy(update={"pool": scenario.pool.model_copy(update={"autoscale": autoscale})})


def with_formula(scenario: Scenario, formula: str) -> Scenario:
    """`scenario` running `formula` instead of its own (a fixed pool: as `autoscaled` says)."""
    autoscale = autoscaled(scenario).pool.autoscale
    assert autoscale is not None
    autoscale = autoscale.model_copy(update={"formula": formula, "formula_file": None})
    return scenario.model_copy(update={"pool": scenario.pool.model_copy(update={"autoscale": autoscale})})


def run_key(spec: RunSpec) -> str:
    """A stable name for a run: the resolved scenario, the formula, trace bytes, version, then the seed."""
    from batchsim import __version__

    digest = hashlib.sha256()
    digest.update(f"batchsim {__version__}\0".encode())
    digest.update(spec.scenario.encode())
    digest.update(b"\1" + (spec.formula or "").encode())
    scenario = Scenario.model_validate_json(spec.scenario)
    for entry in scenario.workload:
        if isinstance(entry, Trace):
            try:
                digest.update(b"\2" + hashlib.sha256(Path(entry.path).read_bytes()).digest())
            except OSError as exc:
                raise ScenarioError(f"workload trace {entry.path}: cannot read: {exc.strerror}") from None
    return f"{digest.hexdigest()[:20]}-{spec.seed}"
