"""batchsim: an offline twin of an Azure Batch pool.

Check, evaluate, simulate, price and optimize Azure Batch autoscale formulas before they reach a
live pool.
"""

from __future__ import annotations

from typing import Any

from batchsim import formula

__all__ = ["__version__", "formula", "load_scenario", "simulate"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # Scenario loading and the engine pull in pydantic, numpy and pandas: load them on first use,
    # so that `import batchsim` (and `batchsim check`) stays fast.
    if name == "load_scenario":
        from batchsim.scenario import load_scenario

        return load_scenario
    if name == "simulate":
        from batchsim.pipeline import simulate

        return simulate
    raise AttributeError(f"module 'batchsim' has no attribute {name!r}")
