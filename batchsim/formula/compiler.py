"""Formula text → `Program`; `Program.evaluate(EvalContext)` → `AutoScaleRun`.

Stages: `parser.parse` (text → AST), `lowering.lower` (static types, symbols, overloads and static
errors, resolved once), `codegen.build` (one Python function). An evaluation calls that function
once and turns what it returns — how far it got, the failure if any, the values assigned — into
the run the service would report: targets (§5.1), results string (§9), error (§8).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from batchsim.formula import ast, codegen
from batchsim.formula.context import AutoScaleError, AutoScaleRun, EvalContext
from batchsim.formula.diagnostics import Diagnostic, Span
from batchsim.formula.lowering import DEALLOC_VARIABLE, Assigned, lower
from batchsim.formula.parser import parse
from batchsim.formula.runtime import EVALUATION_CODE, EVALUATION_MESSAGE, EvaluationFailure, Frame
from batchsim.formula.sampling import INSUFFICIENT_MESSAGE
from batchsim.formula.values import DEALLOC, DOUBLE, SMALL_INTEGER_TEXT, format_double, format_value, to_python

__all__ = ["FormulaError", "Program", "compile", "compile_formula"]

_DEDICATED = "$TargetDedicatedNodes"
_SPOT = "$TargetLowPriorityNodes"
_ALIASES = {_DEDICATED: "$TargetDedicated", _SPOT: "$TargetLowPriority"}


class FormulaError(ValueError):
    """A formula that cannot be compiled (syntax or limits); `diagnostics` says where and why."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        first = diagnostics[0]
        super().__init__(f"Line {first.span.line}, Col {first.span.column}: {first.message}")
        self.diagnostics = diagnostics


@dataclass(frozen=True, slots=True)
class _Layout:
    """What the first `progress` statements have assigned, for reading a run's slots.

    users: (name, type, slot) of each user variable's latest assignment, in first-assignment
        order (the order of `AutoScaleRun.values`). entries: (";name=", slot, type or None for a
        double) of the same, in ordinal order of the names (§9.1).
    dedicated / spot: (slot, span) of the assignment that sets each target — the full name's,
        else the alias's (§5.1) — or None when neither ran.
    """

    users: tuple[tuple[str, str, int], ...]
    entries: tuple[tuple[str, int, str | None], ...]
    dedicated: tuple[int, Span] | None
    spot: tuple[int, Span] | None
    prefix: str  # ";$NodeDeallocationOption=<keyword>"
    dealloc: str


def _layout(assigned: list[Assigned | None]) -> _Layout:
    users: dict[str, tuple[str, str, int]] = {}
    targets: dict[str, tuple[int, Span]] = {}
    dealloc = "requeue"  # reset each run (§5.1)
    for what in assigned:
        if what is None:
            continue
        if what.kind == DEALLOC:
            assert what.keyword is not None
            dealloc = what.keyword
        elif what.name in _TARGET_NAMES:
            assert what.slot is not None
            targets[what.name] = (what.slot, what.span)
        else:
            assert what.slot is not None
            users[what.name] = (what.name, what.kind, what.slot)
    ordered = tuple(users.values())
    entries = tuple((f";{name}=", slot, None if kind == DOUBLE else kind) for name, kind, slot in sorted(ordered))
    dedicated = targets.get(_DEDICATED) or targets.get(_ALIASES[_DEDICATED])
    spot = targets.get(_SPOT) or targets.get(_ALIASES[_SPOT])
    return _Layout(ordered, entries, dedicated, spot, f";{DEALLOC_VARIABLE}={dealloc}", dealloc)


_TARGET_NAMES = frozenset((_DEDICATED, _SPOT, *_ALIASES.values()))
_INFINITY = math.inf


@dataclass(slots=True)
class Program:
    """A compiled formula.

    evaluate(ctx): run the formula once at `ctx.now_tick`, as the service's evaluate call would,
        and return its `AutoScaleRun`; errors become `AutoScaleRun.error` (§8.2–8.4). The compiled
        function itself (set by `compile_formula`), not a method calling it: a method's extra call
        was a twentieth of an evaluation.
    """

    text: str
    formula: ast.Formula
    diagnostics: list[Diagnostic]
    _general: Callable[[], codegen.Run] = field(repr=False)  # the run-only function, compiled on first use
    _end: _End = field(repr=False)
    evaluate: Callable[[EvalContext], AutoScaleRun] = field(init=False, repr=False, compare=False)

    def evaluate_in_steps(self, ctx: EvalContext) -> AutoScaleRun:
        """`evaluate` the general way: run, then read the layout of however far the run got.

        `evaluate` inlines this for a run that completes with finite targets, the common case;
        both must agree (tests/formula/test_fast_path.py).
        """
        progress, failure, slots = self._general()(Frame(ctx), ctx)
        return self._end(ctx, progress, failure, slots)

    def _finisher(self, slot_count: int) -> tuple[list[str], dict[str, object]]:
        return self._end.finisher(slot_count)


