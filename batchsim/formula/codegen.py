"""Lowered formula → one Python function, compiled once and called at every evaluation.

Generating Python rather than a tree of closures keeps evaluation free of recursion (a deep
formula runs as straight-line code, not as thousands of nested calls) and fast (one call per
evaluation instead of one per node). The function has the shape

    def _run(frame, ctx):
        v0 = v1 = None            # one slot per assignment
        s = 0                     # the statement running: what `results` shows after a failure
        try:
            s = 0
            v0 = ...
            ...
            s = N
        except _Stop:             # stop(): a successful end
            pass
        except _Failure as failure:
            return s, failure, (v0, v1)
        return s, None, (v0, v1)

`Program.evaluate` is a second form of the same code, `_evaluate(ctx)`, whose successful end
builds the run's `AutoScaleRun` in place (the layout of a completed run is known at compile time,
see `compiler.py`) and whose stop or failure hands the slots to the general `_finish`; `_run`
is compiled only for `Program.evaluate_in_steps`, the general path. `_evaluate` also reads each
pure sample window into a local at its first use (`_windows_inlined`); `_run` keeps the run's
dict of windows, so the two paths check each other.

Blocks (lazy operands that need statements, see `lowering.py`) are written flat: each gets a
guard variable combining its condition with its parent's (`_g2 = _g1 and (not _t5)`), and its
statements run under `if _g2:`. So the source never nests deeper than `def`, `try`, `if`, whatever
the formula's depth.

Nothing of the formula's text reaches the source but through `repr` (string literals, error
details, metric names) or as numbers: variables become slots `v0, v1, ...`, and positions, helpers
and non-literal constants are names in the function's namespace.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from batchsim.formula import sampling
from batchsim.formula.lowering import Block, Item, Lowered
from batchsim.formula.runtime import EvaluationFailure, Frame, Stop

__all__ = ["Evaluator", "Run", "build", "build_evaluator", "evaluator_source", "source"]

# progress (statements completed), the failure if any, the slots' values
Run = Callable[[Frame, Any], tuple[int, EvaluationFailure | None, tuple[Any, ...]]]
# a context → its `AutoScaleRun`
Evaluator = Callable[[Any], Any]
_BODY = " " * 8


def source(lowered: Lowered) -> str:
    """The Python source of the formula's `_run` function."""
    slots = [f"v{i}" for i in range(lowered.slots)]
    returned = f"({', '.join(slots)},)" if slots else "()"
    lines = ["def _run(frame, ctx):", "    windows = {}", *_body(lowered, slots)]
    lines += [
        "    except _Stop:",
        "        pass",
        "    except _Failure as failure:",
        f"        return s, failure, {returned}",
        f"    return s, None, {returned}",
    ]
    return "\n".join(lines) + "\n"


def evaluator_source(lowered: Lowered, finish: list[str]) -> str:
    """The source of `_evaluate(ctx)`: the run, then `finish` (lines building the run's outcome
    from the slots once every statement has completed); a stop or a failure returns
    `_finish(ctx, progress, failure, slots)` instead.

    The frame (for `rand()`) and the windows (for the sample methods) are made only where the
    code reads them: most evaluations then allocate little but their outcome.
    """
    slots = [f"v{i}" for i in range(lowered.slots)]
    returned = f"({', '.join(slots)},)" if slots else "()"
    body = _windows_inlined(_body(lowered, slots))
    lines = ["def _evaluate(ctx):"]
    # A false positive (the word in a string literal) costs one allocation.
    if any("frame" in line for line in body):
        lines.append("    frame = _Frame(ctx)")
    if any("windows" in line for line in body):  # the sample windows read in this run (sampling.py)
        lines.append("    windows = {}")
    lines += [
        *body,
        "    except _Stop:",
        f"        return _finish(ctx, s, None, {returned})",
        "    except _Failure as failure:",
        f"        return _finish(ctx, s, failure, {returned})",
        *(f"    {line}" for line in finish),
    ]
    return "\n".join(lines) + "\n"


def _body(lowered: Lowered, slots: list[str]) -> list[str]:
    """The slots' initialisation and the `try:` running every statement, `s` counting them."""
    lines = [f"    {' = '.join(slots)} = None"] if slots else []
    lines += ["    s = 0", "    try:"]
    guards = iter(range(1, 1 << 62))
    for index, items in enumerate(lowered.statements):
        lines.append(f"{_BODY}s = {index}")
        _write(items, lines, guards)
    lines.append(f"{_BODY}s = {len(lowered.statements)}")
    return lines


# A sample window whose edges and required percentage are pure (the run's time, numbers, slots:
# each slot is assigned once, so the same text is the same value all run long) and whose metric
# is a plain name, as the lowering writes them (sampling.method).
_PURE = r"(?:ctx\.now_tick(?: - (?:\d+|v\d+))?|\d+|v\d+)"
_METRIC = r"'\$\w+'"
_AGO = re.compile(r"ctx\.now_tick - (\d+)")  # an edge a fixed, non-negative time before now
_NUMBER = r"(?:\d+(?:\.\d*)?(?:e[+-]?\d+)?|v\d+|_k\d+)"
# A string literal as `repr` writes it: matched first, and left as it is, so that a formula's
# string that happens to read like code is never rewritten (see `_rewrite`).
_LITERAL = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""


def _outside_literals(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"({_LITERAL})|{pattern}")


