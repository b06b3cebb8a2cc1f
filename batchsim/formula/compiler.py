"""AST → program of Python closures; `Program.evaluate(EvalContext)` → `AutoScaleRun`.

Every expression has a static type (formula reference §6.2), so types, overloads and symbols are
resolved once, here. Following the service, a static error is still *reported at evaluation*
(§6.2, §8.3): the offending node compiles to a closure that raises it, so the first error met in
execution order stops the run, with the values assigned before it (§9.3). `diagnostics` lists the
same errors for the checker, which reports them all without running anything.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from batchsim.formula import ast, builtins, sampling
from batchsim.formula.context import AutoScaleError, AutoScaleRun, EvalContext
from batchsim.formula.diagnostics import Diagnostic, Severity, Span
from batchsim.formula.parser import parse
from batchsim.formula.runtime import (
    ERROR,
    EVALUATION_CODE,
    EVALUATION_MESSAGE,
    Code,
    Compiled,
    EvaluationFailure,
    Frame,
    Stop,
    fold,
)
from batchsim.formula.symbols import (
    FUNCTIONS,
    READ_ONLY_SCALARS,
    SAMPLE_METHODS,
    SAMPLED,
    STRICT_OFF_FUNCTIONS,
    TARGET_ALIASES,
    TIME_CONSTANTS,
    TIMESTAMP_FIELDS,
)
from batchsim.formula.values import (
    DEALLOC,
    DOUBLE,
    NONE,
    SAMPLE,
    STRING,
    TIMEINTERVAL,
    TIMESTAMP,
    format_double,
    format_value,
    to_python,
)

__all__ = ["FormulaError", "Program", "compile", "compile_formula"]

_DEDICATED = "$TargetDedicatedNodes"
_SPOT = "$TargetLowPriorityNodes"
_DEALLOC_VAR = "$NodeDeallocationOption"
_TARGETS = (_DEDICATED, _SPOT, *TARGET_ALIASES)
_SCALAR_READERS: dict[str, Callable[[EvalContext], float]] = {
    "$CurrentDedicatedNodes": lambda c: c.current_dedicated_nodes,
    "$CurrentDedicated": lambda c: c.current_dedicated_nodes,
    "$CurrentLowPriorityNodes": lambda c: c.current_low_priority_nodes,
    "$TaskSlotsPerNode": lambda c: c.task_slots_per_node,
    "$UsableNodeCount": lambda c: (
        c.usable_node_count
        if c.usable_node_count is not None
        else c.current_dedicated_nodes + c.current_low_priority_nodes - c.preempted_node_count
    ),
}


def constant(kind: str, value: Any) -> Compiled:
    """A compile-time constant."""
    return Compiled(kind, lambda frame: value, const=True)


class FormulaError(ValueError):
    """A formula that cannot be compiled (syntax or limits); `diagnostics` says where and why."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        first = diagnostics[0]
        super().__init__(f"Line {first.span.line}, Col {first.span.column}: {first.message}")
        self.diagnostics = diagnostics


@dataclass(slots=True)
class _Statement:
    code: Code
    assigns: str | None
    span: Span


