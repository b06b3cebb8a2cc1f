"""batchsim: an offline twin of an Azure Batch pool.

Check, evaluate, simulate, price and optimize Azure Batch autoscale formulas before they reach a
live pool.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from batchsim import formula

__all__ = [
    "__version__",
    "backtest",
    "backtest_plots",
    "calibrate",
    "formula",
    "load_scenario",
    "plan_document",
    "plan_pool",
    "plan_report",
    "read_history",
    "simulate",
    "template",
    "write_calibration",
]

# What planners' notebooks use beyond simulating, by name → (module, attribute; None: the module).
# Each loads on first use, like the names below, and is the same object the commands use.
_PUBLIC = {
    "template": ("batchsim.optimize.templates", "find_template"),  # a shipped formula template by name
    "read_history": ("batchsim.history.directory", "read_history"),  # a history directory (DESIGN §7)
    "calibrate": ("batchsim.history.calibrate", "calibrate"),  # a scenario fitted to a history
    "write_calibration": ("batchsim.history.scenario_file", "write_calibration"),
    "backtest": ("batchsim.history.backtest", "backtest"),  # a scenario replayed against the history
    "backtest_plots": ("batchsim.history.backtest_report", None),  # draw_nodes, draw_targets, draw_waits
    # `batchsim plan` from Python (not `bs.plan`: importing batchsim.plan binds that name to the subpackage)
    "plan_pool": ("batchsim.plan.api", "plan_pool"),  # a PlanResult
    "plan_document": ("batchsim.plan.outputs", "document"),  # a PlanResult as plan.json has it
    "plan_report": ("batchsim.plan.outputs", "render_report"),  # a PlanResult as report.md has it
}
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
    if name in _PUBLIC:
        import importlib

        module_name, attribute = _PUBLIC[name]
        module = importlib.import_module(module_name)
        return module if attribute is None else getattr(module, attribute)
    raise AttributeError(f"module 'batchsim' has no attribute {name!r}")
