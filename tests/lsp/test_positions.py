"""Positions: 1-based code-point columns ↔ LSP's 0-based code units, with LSP's line endings only."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types

from batchsim.formula.diagnostics import Span
from batchsim.lsp.positions import LineTable

UTF8, UTF16, UTF32 = (
    types.PositionEncodingKind.Utf8,
    types.PositionEncodingKind.Utf16,
    types.PositionEncodingKind.Utf32,
)


def test_astral_characters_count_two_utf16_units_and_four_utf8_bytes() -> None:
    text = 'x = "😋é" + %'
    column = text.index("%") + 1  # code points, 1-based, as the checker counts
    assert LineTable(text, UTF16).position(1, column) == types.Position(line=0, character=12)
    assert LineTable(text, UTF8).position(1, column) == types.Position(line=0, character=15)
    assert LineTable(text, UTF32).position(1, column) == types.Position(line=0, character=11)


def test_only_lf_crlf_and_lone_cr_end_lines() -> None:
    text = 'a = "\u2028\x0c\x85";\r\nb = 1;\rc = %'
    table = LineTable(text)
    assert table.line_count == 3
    assert table.line(0) == 'a = "\u2028\x0c\x85";' and table.line(1) == "b = 1;" and table.line(2) == "c = %"
    assert table.position_at(text.index("%")) == types.Position(line=2, character=4)


def test_spans_past_a_line_end_are_clamped() -> None:
    table = LineTable("ab\ncd")
    assert table.range(Span(1, 2, 1, 99)) == types.Range(
        start=types.Position(line=0, character=1), end=types.Position(line=0, character=2)
    )
    assert table.position(9, 9) == types.Position(line=1, character=2)


def test_a_position_inside_a_surrogate_pair_rounds_down_to_the_character() -> None:
    table = LineTable("😋x")
    assert table.offset(types.Position(line=0, character=1)) == 0
    assert table.offset(types.Position(line=0, character=2)) == 1
    assert table.offset(types.Position(line=7, character=0)) == 2  # past the end: the end


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(["a", "😋", "é", "\n", "\r", "\r\n", "\u2028", "\t"]), max_size=30).map("".join), st.data()
)
def test_offsets_round_trip_through_positions(text: str, data: st.DataObject) -> None:
    for encoding in (UTF8, UTF16, UTF32):
        table = LineTable(text, encoding)
        offset = data.draw(st.integers(0, len(text)))
        if text[offset - 1 : offset + 1] == "\r\n":
            continue  # inside a line ending: not a position an editor can hold
        assert table.offset(table.position_at(offset)) == offset


def test_check_spans_land_on_the_same_character_with_any_line_ending() -> None:
    from batchsim.formula import check
    from batchsim.lsp.diagnostics import to_lsp

    for newline in ("\n", "\r\n", "\r"):
        text = newline.join(["// é😋", "x = 1;", 'y = "😋" + %;'])
        (error,) = [d for d in check(text) if d.severity.value == "error"]
        found = to_lsp(error, LineTable(text))
        assert (found.range.start.line, found.range.start.character) == (2, 11), repr(newline)