@dataclass(slots=True)
class Program:
    """A compiled formula. `evaluate` runs it once, as the service's evaluate call would."""

    text: str
    formula: ast.Formula
    diagnostics: list[Diagnostic]
    _statements: list[_Statement] = field(repr=False)
    _last_target_spans: dict[str, Span] = field(repr=False)

    def evaluate(self, ctx: EvalContext) -> AutoScaleRun:
        """Run the formula at `ctx.now_tick`; errors become `AutoScaleRun.error` (§8.2–8.4)."""
        frame = Frame(ctx)
        error: AutoScaleError | None = None
        try:
            for statement in self._statements:
                statement.code(frame)
        except Stop:
            pass
        except EvaluationFailure as failure:
            error = _as_error(failure)
        dedicated, spot = self._final_targets(frame)
        if error is None:
            error = self._invalid_target(frame, dedicated, spot)
        results = _results_string(frame, dedicated, spot)
        if error is not None:
            dedicated, spot = ctx.target_dedicated_nodes, ctx.target_low_priority_nodes
        values = {
            name: value if kind == DOUBLE else to_python(kind, value) for name, (kind, value) in frame.user.items()
        }
        return AutoScaleRun(ctx.now_tick, results, dedicated, spot, frame.dealloc, values, error)

    @staticmethod
    def _final_targets(frame: Frame) -> tuple[float, float]:
        """The full name's value if assigned, else the alias's if assigned, else unchanged (§5.1)."""
        return _final(frame, _DEDICATED, "$TargetDedicated"), _final(frame, _SPOT, "$TargetLowPriority")

    def _invalid_target(self, frame: Frame, dedicated: float, spot: float) -> AutoScaleError | None:
        for full, alias, value in ((_DEDICATED, "$TargetDedicated", dedicated), (_SPOT, "$TargetLowPriority", spot)):
            if math.isnan(value) or math.isinf(value):
                source = full if full in frame.assigned else alias
                span = self._last_target_spans.get(source, self.formula.span)
                return _as_error(EvaluationFailure(f"Invalid target value: {format_double(value)}", span))
        return None


def _final(frame: Frame, full: str, alias: str) -> float:
    if full in frame.assigned:
        return frame.targets[full]
    if alias in frame.assigned:
        return frame.targets[alias]
    return frame.targets[full]


def _as_error(failure: EvaluationFailure) -> AutoScaleError:
    message = EVALUATION_MESSAGE if failure.code == EVALUATION_CODE else sampling.INSUFFICIENT_MESSAGE
    detail = f"Line {failure.span.line}, Col {failure.span.column}: {failure.detail}"
    return AutoScaleError(failure.code, message, detail)


def _results_string(frame: Frame, dedicated: float, spot: float) -> str:
    """§9.1: the three service entries, then user variables in ordinal order of their names."""
    parts = [
        f"{_DEDICATED}={format_double(dedicated)}",
        f"{_SPOT}={format_double(spot)}",
        f"{_DEALLOC_VAR}={frame.dealloc}",
    ]
    user = frame.user
    for name in sorted(user):
        kind, value = user[name]
        parts.append(f"{name}={format_double(value) if kind == DOUBLE else format_value(kind, value)}")
    return ";".join(parts)


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
    compiler = _Compiler(strict=strict, sampled_as_latest=sampled_as_latest)
    statements = [compiler.statement(s) for s in formula.statements]
    return Program(text, formula, compiler.diagnostics, statements, compiler.last_target_spans)


