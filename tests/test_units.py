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
