"""The scanner sees what lark's lexer sees (the grammar is the single source of truth), plus comments,
whitespace and bad characters, and never stops."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lark import Lark
from lark.exceptions import UnexpectedInput

from batchsim.formula.scanning import ERROR, scan

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus" / "formulas"
LEXER = Lark(resources.files("batchsim.formula").joinpath("grammar.lark").read_text(), parser="lalr", lexer="basic")


def lark_tokens(text: str) -> list[tuple[str, str, int]]:
    return [(t.type, str(t), t.start_pos or 0) for t in LEXER.lex(text)]


def significant(text: str) -> list[tuple[str, str, int]]:
    return [(t.type, t.text, t.offset) for t in scan(text) if t.type not in ("WS", "COMMENT")]


@pytest.mark.conformance
def test_tokens_match_lark_on_the_corpus_and_the_library() -> None:
    paths = sorted(CORPUS.glob("*.formula")) + sorted((ROOT / "formulas").glob("*.formula"))
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    for path in paths:
        text = path.read_text(encoding="utf-8")
        try:
            expected = lark_tokens(text)
        except UnexpectedInput:
            continue  # lark stops at a bad character; the scanner goes on (tested below)
        assert significant(text) == expected, path.name


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([*"ab$_1.;()=+-*/<>!&|?:\"' \n\t\r%", "//", "😋", "==", "0.5"]), max_size=40).map("".join)
)
def test_the_scanner_covers_every_character_and_agrees_with_lark(text: str) -> None:
    tokens = scan(text)
    assert "".join(t.text for t in tokens) == text
    assert all(t.offset == sum(len(u.text) for u in tokens[:i]) for i, t in enumerate(tokens))
    try:
        expected = lark_tokens(text)
    except UnexpectedInput:
        assert any(t.type == ERROR for t in tokens)
        return
    assert significant(text) == expected
