"""Prices per node-hour: the scenario's `prices:` model and the protocol billing reads.

A scenario's explicit `prices:` win; otherwise the shipped catalog's row for the pool's size,
region and OS (`catalog.resolve_prices`). The defaults for runs without a scenario are the
DESIGN §4 example's, from public test fixtures of the Retail Prices API (batch-behavior §6.3).
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DEFAULT_PRICES", "PriceLike", "Prices"]


class PriceLike(Protocol):
    """Anything with dedicated and Spot prices per node-hour."""

    @property
    def dedicated_per_hour(self) -> float: ...

    @property
    def spot_per_hour(self) -> float: ...


class Prices(BaseModel):
    """Explicit prices per node-hour; absent: the shipped catalog's for `pool.vm_size`, `pool.region`, `pool.os`."""

    model_config = ConfigDict(extra="forbid")

    dedicated_per_hour: float = Field(ge=0)
    spot_per_hour: float = Field(ge=0)
    source: str = "scenario"


DEFAULT_PRICES = Prices(
    dedicated_per_hour=0.096, spot_per_hour=0.0192, source="DESIGN §4 example (batch-behavior §6.3)"
)
