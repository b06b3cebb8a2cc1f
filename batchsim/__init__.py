"""batchsim: an offline twin of an Azure Batch pool.

Check, evaluate, simulate, price and optimize Azure Batch autoscale formulas before they reach a
live pool.
"""

from __future__ import annotations

from batchsim import formula

__all__ = ["__version__", "formula"]
__version__ = "0.1.0"
