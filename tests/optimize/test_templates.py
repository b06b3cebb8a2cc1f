"""Templates: every formula rendered from in-bounds parameters passes `check` (Hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batchsim.formula import check
from batchsim.formula.diagnostics import Severity
from batchsim.optimize.templates import TemplateError, find_template, list_templates

NAMES = list_templates()


def test_six_templates_ship() -> None:
    assert set(NAMES) >= {"pending-tasks", "spot-share", "hysteresis", "time-of-day", "preemption-aware", "slot-aware"}


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_rendered_formulas_check_clean(name: str, data: st.DataObject) -> None:
    template = find_template(name)
    values = {
        p.name: data.draw(st.integers(int(p.low), int(p.high)) if p.kind == "int" else st.floats(p.low, p.high))
        for p in template.parameters
    }
    text = template.render(values)
    errors = [d for d in check(text) if d.severity is Severity.ERROR]
    assert errors == [], (text, errors)


def test_out_of_bounds_and_unknown_parameters_are_refused() -> None:
    template = find_template("pending-tasks")
    with pytest.raises(TemplateError, match="outside"):
        template.render({"maxNodes": 1000})
    with pytest.raises(TemplateError, match="no parameter"):
        template.render({"nodes": 3})
    with pytest.raises(TemplateError, match="no template"):
        find_template("nonexistent")