class _Compiler:
    def __init__(self, *, strict: bool, sampled_as_latest: bool) -> None:
        self.strict = strict
        self.sampled_as_latest = sampled_as_latest
        self.diagnostics: list[Diagnostic] = []
        self.env: dict[str, str] = {}  # user variable → static type of its latest assignment
        self.last_target_spans: dict[str, Span] = {}

    # -- errors ---------------------------------------------------------------------------
    def fail(self, detail: str, span: Span, *children: Compiled) -> Compiled:
        """An expression with a static error: its children run first, then the error is raised."""
        self.diagnostics.append(Diagnostic(EVALUATION_CODE, Severity.ERROR, detail, span))
        codes = [c.code for c in children]

        def run(frame: Frame) -> Any:
            for code in codes:
                code(frame)
            raise EvaluationFailure(detail, span)

        return Compiled(ERROR, run)

    # -- statements -----------------------------------------------------------------------
    def statement(self, node: ast.Statement) -> _Statement:
        if isinstance(node, ast.ExprStatement):
            compiled = self.expr(node.expr, allow_stop=True)
            return _Statement(compiled.code, None, node.span)
        return self.assignment(node)

    def assignment(self, node: ast.Assignment) -> _Statement:
        name = node.target
        if name == _DEALLOC_VAR:
            if not isinstance(node.value, ast.DeallocKeyword):
                value = self.expr(node.value) if not isinstance(node.value, ast.Name) else None
                children = [value] if value else []
                failed = self.fail("Invalid value for $NodeDeallocationOption", node.value.span, *children)
                return _Statement(failed.code, None, node.span)
            keyword = node.value.name

            def set_dealloc(frame: Frame) -> None:
                frame.dealloc = keyword

            return _Statement(set_dealloc, name, node.span)
        if name in READ_ONLY_SCALARS or name in SAMPLED:
            failed = self.fail(f"Cannot assign to read-only variable: {name}", node.target_span)
            return _Statement(failed.code, None, node.span)
        value = self.expr(node.value)
        code = value.code
        if value.kind == ERROR:
            return _Statement(code, None, node.span)
        if name in _TARGETS:
            if value.kind != DOUBLE:
                failed = self.fail(f"Type mismatch: {name} must be double, not {value.kind}", node.target_span, value)
                return _Statement(failed.code, None, node.span)
            self.last_target_spans[name] = node.target_span

            def set_target(frame: Frame) -> None:
                result = code(frame)
                frame.targets[name] = result
                frame.assigned.add(name)

            return _Statement(set_target, name, node.span)
        if value.kind in (SAMPLE, DEALLOC, NONE):
            failed = self.fail(f"Type mismatch: {value.kind} cannot be assigned to {name}", node.value.span, value)
            return _Statement(failed.code, None, node.span)
        kind = value.kind
        self.env[name] = kind

        def set_user(frame: Frame) -> None:
            frame.user[name] = (kind, code(frame))

        return _Statement(set_user, name, node.span)

    # -- expressions ----------------------------------------------------------------------
    def expr(self, node: ast.Expr, *, allow_stop: bool = False) -> Compiled:
        if isinstance(node, ast.Number):
            return constant(DOUBLE, node.value)
        if isinstance(node, ast.String):
            return constant(STRING, node.value)
        if isinstance(node, ast.TimeConstant):
            return constant(TIMEINTERVAL, TIME_CONSTANTS[node.name])
        if isinstance(node, ast.DeallocKeyword):
            return self.fail(f"Undefined symbol: {node.name}", node.span)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.Unary):
            return self.unary(node)
        if isinstance(node, ast.Binary):
            return self.binary(node)
        if isinstance(node, ast.Conditional):
            return self.conditional(node, allow_stop=allow_stop)
        if isinstance(node, ast.Call):
            compiled = builtins.compile_call(self, node)
            if compiled.kind == NONE and not allow_stop:
                return self.fail("Type mismatch: stop() has no value and must stand alone", node.span, compiled)
            return compiled
        if isinstance(node, ast.Field):
            return self.field_read(node)
        return sampling.compile_method(self, node)

    def name(self, node: ast.Name, *, as_sample: bool = False) -> Compiled:
        name = node.name
        if name in self.env:
            kind = self.env[name]
            return Compiled(kind, lambda frame: frame.user[name][1])
        if name in _TARGETS:
            return Compiled(DOUBLE, lambda frame: frame.targets[name])
        if name == _DEALLOC_VAR:
            return self.fail("Type mismatch: $NodeDeallocationOption cannot be read", node.span)
        if name in _SCALAR_READERS:
            reader = _SCALAR_READERS[name]
            return Compiled(DOUBLE, lambda frame: reader(frame.ctx))
        if name in SAMPLED:
            if as_sample:
                return Compiled(SAMPLE, lambda frame: name)
            if self.sampled_as_latest:
                return Compiled(DOUBLE, lambda frame: sampling.latest(frame, name))
            return self.fail(f"Type mismatch: {name} must be read with a sample method", node.span)
        return self.fail(f"Undefined symbol: {name}", node.span)

    def unary(self, node: ast.Unary) -> Compiled:
        operand = self.expr(node.operand)
        if operand.kind == ERROR:
            return operand
        code = operand.code
        if operand.kind == DOUBLE:
            if node.op == "-":
                return fold(Compiled(DOUBLE, lambda frame: -code(frame)), operand)
            return fold(Compiled(DOUBLE, lambda frame: 0.0 if code(frame) else 1.0), operand)
        if operand.kind == TIMEINTERVAL and node.op == "-":
            return fold(Compiled(TIMEINTERVAL, lambda frame: -code(frame)), operand)
        return self.fail(
            f"Type mismatch: operator {node.op} cannot be applied to {operand.kind}", node.op_span, operand
        )

    def binary(self, node: ast.Binary) -> Compiled:
        left = self.expr(node.left)
        if node.op in ("&&", "||"):
            right = self.expr(node.right)
            if ERROR in (left.kind, right.kind):
                return self.fail_quietly(left, right)
            if left.kind != DOUBLE or right.kind != DOUBLE:
                return self._mismatch(node, left, right)
            lc, rc = left.code, right.code
            if node.op == "&&":
                return Compiled(DOUBLE, lambda f: 1.0 if lc(f) and rc(f) else 0.0)
            return Compiled(DOUBLE, lambda f: 1.0 if lc(f) or rc(f) else 0.0)
        right = self.expr(node.right)
        if ERROR in (left.kind, right.kind):
            return self.fail_quietly(left, right)
        operation = builtins.binary_operation(node.op, left.kind, right.kind)
        if operation is None:
            return self._mismatch(node, left, right)
        kind, apply = operation
        lc, rc, span = left.code, right.code, node.op_span

        def run(frame: Frame) -> Any:
            a = lc(frame)
            b = rc(frame)
            try:
                return apply(a, b)
            except builtins.OperationError as exc:
                raise EvaluationFailure(str(exc), span) from None

        return fold(Compiled(kind, run), left, right)

    def _mismatch(self, node: ast.Binary, left: Compiled, right: Compiled) -> Compiled:
        detail = f"Type mismatch: operator {node.op} cannot be applied to {left.kind} and {right.kind}"
        return self.fail(detail, node.op_span, left, right)

    @staticmethod
    def fail_quietly(*children: Compiled) -> Compiled:
        """An expression whose child already reported an error: run children, which raise."""
        codes = [c.code for c in children]

        def run(frame: Frame) -> Any:
            for code in codes:
                code(frame)
            raise AssertionError("a child with a static error did not raise")  # pragma: no cover

        return Compiled(ERROR, run)

    def conditional(self, node: ast.Conditional, *, allow_stop: bool) -> Compiled:
        condition = self.expr(node.condition)
        then = self.expr(node.then, allow_stop=allow_stop)
        other = self.expr(node.otherwise, allow_stop=allow_stop)
        if condition.kind == ERROR:
            return condition
        if condition.kind != DOUBLE:
            detail = f"Type mismatch: condition must be double, not {condition.kind}"
            return self.fail(detail, node.question_span, condition)
        kinds = {then.kind, other.kind} - {ERROR}
        if allow_stop and NONE in kinds:
            kind = NONE
        elif len(kinds) > 1:
            detail = f"Type mismatch: conditional branches are {then.kind} and {other.kind}"
            fail = self.fail(detail, node.question_span)
            then = other = fail
            kind = ERROR
        else:
            kind = kinds.pop() if kinds else ERROR
        cc, tc, oc = condition.code, then.code, other.code
        return Compiled(kind, lambda frame: tc(frame) if cc(frame) else oc(frame))

    def field_read(self, node: ast.Field) -> Compiled:
        target = self.expr(node.target)
        if target.kind == ERROR:
            return target
        if node.name not in TIMESTAMP_FIELDS:
            return self.fail(f"Unknown field: {node.name}", node.name_span, target)
        if target.kind != TIMESTAMP:
            return self.fail(
                f"Type mismatch: field {node.name} needs a timestamp, not {target.kind}", node.name_span, target
            )
        reader = builtins.timestamp_field(node.name)
        code = target.code
        return Compiled(DOUBLE, lambda frame: reader(code(frame)))

    # -- helpers for builtins and sampling ------------------------------------------------
    def function_known(self, name: str) -> bool:
        return name in FUNCTIONS and not (self.strict and name in STRICT_OFF_FUNCTIONS)

    def method_known(self, name: str) -> bool:
        return name in SAMPLE_METHODS
