"""batchsim: an offline twin of an Azure Batch pool.

Check, evaluate, simulate, price and optimize Azure Batch autoscale formulas before they reach a
live pool.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from batchsim import formula

__all__ = ["__version__", "formula", "load_scenario", "simulate"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # Everything loads on first use, so that `import batchsim` (and `batchsim check`, which needs
    # only the formula parser and checker) stays fast: the engine pulls in pydantic, numpy and pandas.
    if name == "formula":
        import batchsim.formula

        return batchsim.formula
    if name == "load_scenario":
        from batchsim.scenario import load_scenario

        return load_scenario
    if name == "simulate":
        from batchsim.pipeline import simulate

        return simulate
    raise AttributeError(f"module 'batchsim' has no attribute {name!r}")
