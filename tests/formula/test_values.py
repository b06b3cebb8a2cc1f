"""Number formatting in results strings against C's printf `%g` (formula reference §9.2)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from batchsim.formula.values import format_double


@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10_000, 10_000).map(float)))
def test_doubles_print_as_printf_g(x: float) -> None:
    assert format_double(x) == ("0" if x == 0 else "%g" % x)  # noqa: UP031 - printf is the oracle
