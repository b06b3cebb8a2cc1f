"""What an operator, function or sample method resolves to at compile time.

The built-ins (`operators.py`, `functions.py`, `sampling.py`) look only at the static types of
their operands and answer with an `Operation` (the result type and how to compute it) or a
`Problem` (the type error the service would report, and where it points). They know nothing of
the compiler: `lowering.py` turns an `Operation` into code, folds it when its operands are
constants, and reports a `Problem` as a diagnostic.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Operation", "OperationError", "Problem"]

_PLACEHOLDER = re.compile(r"\{(\d+)\}")


class OperationError(Exception):
    """An operation that fails at run time (division by zero, vector lengths); the caller adds the span."""


@dataclass(frozen=True, slots=True)
class Operation:
    """A resolved operation.

    kind: the static type of the result.
    template: a Python expression computing the result. `{0}`, `{1}`, ... stand for the operands'
        values and appear in operand order, once each, so that operands evaluate left to right
        (formula reference §3.4); `{span}` names the position a failure points at; `frame` and
        `ctx` are the run's `Frame` and `EvalContext`.
    helpers: the functions the template calls, by the names it uses (names are unique across
        the built-ins).
    apply: the same computation on constant operand values (`apply(*values, span)`), for constant
        folding; None when the result depends on the run (samples, time, random numbers).
    truth: for a result of 1 or 0, a cheaper template with the same truth value, for when the
        result is only tested (`p < 70 ? …`).
    """

    kind: str
    template: str
    helpers: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    apply: Callable[..., Any] | None = None
    truth: str | None = None

    def __post_init__(self) -> None:
        indices = [int(i) for i in _PLACEHOLDER.findall(self.template)]
        if indices != list(range(len(indices))):
            raise ValueError(f"operands out of order in template {self.template!r}")


@dataclass(frozen=True, slots=True)
class Problem:
    """A type error found while resolving an operation.

    at: where the error points (formula reference §8.3): "name" (the function or method name),
        "lparen" (the `(` of the call), or the 1-based index of the offending argument.
    """

    detail: str
    at: str | int
