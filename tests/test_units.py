from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from batchsim.dist import Distribution
from batchsim.units import format_duration, parse_duration_s


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("24h", 86400), ("7d", 604800), (0, 0), (2.5, 2.5), ("1.5h", 5400), ("30", 30)],
)
def test_parse_duration(text: object, seconds: float) -> None:
    assert parse_duration_s(text) == seconds


@pytest.mark.parametrize("bad", ["", "5 minutes", "-3s", -1, "1e3s", True, None, [1]])
def test_parse_duration_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration_s(bad)


@given(st.integers(min_value=0, max_value=10**8))
def test_format_duration_round_trips(seconds: int) -> None:
    assert parse_duration_s(format_duration(seconds)) == seconds


def test_distributions_sample_with_their_means() -> None:
    adapter = TypeAdapter(Distribution)
    rng = np.random.default_rng(7)
    for spec, mean in [
        ({"dist": "constant", "value": "2m"}, 120),
        ({"dist": "exponential", "mean": "60s"}, 60),
        ({"dist": "uniform", "low": "10s", "high": "30s"}, 20),
        ({"dist": "lognormal", "median": "6m", "sigma": 0.35}, 360 * math.exp(0.35**2 / 2)),
    ]:
        dist = adapter.validate_python(spec)
        assert dist.mean_s == pytest.approx(mean)
        draws = dist.sample(rng, 200_000)
        assert draws.mean() == pytest.approx(mean, rel=0.01)


def test_distribution_rejects_unknown_keys_and_kinds() -> None:
    adapter = TypeAdapter(Distribution)
    with pytest.raises(ValidationError):
        adapter.validate_python({"dist": "exponential", "mean": "60s", "scale": 2})
    with pytest.raises(ValidationError):
        adapter.validate_python({"dist": "weibull", "shape": 2})
    with pytest.raises(ValidationError):
        adapter.validate_python({"dist": "uniform", "low": "30s", "high": "10s"})


# ISO 8601-1 §5.5.2: weeks (`W`) are a duration unit; the time designator `T` precedes the time
# parts and is absent when there are none, so `P1DT` is no duration. The Batch REST API writes
# TimeSpans as such durations (`resizeTimeout` `PT15M`, an unlimited wall clock
# `P10675199DT2H48M5.4775807S`: https://learn.microsoft.com/rest/api/batchservice/pool/get).
@pytest.mark.parametrize(
    ("text", "seconds"),
    [("P1W", 604800.0), ("P1DT", None), ("PT", None), ("PT05M00S", 300.0), ("P10675199DT2H48M5.4775807S", None)],
)
def test_one_iso_8601_parser_for_scenarios_and_service_records(text: str, seconds: float | None) -> None:
    from batchsim.history.calibrate import service_duration_s

    if text.startswith("P10675199"):
        seconds = 10675199 * 86400 + 2 * 3600 + 48 * 60 + 5.4775807
    assert service_duration_s(text) == seconds  # what calibrate reads from a pool's records
    if seconds is None:
        with pytest.raises(ValueError):
            parse_duration_s(text)  # what a scenario file may write
    else:
        assert parse_duration_s(text) == seconds


def test_vcpus_come_from_the_catalog_before_the_size_name(monkeypatch: pytest.MonkeyPatch) -> None:
    # Constrained-vCPU sizes keep a larger size's memory with fewer active vCPUs: Standard_E8-4s_v5
    # has 4 (https://learn.microsoft.com/azure/virtual-machines/constrained-vcpu). The catalog's
    # vCPUs win over any name; the name is read only for a size the catalog lacks.
    from batchsim.cost import catalog
    from batchsim.sim.config import PoolConfig

    assert catalog.vcpus_of(PoolConfig(vm_size="Standard_E8-4s_v5")) == 4
    assert catalog.vcpus_of(PoolConfig(vm_size="Standard_D2s_v3")) == 2
    assert catalog.vcpus_of(PoolConfig(vm_size="Standard_D2s_v3", vcpus_per_node=3)) == 3
    rows = [*catalog.catalog_rows(), {**catalog.catalog_rows()[0], "vm_size": "Standard_X8_v9", "vcpus": 6}]
    catalog._vcpus_by_size.cache_clear()
    monkeypatch.setattr(catalog, "catalog_rows", lambda: rows)
    try:
        assert catalog.vcpus_of(PoolConfig(vm_size="Standard_X8_v9")) == 6  # the catalog's, not the name's 8
    finally:
        catalog._vcpus_by_size.cache_clear()