_PERCENT = _outside_literals(rf"_sm_percent\(windows, ctx, ({_METRIC}), ({_PURE}), ({_PURE})\)")
_VALUES = _outside_literals(rf"_sm_window\(windows, ctx, ({_METRIC}), ({_PURE}), ({_PURE}), ({_NUMBER}), (_s\d+)\)")

# `min`/`max` of two operands read twice without harm (slots and temporaries are assigned once,
# numbers are constants), written as the comparison the builtin makes (`min(a, b)` is `b` when
# `b < a`, else `a`; `max` with `>`), without the call.
_OPERAND = r"(?:v\d+|_t\d+|\d+(?:\.\d*)?(?:e[+-]?\d+)?)"
_PAIR = _outside_literals(rf"float\((min|max)\(({_OPERAND}), ({_OPERAND})\)\)")


def _pair(match: re.Match[str]) -> str:
    _, name, a, b = match.groups()
    return f"float({b} if {b} {'<' if name == 'min' else '>'} {a} else {a})"


# `avg` of such a window: its values' sum is already known (sampling.checked_avg).
_AVG = _outside_literals(
    r"_fn_avg\(_sm_checked\((\(_w\d+ or \(_w\d+ := _sm_(?:read|recent)\(ctx, [^()]*\)\)\), [^()]*)\), (_s\d+)\)"
)


def _avg(match: re.Match[str]) -> str:
    return f"_sm_checked_avg({match[2]}, {match[3]})"


def _rewrite(pattern: re.Pattern[str], write: Callable[[re.Match[str]], str], line: str) -> str:
    """`line` with each match of `pattern` (made by `_outside_literals`) written by `write`."""
    return pattern.sub(lambda match: match[0] if match[1] is not None else write(match), line)


def _windows_inlined(body: list[str]) -> list[str]:
    """`body` with each pure sample window read once into a local (`_w0`, ...) by an assignment
    expression at its first use, instead of through the run's `windows` dict and two calls; `avg`
    of such a window from its sum; `min`/`max` of two plain operands without the call.

    Lazy as before (a window in an untaken branch is never read) and the same values: the dict
    held the same window under the same edges. Windows of any other shape keep the dict; the
    general path (`source`) keeps it for all, and tests/formula/test_fast_path.py compares both.
    """
    names: dict[tuple[str, str, str], str] = {}

    def local(metric: str, a: str, b: str) -> str:
        name = names.setdefault((metric, a, b), f"_w{len(names)}")
        ago = _AGO.fullmatch(a)
        if b == "ctx.now_tick" and ago is not None:  # the window ending now (sampling.recent)
            return f"({name} or ({name} := _sm_recent(ctx, {metric}, {ago[1]})))"
        return f"({name} or ({name} := _sm_read(ctx, {metric}, {a}, {b})))"

    def percent(match: re.Match[str]) -> str:
        return f"{local(*match.groups()[1:])}[1]"

    def values(match: re.Match[str]) -> str:
        _, metric, a, b, required, span = match.groups()
        return f"_sm_checked({local(metric, a, b)}, {metric}, {required}, {span})"

    lines = []
    for line in body:
        for pattern, write in ((_PERCENT, percent), (_VALUES, values), (_AVG, _avg), (_PAIR, _pair)):
            line = _rewrite(pattern, write, line)
        lines.append(line)
    if names:
        lines.insert(0, f"    {' = '.join(names.values())} = None")
    return lines


def _write(items: list[Item], lines: list[str], guards: Iterator[int]) -> None:
    """Items as flat statements, blocks under guards (explicit stack: blocks nest arbitrarily)."""
    stack: list[tuple[Iterator[Item], str | None]] = [(iter(items), None)]
    open_guard: str | None = None  # the guard of the `if` the last line sits in
    while stack:
        pending, guard = stack[-1]
        item = next(pending, None)
        if item is None:
            stack.pop()
            continue
        if isinstance(item, Block):
            name = f"_g{next(guards)}"
            condition = item.condition if guard is None else f"{guard} and ({item.condition})"
            lines.append(f"{_BODY}{name} = {condition}")
            open_guard = None
            stack.append((iter(item.items), name))
        elif guard is None:
            lines.append(f"{_BODY}{item}")
            open_guard = None
        else:
            if open_guard != guard:
                lines.append(f"{_BODY}if {guard}:")
                open_guard = guard
            lines.append(f"{_BODY}    {item}")


def build(lowered: Lowered) -> Run:
    """Compile the lowered formula into its `_run` function."""
    return _compiled(source(lowered), "_run", lowered.namespace)  # type: ignore[no-any-return]


def build_evaluator(lowered: Lowered, finish: list[str], names: dict[str, Any]) -> Evaluator:
    """Compile the formula's `_evaluate` function (see `evaluator_source`); `names` holds what
    `finish` reads, `_finish` included."""
    return _compiled(evaluator_source(lowered, finish), "_evaluate", {**lowered.namespace, **names})  # type: ignore[no-any-return]


def _compiled(text: str, name: str, names: dict[str, Any]) -> Any:
    namespace: dict[str, Any] = dict(names)
    namespace["_Stop"] = Stop
    namespace["_Failure"] = EvaluationFailure
    namespace["_Frame"] = Frame
    namespace["_sm_read"] = sampling.window
    namespace["_sm_recent"] = sampling.recent
    namespace["_sm_checked"] = sampling.checked
    namespace["_sm_checked_avg"] = sampling.checked_avg
    exec(compile(text, "<formula>", "exec"), namespace)
    return namespace[name]
