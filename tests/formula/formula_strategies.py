"""Hypothesis pieces shared by the formula tests that generate expressions (test_robustness,
test_fast_path): the operators, the ternary and function calls over `children`."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

BINARY = ["+", "-", "*", "/", "<", "==", "&&", "||"]


def combinations(children: st.SearchStrategy[str], functions: Sequence[str]) -> list[st.SearchStrategy[str]]:
    """Binary and unary operators, the ternary, and calls of `functions` (0 to 3 arguments)."""
    return [
        st.builds(lambda o, x, y: f"({x} {o} {y})", st.sampled_from(BINARY), children, children),
        st.builds(lambda o, x: f"{o}{x}", st.sampled_from(["-", "!"]), children),
        st.builds(lambda c, t, e: f"({c} ? {t} : {e})", children, children, children),
        st.builds(
            lambda f, xs: f"{f}({', '.join(xs)})", st.sampled_from(list(functions)), st.lists(children, max_size=3)
        ),
    ]
