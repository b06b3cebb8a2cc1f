"""The optimizer's choices, declared once for the library and the command line (a module light
enough for every command's `--help`)."""

from __future__ import annotations

import enum

__all__ = ["ObjectiveKind", "SamplerKind"]


class ObjectiveKind(str, enum.Enum):
    """p95-wait: cheapest meeting a p95 wait; deadline: cheapest meeting a deadline-miss share; pareto: the front."""

    p95_wait = "p95-wait"
    deadline = "deadline"
    pareto = "pareto"


class SamplerKind(str, enum.Enum):
    """optuna's samplers: tpe (default), nsga2 (default for pareto), random."""

    tpe = "tpe"
    nsga2 = "nsga2"
    random = "random"
