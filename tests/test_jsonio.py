"""Every JSON document batchsim writes parses with a strict parser (RFC 8259: no NaN, no Infinity)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from batchsim import jsonio


def _reject_constant(name: str) -> None:
    raise ValueError(f"non-standard JSON constant {name}")


def strict_loads(text: str) -> object:
    return json.loads(text, parse_constant=_reject_constant)


def test_non_finite_numbers_become_null() -> None:
    document = {"mean": math.nan, "max": math.inf, "min": -math.inf, "rows": [1.5, math.nan]}
    assert strict_loads(jsonio.dumps(document)) == {"mean": None, "max": None, "min": None, "rows": [1.5, None]}


def test_numpy_values_are_plain_numbers() -> None:
    document = {"n": np.int64(3), "x": np.float64("nan"), "v": np.array([1.0, np.inf])}
    assert strict_loads(jsonio.dumps(document)) == {"n": 3, "x": None, "v": [1.0, None]}


def test_what_is_not_json_is_still_refused() -> None:
    with pytest.raises(TypeError):
        jsonio.dumps({"path": object()})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
)


@given(json_values)
def test_any_document_parses_strictly(value: object) -> None:
    strict_loads(jsonio.dumps(value))