@dataclass(slots=True)
class _End:
    """How a run's slots become its `AutoScaleRun`. Apart from `Program`, which holds the compiled
    function: the function's namespace holds this, and a reference back to the program would make a
    cycle that keeps every dropped run waiting for the cycle collector (tests/sim/test_release.py)."""

    span: Span  # the formula's, for an invalid target that no assignment set
    assigned: list[Assigned | None]
    layouts: dict[int, _Layout] = field(default_factory=dict)

    def __call__(
        self, ctx: EvalContext, progress: int, failure: EvaluationFailure | None, slots: tuple[object, ...]
    ) -> AutoScaleRun:
        layout = self.layout(progress)
        # The full name's value if assigned, else the alias's if assigned, else unchanged (§5.1).
        dedicated: float = ctx.target_dedicated_nodes if layout.dedicated is None else slots[layout.dedicated[0]]  # type: ignore[assignment]
        spot: float = ctx.target_low_priority_nodes if layout.spot is None else slots[layout.spot[0]]  # type: ignore[assignment]
        if failure is not None:
            error: AutoScaleError | None = _as_error(failure)
        elif -_INFINITY < dedicated < _INFINITY and -_INFINITY < spot < _INFINITY:  # False for NaN too
            error = None
        else:
            error = self.invalid_target(layout, dedicated, spot)
        parts = [_PREFIX_DEDICATED, format_double(dedicated), _PREFIX_SPOT, format_double(spot), layout.prefix]
        for prefix, slot, kind in layout.entries:
            parts.append(prefix)
            parts.append(format_double(slots[slot]) if kind is None else format_value(kind, slots[slot]))  # type: ignore[arg-type]
        if error is not None:
            dedicated, spot = ctx.target_dedicated_nodes, ctx.target_low_priority_nodes
        values = {
            name: slots[slot] if kind == DOUBLE else to_python(kind, slots[slot]) for name, kind, slot in layout.users
        }
        return AutoScaleRun(ctx.now_tick, "".join(parts), dedicated, spot, layout.dealloc, values, error)

    def layout(self, progress: int) -> _Layout:
        layout = self.layouts.get(progress)
        if layout is None:
            layout = self.layouts[progress] = _layout(self.assigned[:progress])
        return layout

    def finisher(self, slot_count: int) -> tuple[list[str], dict[str, object]]:
        """Source lines turning the slots of a completed run into its `AutoScaleRun`: the full
        layout is known at compile time, so the results string is one f-string and the values
        one dict display. Non-finite targets go to `_finish` (the error names the assignment)."""
        layout = self.layout(len(self.assigned))
        dedicated = "ctx.target_dedicated_nodes" if layout.dedicated is None else f"v{layout.dedicated[0]}"
        spot = "ctx.target_low_priority_nodes" if layout.spot is None else f"v{layout.spot[0]}"
        pieces = [_PREFIX_DEDICATED, _double("_target_d"), _PREFIX_SPOT, _double("_target_s"), layout.prefix]
        constants = {what.slot: what.constant for what in self.assigned if what is not None and what.constant}
        for prefix, slot, kind in layout.entries:
            if kind is None and slot in constants:  # a completed run assigned it that number: its text is fixed
                pieces += [prefix, format_double(constants[slot][0])]  # type: ignore[arg-type]
            else:
                pieces += [prefix, _double(f"v{slot}") if kind is None else f"{{_format_value({kind!r}, v{slot})}}"]
        users = ", ".join(
            f"{name!r}: v{slot}" if kind == DOUBLE else f"{name!r}: _to_python({kind!r}, v{slot})"
            for name, kind, slot in layout.users
        )
        slots = f"({''.join(f'v{i}, ' for i in range(slot_count))})"
        text = "".join(pieces)
        fixed = [piece for piece in pieces if not piece.startswith("{")]
        assert all(_PLAIN.fullmatch(piece) for piece in fixed), fixed
        lines = [
            f"_target_d = {dedicated}",
            f"_target_s = {spot}",
            "if not (-_inf < _target_d < _inf and -_inf < _target_s < _inf):",
            f"    return _finish(ctx, {len(self.assigned)}, None, {slots})",
            "_outcome = _Unsealed()",
            *(
                f"_outcome.{name} = {value}"
                for name, value in zip(
                    _RUN_FIELDS,
                    (
                        "ctx.now_tick",
                        f'f"{text}"',
                        "_target_d",
                        "_target_s",
                        repr(layout.dealloc),
                        f"{{{users}}}",
                        "None",
                    ),
                    strict=True,
                )
            ),
            "_outcome.__class__ = _AutoScaleRun",
            "return _outcome",
        ]
        names: dict[str, object] = {
            "_finish": self,
            "_inf": _INFINITY,
            "_small": SMALL_INTEGER_TEXT,
            "_format_value": format_value,
            "_to_python": to_python,
            "_AutoScaleRun": AutoScaleRun,
            "_Unsealed": _UnsealedRun,
        }
        return lines, names

    def invalid_target(self, layout: _Layout, dedicated: float, spot: float) -> AutoScaleError:
        """§9.4: a final target that is NaN or infinite is an error at the assignment that set it."""
        value, source = (dedicated, layout.dedicated) if not -_INFINITY < dedicated < _INFINITY else (spot, layout.spot)
        span = self.span if source is None else source[1]
        return _as_error(EvaluationFailure(f"Invalid target value: {format_double(value)}", span))


