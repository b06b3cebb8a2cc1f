"""The offset table of an embedded formula, for any text (Hypothesis): every character of the
decoded formula comes from a host range whose text the host format's own decoder turns into that
character. The encoders and decoders are the formats' libraries (json, PyYAML), not the code under test.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from batchsim.hosts import find_formulas

# Formula-like text with what needs escaping: quotes, backslashes, line breaks, tabs, non-ASCII,
# characters outside the Basic Multilingual Plane (JSON writes them as surrogate pairs).
TEXT = st.text(
    alphabet=st.sampled_from([*'$ab=;() "\\\n\t\r/éΩ😀', "\u2028"]),
    min_size=1,
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(formula=TEXT, ascii_only=st.booleans())
def test_json_escapes_map_to_their_characters(formula: str, ascii_only: bool) -> None:
    host = '{"id": "p", "autoScaleFormula": ' + json.dumps(formula, ensure_ascii=ascii_only) + "}"
    (found,) = find_formulas(Path("pool.json"), host, {})
    assert found.text == formula and found.resource == "p"
    for char, (start, end) in zip(found.text, found.origins, strict=True):
        assert json.loads('"' + host[start:end] + '"') == char


@settings(max_examples=150, deadline=None)
@given(formula=TEXT)
def test_yaml_double_quoted_escapes_map_to_their_characters(formula: str) -> None:
    scalar = yaml.safe_dump(formula, default_style='"', width=10_000).rstrip("\n")
    if "\n" in scalar:  # PyYAML wrote it over several lines: not a one-line scalar
        return
    host = f"pool:\n  autoscale:\n    formula: {scalar}\n"
    (found,) = find_formulas(Path("pool.yaml"), host, {})
    assert found.text == formula
    for char, (start, end) in zip(found.text, found.origins, strict=True):
        assert yaml.safe_load('"' + host[start:end] + '"') == char


@settings(max_examples=100, deadline=None)
@given(formula=st.text(alphabet=st.sampled_from(list('$ab=;() "\\\n\téΩ')), min_size=1, max_size=60))
def test_terraform_quoted_escapes_map_to_their_characters(formula: str) -> None:
    # HCL's quoted-string escapes for this alphabet are JSON's (\n \t \" \\ \uNNNN): json encodes.
    literal = json.dumps(formula, ensure_ascii=True)
    host = f'resource "azurerm_batch_pool" "p" {{\n  auto_scale {{\n    formula = {literal}\n  }}\n}}\n'
    (found,) = find_formulas(Path("main.tf"), host, {})
    assert found.text == formula
    for char, (start, end) in zip(found.text, found.origins, strict=True):
        assert json.loads('"' + host[start:end] + '"') == char
