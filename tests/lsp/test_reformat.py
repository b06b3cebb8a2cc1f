"""Formatting keeps every comment and the formula's meaning (Hypothesis; the corpus; the library)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batchsim.formula import ast, parse, print_formula
from batchsim.formula.ast import same_tree
from batchsim.formula.diagnostics import Span
from batchsim.formula.layout import INDENT, WIDTH
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
        "z = x +  // inside z\n"
        "    y;\n"
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


# -- issue 25 §4: the author's parentheses, line breaks and comments; never `--` --------------------


@pytest.mark.parametrize(
    "kept",
    [
        "x = (c > 1) ? a : b;\n",  # the three
        "x = a ? b : (c ? d : e);\n",
        "x = (a > b) == (c > d);\n",
        "x = ((a + b)) * (c);\n",
        "x = max((a), (b + 1));\n",
    ],
)
def test_the_authors_parentheses_are_kept(kept: str) -> None:
    assert reformat(kept) == kept
    assert reformat(kept.replace(" ", "")) == kept.replace("x =", "x =")


def test_tight_parentheses_are_spaced_but_kept() -> None:
    assert reformat("x=(a>b)==(c>d);") == "x = (a > b) == (c > d);\n"


@pytest.mark.parametrize(
    ("source", "formatted"),
    [
        ("x = --1;", "x = -(-1);\n"),
        ("x = - -1;", "x = -(-1);\n"),
        ("x = -(-1);", "x = -(-1);\n"),
        ("x = - - -a;", "x = -(-(-a));\n"),
        ("x = --(a + 1) * 2;", "x = -(-(a + 1)) * 2;\n"),
        ("x = - -$CPUPercent.GetSample(1);", "x = -(-$CPUPercent.GetSample(1));\n"),
        ("x = a - -1;", "x = a - -1;\n"),  # a binary minus, spaced: no `--`
        ("x = a--1;", "x = a - -1;\n"),
    ],
)
def test_double_minus_is_never_written(source: str, formatted: str) -> None:
    assert reformat(source) == formatted
    assert "--" not in formatted
    assert same_tree(parse(source).formula, parse(formatted).formula)


def test_the_printer_never_writes_double_minus_either() -> None:
    formula = parse("x = --1; y = ---a;").formula
    assert formula is not None
    printed = print_formula(formula)
    assert printed == "x = -(-1);\ny = -(-(-a));" and same_tree(parse(printed).formula, formula)


HAND_WRAPPED = """\
$tasks = $samples < 70 ? max(0, $ActiveTasks.GetSample(1)) :
max( $ActiveTasks.GetSample(1), avg($ActiveTasks.GetSample(TimeInterval_Minute * 10)));
"""


def test_the_authors_line_breaks_inside_a_statement_are_kept() -> None:
    assert reformat(HAND_WRAPPED) == (
        "$tasks = $samples < 70 ? max(0, $ActiveTasks.GetSample(1)) :\n"
        "    max($ActiveTasks.GetSample(1), avg($ActiveTasks.GetSample(TimeInterval_Minute * 10)));\n"
    )
    # Inside parentheses, a continuation is indented once more per open parenthesis.
    assert reformat("x = max(a,\nb,\n      c);") == "x = max(a,\n        b,\n        c);\n"


LONG = (
    "PendingTaskAvg = samplepercent < 70 ? max(0, lastsample) : (lastsample < samplevecavg ? "
    "avg(lastsample, samplevecavg) : max(lastsample, samplevecavg));"
)


def test_a_long_statement_is_wrapped_at_the_width_at_its_outermost_break() -> None:
    # corpus 001's line of 152 characters: broken after the outermost `:`, the rest left whole.
    assert len(LONG) > WIDTH
    assert reformat(LONG) == (
        "PendingTaskAvg = samplepercent < 70 ? max(0, lastsample) :\n"
        "    (lastsample < samplevecavg ? avg(lastsample, samplevecavg) : max(lastsample, samplevecavg));\n"
    )


def test_a_very_long_statement_wraps_into_lines_within_the_width() -> None:
    source = "x = " + " + ".join(f"max($PendingTasks.GetSample({k}), {k})" for k in range(1, 20)) + ";"
    formatted = reformat(source)
    lines = formatted.splitlines()
    assert len(lines) > 5 and all(len(line) <= WIDTH for line in lines)
    assert all(line.startswith(INDENT) for line in lines[1:])
    assert_safe(source, formatted)


def test_comments_inside_an_expression_stay_where_they_are() -> None:
    source = (
        "$TargetDedicatedNodes = min(10, // the cap\n"
        "   // why the metric\n"
        "   $PendingTasks.GetSample(1) // last sample\n"
        "   );\n"
    )
    assert reformat(source) == (
        "$TargetDedicatedNodes = min(10,  // the cap\n"
        "        // why the metric\n"
        "        $PendingTasks.GetSample(1)  // last sample\n"
        "    );\n"
    )


def _code_tokens(text: str) -> list[str]:
    return [t.text for t in scan(text) if t.type not in ("WS", "COMMENT")]


def _evaluations(text: str) -> tuple[object, ...]:
    """What evaluating `text` gives on a new pool and on one with samples: results, targets,
    values, the error without its position (which moves with the layout)."""
    from batchsim.formula import EvalContext, SampleSeries, compile

    now = 10**17
    sampled = {"$PendingTasks": SampleSeries.ending_at([4.0, 0.0, 7.0] * 20, now)}
    program = compile(text)
    outcomes: list[object] = []
    for context in (EvalContext(now_tick=0), EvalContext(now_tick=now, current_dedicated_nodes=2, samples=sampled)):
        run = program.evaluate(context)
        error = None if run.error is None else (run.error.code, run.error.detail.split(": ", 1)[-1])
        outcomes.append(
            (run.results if run.error is None else None, run.target_dedicated_nodes, repr(run.values), error)
        )
    return tuple(outcomes)


def _parenthesised(node: ast.Expr) -> str:
    """`node` with every compound operand in parentheses: correct whatever the precedence, and
    full of the parentheses a reader adds for clarity."""
    if isinstance(node, ast.Binary):
        return f"({_parenthesised(node.left)}) {node.op} ({_parenthesised(node.right)})"
    if isinstance(node, ast.Unary):
        return f"{node.op}({_parenthesised(node.operand)})"
    if isinstance(node, ast.Conditional):
        parts = (node.condition, node.then, node.otherwise)
        return "({}) ? ({}) : ({})".format(*(_parenthesised(p) for p in parts))
    if isinstance(node, ast.Call):
        return f"{node.name}({', '.join(_parenthesised(a) for a in node.args)})"
    if isinstance(node, ast.MethodCall):
        return f"({_parenthesised(node.target)}).{node.name}()"
    return print_formula(node)


def _adjacent_minus(tokens: list[str]) -> bool:
    return any(a == b == "-" for a, b in itertools.pairwise(tokens))


@settings(max_examples=120, deadline=None)
@given(formulas, st.lists(st.booleans(), min_size=4, max_size=4), st.data())
def test_formatting_keeps_tokens_is_idempotent_and_evaluates_identically(
    text: str, extra: list[bool], data: st.DataObject
) -> None:
    tree = parse(text).formula
    assert tree is not None
    statements = []
    for statement, parenthesise in zip(tree.statements, extra, strict=False):
        expr = statement.value if isinstance(statement, ast.Assignment) else statement.expr
        written = _parenthesised(expr) if parenthesise else print_formula(expr)
        statements.append(f"{statement.target} = {written}" if isinstance(statement, ast.Assignment) else written)
    plain = ";".join(statements) + ";"
    # a random layout: nothing, spaces, line breaks or a comment between tokens
    source = "".join(
        token.text + (data.draw(st.sampled_from(["", " ", "\n", "  // c\n"])) if token.type != "WS" else "")
        for token in scan(plain)
    )
    assert same_tree(parse(source).formula, tree), source
    formatted = reformat(source)
    assert_safe(source, formatted)  # same tree, same comments, idempotent
    assert "--" not in "".join(t.text for t in scan(formatted) if t.type not in ("COMMENT", "STRING")), formatted
    if not _adjacent_minus(_code_tokens(source)):
        assert _code_tokens(formatted) == _code_tokens(source)  # only the layout changed
    assert (
        all(len(line) <= WIDTH for line in formatted.splitlines() if "//" not in line)
        or max(len(t) for t in _code_tokens(source)) > WIDTH // 4
    )
    assert _evaluations(formatted) == _evaluations(source)