# A completed run's `AutoScaleRun` is built unsealed and then sealed: its fields are set on an
# instance of `_UnsealedRun` (the same slots, no frozen `__setattr__`), whose class is then set
# to `AutoScaleRun` (Python allows it between classes of the same slot layout, and raises
# TypeError otherwise). The frozen dataclass's `__init__` sets each field with
# `object.__setattr__`, which costs a third of an evaluation; the same object results
# (tests/formula/test_fast_path.py compares both ways). A class that someday validates in
# `__post_init__` must be built by its constructor.
_RUN_FIELDS: tuple[str, ...] = AutoScaleRun.__slots__  # the fields, in the constructor's order
assert not hasattr(AutoScaleRun, "__post_init__")


class _UnsealedRun:
    """An `AutoScaleRun` being filled in (see above); never seen outside the compiled function."""

    __slots__ = _RUN_FIELDS


_PREFIX_DEDICATED = f"{_DEDICATED}="
_PREFIX_SPOT = f";{_SPOT}="
# What a results string's fixed text is made of (names, `=`, `;`, numbers): safe inside an f-string.
_PLAIN = re.compile(r"[$\w;=.+-]*")


def _double(local: str) -> str:
    """An f-string field formatting `local` as `format_double` does, without the call (`%` with
    `%g` is the same C formatting as `format(x, "g")`, with less to parse per call)."""
    return f"{{_small.get({local}) or '%g' % {local}}}"


def _as_error(failure: EvaluationFailure) -> AutoScaleError:
    message = EVALUATION_MESSAGE if failure.code == EVALUATION_CODE else INSUFFICIENT_MESSAGE
    detail = f"Line {failure.span.line}, Col {failure.span.column}: {failure.detail}"
    return AutoScaleError(failure.code, message, detail)


def compile(text: str, *, strict: bool = False, sampled_as_latest: bool = False) -> Program:
    """Compile a formula; raises `FormulaError` for syntax and limit errors only.

    strict: turn off `ceil`, `floor` and `round` (absent from every readable docs edition, §6.1).
    sampled_as_latest: the compatibility switch of §5.2 — a sampled variable used as a number reads
        its latest sample instead of being an error.
    """
    result = parse(text)
    if result.formula is None:
        raise FormulaError(result.diagnostics)
    return compile_formula(result.formula, text, strict=strict, sampled_as_latest=sampled_as_latest)


def compile_formula(
    formula: ast.Formula, text: str = "", *, strict: bool = False, sampled_as_latest: bool = False
) -> Program:
    """Compile a parsed formula (see `compile`)."""
    lowered = lower(formula, strict=strict, sampled_as_latest=sampled_as_latest)
    general = functools.cache(functools.partial(codegen.build, lowered))
    program = Program(text, formula, lowered.diagnostics, general, _End(formula.span, lowered.assigned))
    program.evaluate = codegen.build_evaluator(lowered, *program._finisher(lowered.slots))
    return program
