"""Stress tests: a formula under the named bad days (DESIGN §8) and the scenario's own `stresses:`.

`spec` (what a stress is; the scenario model reads it, so this package imports nothing at load
time), `transforms` (a stress applied to a scenario), `named` (the fixed set), `table` (formulas ×
stresses × seeds), `report` (the HTML section).
"""

from __future__ import annotations

from typing import Any

__all__ = ["BASELINE", "NAMED", "StressSpec", "apply", "available", "busiest_hour_s", "describe", "find"]

_WHERE = {
    "BASELINE": "named",
    "NAMED": "named",
    "available": "named",
    "find": "named",
    "StressSpec": "spec",
    "apply": "transforms",
    "busiest_hour_s": "transforms",
    "describe": "transforms",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'batchsim.stress' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"batchsim.stress.{_WHERE[name]}"), name)
