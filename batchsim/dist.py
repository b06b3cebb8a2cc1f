"""Distributions of durations used by scenario files (DESIGN §4).

`{dist: constant, value}`, `{dist: exponential, mean}`, `{dist: uniform, low, high}`,
`{dist: lognormal, median, sigma}`; every duration field takes "90s", "15m", ... or seconds.
Each model draws through a `numpy.random.Generator` handed in by its caller, so that every source
of randomness keeps its own stream (STYLE: common random numbers).
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from batchsim.units import DURATION_FORMS, DURATION_PATTERN, parse_duration_s

__all__ = ["Constant", "Distribution", "DurationS", "Exponential", "LogNormal", "Uniform"]

DurationS = Annotated[
    float,
    BeforeValidator(parse_duration_s),
    WithJsonSchema(
        {
            "anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": DURATION_PATTERN}],
            "description": f"A duration: {DURATION_FORMS}.",
        },
        mode="validation",
    ),
]
"""A duration in seconds, accepting "90s", "15m", "24h", "7d", ISO 8601 ("PT15M") or a number of seconds."""


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def sample(self, rng: np.random.Generator, size: int | None = None) -> float | np.ndarray:
        """One draw (size None) or an array of `size` draws, in seconds."""
        raise TypeError(f"{type(self).__name__} cannot be sampled")

    @property
    def mean_s(self) -> float:
        """The distribution's mean in seconds."""
        raise TypeError(f"{type(self).__name__} has no mean")


class Constant(_Dist):
    """Always `value`."""

    dist: Literal["constant"]
    value: DurationS

    def sample(self, rng: np.random.Generator, size: int | None = None) -> float | np.ndarray:
        return self.value if size is None else np.full(size, self.value)

    @property
    def mean_s(self) -> float:
        return self.value


class Exponential(_Dist):
    """Exponential with the given mean."""

    dist: Literal["exponential"]
    mean: DurationS

    def sample(self, rng: np.random.Generator, size: int | None = None) -> float | np.ndarray:
        if size is None:
            return float(rng.exponential(self.mean))
        return rng.exponential(self.mean, size)

    @property
    def mean_s(self) -> float:
        return self.mean


class Uniform(_Dist):
    """Uniform on [low, high]."""

    dist: Literal["uniform"]
    low: DurationS
    high: DurationS

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"uniform needs low <= high, got low={self.low}s high={self.high}s")
        return self

    def sample(self, rng: np.random.Generator, size: int | None = None) -> float | np.ndarray:
        if size is None:
            return float(rng.uniform(self.low, self.high))
        return rng.uniform(self.low, self.high, size)

    @property
    def mean_s(self) -> float:
        return (self.low + self.high) / 2


class LogNormal(_Dist):
    """Log-normal with the given median and shape sigma (of the underlying normal)."""

    dist: Literal["lognormal"]
    median: DurationS
    sigma: float = Field(ge=0)

    def sample(self, rng: np.random.Generator, size: int | None = None) -> float | np.ndarray:
        mu = math.log(self.median) if self.median > 0 else -math.inf
        if size is None:
            return float(rng.lognormal(mu, self.sigma)) if self.median > 0 else 0.0
        return rng.lognormal(mu, self.sigma, size) if self.median > 0 else np.zeros(size)

    @property
    def mean_s(self) -> float:
        return self.median * math.exp(self.sigma**2 / 2)


Distribution = Annotated[Constant | Exponential | Uniform | LogNormal, Field(discriminator="dist")]
"""Any duration distribution, chosen by its `dist` key."""
