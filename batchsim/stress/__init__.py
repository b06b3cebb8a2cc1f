"""Stress tests: a formula under the named bad days (DESIGN §8) and the scenario's own `stresses:`.

`batchsim.stress_spec` (what a stress is: the scenario model reads it, so it lives below the
scenario, outside this package, which imports the scenario), `transforms` (a stress applied to a
scenario), `named` (the fixed set), `table` (formulas × stresses × seeds), `report` (the HTML
section).
"""

from __future__ import annotations

from typing import Any

__all__ = ["BASELINE", "NAMED", "StressSpec", "apply", "available", "busiest_hour_s", "describe", "find"]

_WHERE = {
    "BASELINE": "batchsim.stress.named",
    "NAMED": "batchsim.stress.named",
    "available": "batchsim.stress.named",
    "find": "batchsim.stress.named",
    "StressSpec": "batchsim.stress_spec",
    "apply": "batchsim.stress.transforms",
    "busiest_hour_s": "batchsim.stress.transforms",
    "describe": "batchsim.stress.transforms",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'batchsim.stress' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_WHERE[name]), name)
