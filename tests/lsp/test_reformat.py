"""Formatting keeps every comment and the formula's meaning (Hypothesis; the corpus; the library)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batchsim.formula import ast, parse, print_formula
from batchsim.formula.ast import same_tree
from batchsim.formula.diagnostics import Span
from batchsim.formula.reformat import CannotFormat, reformat
from batchsim.formula.scanning import scan

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus" / "formulas"
S = Span(1, 1, 1, 1)


def comments(text: str) -> list[str]:
    return [t.text.rstrip() for t in scan(text) if t.type == "COMMENT"]


def assert_safe(original: str, formatted: str) -> None:
    before, after = parse(original).formula, parse(formatted).formula
    assert before is not None and after is not None
    assert same_tree(before, after), formatted
    assert comments(formatted) == comments(original), formatted
    assert reformat(formatted) == formatted  # idempotent


def test_comments_stay_where_a_reader_expects_them() -> None:
    source = (
        "// header, line 1\n"
        "// header, line 2\n"
        "\n"
        "x=1;y  =  2 ; // why y\n"
        "   // about z\n"
        "z = x +   // inside z\n"
        "  y;;\n"
        "\n"
        "\n"
        "// footer\n"
    )
    assert reformat(source) == (
        "// header, line 1\n"
        "// header, line 2\n"
        "\n"
        "x = 1;\n"
        "y = 2;  // why y\n"
        "// about z\n"
        "// inside z\n"
        "z = x + y;\n"
        "\n"
        "// footer\n"
    )


def test_a_comment_with_semicolons_and_percent_signs_is_kept_verbatim() -> None:
    source = "// 70%; then 100%;\n$TargetDedicatedNodes=1;// done; really\n"
    assert reformat(source) == "// 70%; then 100%;\n$TargetDedicatedNodes = 1;  // done; really\n"


def test_crlf_files_stay_crlf_and_get_a_final_newline() -> None:
    assert reformat("x=1;\r\n// c\r\ny=2") == "x = 1;\r\n// c\r\ny = 2;\r\n"


def test_text_that_does_not_parse_is_refused_with_the_syntax_error() -> None:
    with pytest.raises(CannotFormat) as refused:
        reformat("// keep me\nx = (1 + ;\n")
    assert refused.value.diagnostics[0].code == "AutoScalingFormulaSyntaxError"
    assert (refused.value.diagnostics[0].span.line, refused.value.diagnostics[0].span.column) == (2, 10)


def test_formatting_never_pushes_a_formula_over_the_length_limit() -> None:
    statement = "x=" + "+".join(["1"] * 44) + ";"  # 90 characters; 179 once spaced, on a line of its own
    source = statement * 90
    assert len(source) <= 8192 and parse(source).formula is not None
    with pytest.raises(CannotFormat, match="over the service's limit of 8192"):
        reformat(source)


def test_a_chain_too_deep_for_the_printer_is_refused_not_raised() -> None:
    source = "x = " + "+".join(["1"] * 3000) + ";"
    try:
        formatted = reformat(source)
    except CannotFormat as refused:
        assert refused.diagnostics[0].message
    else:
        assert_safe(source, formatted)


@pytest.mark.conformance
def test_the_corpus_and_the_library_keep_their_comments_and_meaning() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    paths = sorted(CORPUS.glob("*.formula")) + sorted((ROOT / "formulas").glob("*.formula"))
    formatted_count = 0
    for path in paths:
        source = path.read_text(encoding="utf-8")
        if parse(source).formula is None:
            with pytest.raises(CannotFormat):
                reformat(source)
            continue
        assert_safe(source, reformat(source))
        formatted_count += 1
    assert formatted_count > 50


# -- Hypothesis: random formulas, comments and layout ----------------------------------------------

names = st.sampled_from(["a", "$b", "_c1", "$PendingTasks", "$TargetDedicatedNodes"])
leaves = st.one_of(
    st.builds(lambda v: ast.Number(v, repr(v), S), st.floats(min_value=0, max_value=1e6, allow_nan=False)),
    st.builds(lambda n: ast.Name(n, S), names),
    st.builds(lambda n: ast.TimeConstant(n, S), st.sampled_from(["TimeInterval_Minute", "TimeInterval_Second"])),
    st.builds(lambda v: ast.String(v, S), st.sampled_from(["", "a // not a comment", "x;y"])),
)


def _extend(children: st.SearchStrategy[ast.Expr]) -> st.SearchStrategy[ast.Expr]:
    ops = st.sampled_from(["+", "-", "*", "/", "<", "==", "&&", "||"])
    return st.one_of(
        st.builds(lambda o, a, b: ast.Binary(o, a, b, S, S), ops, children, children),
        st.builds(lambda o, a: ast.Unary(o, a, S, S), st.sampled_from(["-", "!"]), children),
        st.builds(lambda c, t, e: ast.Conditional(c, t, e, S, S), children, children, children),
        st.builds(
            lambda f, xs: ast.Call(f, tuple(xs), S, S, S),
            st.sampled_from(["max", "avg"]),
            st.lists(children, max_size=3),
        ),
        st.builds(lambda t: ast.MethodCall(t, "GetSample", (), S, S, S), children),
    )


expressions = st.recursive(leaves, _extend, max_leaves=10)
formulas = st.lists(st.tuples(st.one_of(st.none(), names), expressions), min_size=1, max_size=4).map(
    lambda statements: print_formula(
        ast.Formula(
            tuple(ast.ExprStatement(e, S) if t is None else ast.Assignment(t, e, S, S) for t, e in statements), S
        )
    )
)
# What may stand between two tokens: nothing extra, spaces, newlines, blank lines, a comment (after a
# space, so that it never joins a `/`).
gaps = st.sampled_from(["", " ", "   ", "\n", "\n\n\n", "\t", " // note ; % \n", " // x\n\n", "\r\n"])


@settings(max_examples=300, deadline=None)
@given(formulas, st.data())
def test_random_layouts_and_comments_survive_formatting(text: str, data: st.DataObject) -> None:
    pieces = []
    for token in scan(text):
        pieces.append(token.text)
        if token.type != "WS":
            pieces.append(data.draw(gaps))
    source = "".join(pieces)
    if parse(source).formula is None:  # a gap can only add layout, never break the text
        pytest.fail(f"the test's own layout broke the formula: {source!r}")
    assert_safe(source, reformat(source))
