"""AST → typed code: the compiler's single pass over a formula, without recursion.

Every expression has a static type (formula reference §6.2), so symbols, overloads and type
errors are resolved here, once, and each expression becomes a `Value`: its type and a Python
expression computing it. Following the service, a static error is still *reported at
evaluation* (§6.2, §8.3): the offending expression becomes a call that raises it once the
operands before it have run, so the first error met in execution order stops the run, with the
values assigned before it (§9.3). `diagnostics` lists the same errors for the checker.

Depth without recursion. A formula of 8,192 characters can nest thousands of levels (4,000 unary
minuses, a chain of 4,000 additions, 2,000 nested conditionals), far beyond Python's recursion
limit and beyond what Python's own compiler accepts in one expression. So:

- the tree is walked with an explicit stack, in post-order (operands before the operation);
- a Python expression is never nested deeper than `MAX_DEPTH`: a deeper one is *spilled* into a
  temporary (`_t12 = ...`) that runs first, as a statement. To keep operands evaluating left to
  right, once an operand needs statements every operand before it is spilled too;
- laziness (`?:`, `&&`, `||`, §3.4) stays exact: a lazy operand that needs statements goes into a
  `Block`, statements guarded by a condition. Blocks nest in the tree of items, but `codegen.py`
  writes them out flat (`_g3 = _g1 and (_t7)`; `if _g3: ...`), so the generated function never
  nests more than one `if` deep either.

Ordinary formulas never spill: their code is one Python expression per statement.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from batchsim.formula import ast, functions, operators, sampling
from batchsim.formula.diagnostics import Diagnostic, Severity, Span
from batchsim.formula.operation import Operation, OperationError, Problem
from batchsim.formula.runtime import ERROR, EVALUATION_CODE, EvaluationFailure, fail
from batchsim.formula.symbols import READ_ONLY_SCALARS, SAMPLED, TARGET_ALIASES, TIME_CONSTANTS, TIMESTAMP_FIELDS
from batchsim.formula.values import DEALLOC, DOUBLE, NONE, SAMPLE, STRING, TIMEINTERVAL, TIMESTAMP

__all__ = ["DEALLOC_VARIABLE", "MAX_DEPTH", "TARGETS", "Assigned", "Block", "Item", "Lowered", "lower"]

MAX_DEPTH = 24  # nesting of one generated Python expression; far below CPython's parser limits
DEALLOC_VARIABLE = "$NodeDeallocationOption"
TARGETS = ("$TargetDedicatedNodes", "$TargetLowPriorityNodes", *TARGET_ALIASES)
# What a target reads before the formula assigns it: the pool's current target (§5.1).
_INITIAL_TARGETS = {
    "$TargetDedicatedNodes": "ctx.target_dedicated_nodes",
    "$TargetDedicated": "ctx.target_dedicated_nodes",
    "$TargetLowPriorityNodes": "ctx.target_low_priority_nodes",
    "$TargetLowPriority": "ctx.target_low_priority_nodes",
}
_SCALARS = {
    "$CurrentDedicatedNodes": "ctx.current_dedicated_nodes",
    "$CurrentDedicated": "ctx.current_dedicated_nodes",
    "$CurrentLowPriorityNodes": "ctx.current_low_priority_nodes",
    "$TaskSlotsPerNode": "ctx.task_slots_per_node",
}
_FOLDABLE = (DOUBLE, STRING, TIMEINTERVAL, TIMESTAMP)  # never a vector: a folded list would be shared


def _usable_nodes(ctx: Any) -> float:
    """`$UsableNodeCount`: the context's count, or the current nodes less the preempted ones."""
    if ctx.usable_node_count is not None:
        return ctx.usable_node_count  # type: ignore[no-any-return]
    return ctx.current_dedicated_nodes + ctx.current_low_priority_nodes - ctx.preempted_node_count  # type: ignore[no-any-return]


@dataclass(slots=True)
class Block:
    """Items that run only when `condition` (a Python expression over earlier temporaries) is true."""

    condition: str
    items: list[Item]


Item: TypeAlias = "str | Block"


@dataclass(slots=True)
class Value:
    """A lowered expression.

    code: a Python expression (nested at most `MAX_DEPTH` deep) computing the value, valid once
        `items` have run. simple: `code` is a literal, a local or a context field: reading it
        cannot fail, has no effect and gives the same value later. const/value: the value is known
        at compile time.
    """

    kind: str
    code: str
    depth: int = 1
    items: list[Item] = field(default_factory=list)
    simple: bool = False
    const: bool = False
    value: Any = None
    truth: str | None = None  # for a 1-or-0 value: an expression with its truth, cheaper to test

    @property
    def test(self) -> str:
        """The code to use where only the value's truth matters (§3.4: nonzero is true)."""
        return self.code if self.truth is None else self.truth


@dataclass(frozen=True, slots=True)
class Assigned:
    """What a statement assigns when it completes: a variable (its static type and the slot
    holding its value) or the deallocation keyword; `span` is the assigned name."""

    name: str
    kind: str
    slot: int | None
    keyword: str | None
    span: Span
    constant: tuple[object] | tuple[()] = ()  # (value,) when the value is a compile-time constant


@dataclass(slots=True)
class Lowered:
    """A lowered formula: per statement, the items computing it and what it assigns."""

    diagnostics: list[Diagnostic]
    statements: list[list[Item]]
    assigned: list[Assigned | None]
    namespace: dict[str, Any]
    slots: int


def lower(formula: ast.Formula, *, strict: bool = False, sampled_as_latest: bool = False) -> Lowered:
    """Lower every statement of a parsed formula, in order (§3.4: statements run in order)."""
    lowering = _Lowering(strict=strict, sampled_as_latest=sampled_as_latest)
    statements: list[list[Item]] = []
    assigned: list[Assigned | None] = []
    for node in formula.statements:
        items, what = lowering.statement(node)
        statements.append(items)
        assigned.append(what)
    return Lowered(lowering.diagnostics, statements, assigned, lowering.namespace, lowering.slots)


# Traversal modes of an expression node: what its place allows.
_VALUE, _STOP_ALLOWED, _SAMPLE_TARGET = 0, 1, 2


class _Lowering:
    def __init__(self, *, strict: bool, sampled_as_latest: bool) -> None:
        self.strict = strict
        self.sampled_as_latest = sampled_as_latest
        self.diagnostics: list[Diagnostic] = []
        self.namespace: dict[str, Any] = {"_rt_fail": fail}
        self.env: dict[str, tuple[str, str]] = {}  # user variable → (static type, local) of its latest assignment
        self.targets: dict[str, str] = {}  # target → local of its latest assignment
        self.slots = 0
        self._temporaries = 0
        self._names: dict[Any, str] = {}

    # -- names in the generated code ------------------------------------------------------------
    def temporary(self) -> str:
        self._temporaries += 1
        return f"_t{self._temporaries}"

    def _global(self, value: Any, prefix: str) -> str:
        key = (prefix, value) if prefix == "_s" else (prefix, id(value))
        name = self._names.get(key)
        if name is None:
            name = f"{prefix}{len(self._names)}"
            self._names[key] = name
            self.namespace[name] = value
        return name

    def span(self, span: Span) -> str:
        return self._global(span, "_s")

    def literal(self, value: Any) -> str:
        if type(value) in (float, int) and math.isfinite(value):
            text = repr(value)
            return f"({text})" if text.startswith("-") else text
        if type(value) is str:
            return repr(value)
        return self._global(value, "_k")

    def constant(self, kind: str, value: Any) -> Value:
        return Value(kind, self.literal(value), simple=True, const=True, value=value)

    # -- combining operands ---------------------------------------------------------------------
    def sequence(self, operands: Sequence[Value]) -> tuple[list[Item], list[str], int]:
        """Items and codes such that the operands evaluate left to right, each once."""
        items: list[Item] = []
        codes: list[str] = []
        simple: list[bool] = []
        depth = 0
        for operand in operands:
            if operand.items:
                for j, is_simple in enumerate(simple):  # everything before must run first
                    if not is_simple:
                        temporary = self.temporary()
                        items.append(f"{temporary} = {codes[j]}")
                        codes[j], simple[j] = temporary, True
                if items:
                    items.extend(operand.items)
                else:
                    items = operand.items
            codes.append(operand.code)
            simple.append(operand.simple)
            depth = max(depth, operand.depth)
        return items, codes, depth

    def bounded(self, value: Value) -> Value:
        """`value`, spilled into a temporary when its code is nested too deep."""
        if value.depth < MAX_DEPTH:
            return value
        temporary = self.temporary()
        value.items.append(f"{temporary} = {value.code}")
        return Value(value.kind, temporary, 1, value.items, simple=True)

    def apply(self, operation: Operation, operands: Sequence[Value], span: Span) -> Value:
        """An operation on its operands: folded when they are constants and it cannot fail."""
        if operation.apply is not None and operands and operation.kind in _FOLDABLE and all(v.const for v in operands):
            try:
                value = operation.apply(*(v.value for v in operands), span)
            except (EvaluationFailure, OperationError):
                pass  # the failure must still happen at evaluation, at its position
            else:
                return self.constant(operation.kind, value)
        for name, helper in operation.helpers.items():
            self.namespace.setdefault(name, helper)
        items, codes, depth = self.sequence(operands)
        span_name = self.span(span) if "{span}" in operation.template else ""
        code = operation.template.format(*codes, span=span_name)
        truth = None if operation.truth is None else operation.truth.format(*codes, span=span_name)
        return self.bounded(Value(operation.kind, code, depth + 1, items, truth=truth))

    def fail(self, detail: str, span: Span, operands: Sequence[Value] = ()) -> Value:
        """A static error: reported now, raised at evaluation once `operands` have run."""
        self.diagnostics.append(Diagnostic(EVALUATION_CODE, Severity.ERROR, detail, span))
        items, codes, depth = self.sequence(operands)
        code = f"_rt_fail({', '.join([repr(detail), self.span(span), *codes])})"
        return self.bounded(Value(ERROR, code, depth + 1, items))

    def quiet(self, operands: Sequence[Value]) -> Value:
        """An expression with an operand that already reported an error: run the operands up to
        that one, which raises."""
        first_error = next(k for k, v in enumerate(operands) if v.kind == ERROR)
        if first_error == 0:
            return operands[0]
        items, codes, depth = self.sequence(operands[: first_error + 1])
        return self.bounded(Value(ERROR, f"({', '.join(codes)})", depth + 1, items))

    def choose(self, kind: str, condition: Value, then: Value, otherwise: Value) -> Value:
        """`then` if `condition` else `otherwise`, evaluating only the branch chosen (§3.4)."""
        items, _, depth = self.sequence([condition])
        test = condition.test
        if not then.items and not otherwise.items:
            code = f"({then.code} if {test} else {otherwise.code})"
            return self.bounded(Value(kind, code, max(depth, then.depth, otherwise.depth) + 1, items))
        if not condition.simple:
            temporary = self.temporary()
            items.append(f"{temporary} = {test}")
            test = temporary
        result = self.temporary()
        items.append(Block(test, [*then.items, f"{result} = {then.code}"]))
        items.append(Block(f"not {test}", [*otherwise.items, f"{result} = {otherwise.code}"]))
        return Value(kind, result, 1, items, simple=True)

    def logical(self, op: str, left: Value, right: Value) -> Value:
        """`&&` and `||` on doubles: 1 or 0, the right operand evaluated only when it decides (§3.4)."""
        if left.const and right.const:
            truth = (left.value and right.value) if op == "&&" else (left.value or right.value)
            return self.constant(DOUBLE, 1.0 if truth else 0.0)
        python = "and" if op == "&&" else "or"
        if not right.items:
            truth = f"({left.test} {python} {right.test})"
            depth = max(left.depth, right.depth) + 1
            return self.bounded(Value(DOUBLE, f"(1.0 if {truth} else 0.0)", depth, left.items, truth=truth))
        items = left.items
        first = left.test
        if not left.simple:
            temporary = self.temporary()
            items.append(f"{temporary} = {first}")
            first = temporary
        second = self.temporary()
        items.append(Block(first if op == "&&" else f"not {first}", [*right.items, f"{second} = {right.test}"]))
        truth = f"({first} {python} {second})"
        return Value(DOUBLE, f"(1.0 if {truth} else 0.0)", 2, items, truth=truth)

    # -- statements -----------------------------------------------------------------------------
    def statement(self, node: ast.Statement) -> tuple[list[Item], Assigned | None]:
        if isinstance(node, ast.ExprStatement):
            return _run(self.expression(node.expr, _STOP_ALLOWED)), None
        return self.assignment(node)

    def _slot(self) -> str:
        self.slots += 1
        return f"v{self.slots - 1}"

    def assignment(self, node: ast.Assignment) -> tuple[list[Item], Assigned | None]:
        name = node.target
        if name == DEALLOC_VARIABLE:
            if isinstance(node.value, ast.DeallocKeyword):
                return [], Assigned(name, DEALLOC, None, node.value.name, node.target_span)
            operands = [] if isinstance(node.value, ast.Name) else [self.expression(node.value, _VALUE)]
            return _run(self.fail(f"Invalid value for {DEALLOC_VARIABLE}", node.value.span, operands)), None
        if name in READ_ONLY_SCALARS or name in SAMPLED:
            return _run(self.fail(f"Cannot assign to read-only variable: {name}", node.target_span)), None
        value = self.expression(node.value, _VALUE)
        if value.kind == ERROR:
            return _run(self.defined_by_error(name, value)), None
        if name in TARGETS:
            if value.kind != DOUBLE:
                detail = f"Type mismatch: {name} must be double, not {value.kind}"
                return _run(self.defined_by_error(name, self.fail(detail, node.target_span, [value]))), None
            local = self._slot()
            self.targets[name] = local
        elif value.kind in (SAMPLE, DEALLOC, NONE):
            detail = f"Type mismatch: {value.kind} cannot be assigned to {name}"
            return _run(self.defined_by_error(name, self.fail(detail, node.value.span, [value]))), None
        else:
            local = self._slot()
            self.env[name] = (value.kind, local)
        constant = (value.value,) if value.const else ()
        assigned = Assigned(name, value.kind, self.slots - 1, None, node.target_span, constant)
        return [*value.items, f"{local} = {value.code}"], assigned

    def defined_by_error(self, name: str, value: Value) -> Value:
        """`value` (an error the statement raises), with `name` still defined for later statements.

        The statement always fails, so no later statement runs (§8.4) and the variable is never
        read; but the checker reports every static error, and a later read reported as
        "Undefined symbol" would be noise, not a second problem. The variable becomes an error
        value that reports nothing more (and, if it were ever run, raises).
        """
        if name not in TARGETS:
            self.env[name] = (ERROR, "")
        return value

    # -- expressions ----------------------------------------------------------------------------
    def expression(self, root: ast.Expr, mode: int) -> Value:
        """Lower an expression tree in post-order with an explicit stack."""
        out: list[Value] = []
        # (node, mode, operand count once its operands are pushed, or -1)
        stack: list[tuple[ast.Expr, int, int]] = [(root, mode, -1)]
        while stack:
            node, node_mode, count = stack.pop()
            if count < 0:
                operands = _operands(node, node_mode)
                if operands is None:
                    out.append(self.leaf(node, node_mode))
                    continue
                stack.append((node, node_mode, len(operands)))
                stack.extend((child, child_mode, -1) for child, child_mode in reversed(operands))
                continue
            values = out[len(out) - count :]
            del out[len(out) - count :]
            out.append(self.combine(node, node_mode, values))
        return out[0]

    def leaf(self, node: ast.Expr, mode: int) -> Value:
        if isinstance(node, ast.Number):
            return self.constant(DOUBLE, node.value)
        if isinstance(node, ast.String):
            return self.constant(STRING, node.value)
        if isinstance(node, ast.TimeConstant):
            return self.constant(TIMEINTERVAL, TIME_CONSTANTS[node.name])
        if isinstance(node, ast.DeallocKeyword):
            return self.fail(f"Undefined symbol: {node.name}", node.span)
        assert isinstance(node, ast.Name)
        return self.name(node, as_sample=mode == _SAMPLE_TARGET)

    def name(self, node: ast.Name, *, as_sample: bool) -> Value:
        name = node.name
        if name in self.env:
            kind, local = self.env[name]
            if kind == ERROR:  # assigned by a statement that fails (`defined_by_error`): nothing new to report
                return Value(ERROR, f"_rt_fail({f'Undefined symbol: {name}'!r}, {self.span(node.span)})")
            return Value(kind, local, simple=True)
        if name in TARGETS:
            return Value(DOUBLE, self.targets.get(name, _INITIAL_TARGETS[name]), simple=True)
        if name == DEALLOC_VARIABLE:
            return self.fail(f"Type mismatch: {DEALLOC_VARIABLE} cannot be read", node.span)
        if name in _SCALARS:
            return Value(DOUBLE, _SCALARS[name], simple=True)
        if name == "$UsableNodeCount":
            self.namespace["_usable_nodes"] = _usable_nodes
            return Value(DOUBLE, "_usable_nodes(ctx)", 2)
        if name in SAMPLED:
            if as_sample:
                return Value(SAMPLE, repr(name), simple=True)
            if self.sampled_as_latest:
                self.namespace["_sm_latest"] = sampling.latest
                return Value(DOUBLE, f"_sm_latest(ctx, {name!r})", 2)
            return self.fail(f"Type mismatch: {name} must be read with a sample method", node.span)
        return self.fail(f"Undefined symbol: {name}", node.span)

    def combine(self, node: ast.Expr, mode: int, operands: list[Value]) -> Value:
        if isinstance(node, ast.Unary):
            return self.unary(node, operands[0])
        if isinstance(node, ast.Binary):
            return self.binary(node, operands[0], operands[1])
        if isinstance(node, ast.Conditional):
            return self.conditional(node, mode, *operands)
        if isinstance(node, ast.Call):
            return self.call(node, mode, operands)
        if isinstance(node, ast.Field):
            return self.field(node, operands[0])
        assert isinstance(node, ast.MethodCall)
        return self.method(node, operands)

    def unary(self, node: ast.Unary, operand: Value) -> Value:
        if operand.kind == ERROR:
            return operand
        operation = operators.unary(node.op, operand.kind)
        if operation is None:
            detail = f"Type mismatch: operator {node.op} cannot be applied to {operand.kind}"
            return self.fail(detail, node.op_span, [operand])
        if node.op == "!" and not operand.const:  # `!` only tests its operand: use its truth
            code, truth = f"(0.0 if {operand.test} else 1.0)", f"(not {operand.test})"
            return self.bounded(Value(DOUBLE, code, operand.depth + 1, operand.items, truth=truth))
        return self.apply(operation, [operand], node.op_span)

    def binary(self, node: ast.Binary, left: Value, right: Value) -> Value:
        if ERROR in (left.kind, right.kind):
            return self.quiet([left, right])
        if node.op in ("&&", "||"):
            if left.kind == DOUBLE and right.kind == DOUBLE:
                return self.logical(node.op, left, right)
            operation = None
        else:
            operation = operators.binary(node.op, left.kind, right.kind)
        if operation is None:
            detail = f"Type mismatch: operator {node.op} cannot be applied to {left.kind} and {right.kind}"
            return self.fail(detail, node.op_span, [left, right])
        return self.apply(operation, [left, right], node.op_span)

    def conditional(self, node: ast.Conditional, mode: int, condition: Value, then: Value, other: Value) -> Value:
        if condition.kind == ERROR:
            return condition
        if condition.kind != DOUBLE:
            detail = f"Type mismatch: condition must be double, not {condition.kind}"
            return self.fail(detail, node.question_span, [condition])
        kinds = {then.kind, other.kind} - {ERROR}
        if mode == _STOP_ALLOWED and NONE in kinds:
            kind = NONE
        elif len(kinds) > 1:
            detail = f"Type mismatch: conditional branches are {then.kind} and {other.kind}"
            return self.fail(detail, node.question_span, [condition])
        else:
            kind = kinds.pop() if kinds else ERROR
        return self.choose(kind, condition, then, other)

    def _at(self, problem: Problem, node: ast.Call | ast.MethodCall) -> Span:
        if problem.at == "name":
            return node.name_span
        if problem.at == "lparen":
            return node.lparen_span
        assert isinstance(problem.at, int)
        return node.args[problem.at - 1].span

    def call(self, node: ast.Call, mode: int, args: list[Value]) -> Value:
        if not functions.known(node.name, strict=self.strict):
            return self.fail(f"Unknown function: {node.name}", node.name_span, args)
        if any(a.kind == ERROR for a in args):
            return self.quiet(args)
        resolved = functions.call(node.name, [a.kind for a in args], strict=self.strict)
        if isinstance(resolved, Problem):
            return self.fail(resolved.detail, self._at(resolved, node), args)
        if resolved.kind == NONE and mode != _STOP_ALLOWED:
            # stop() used as a value: an error, and stop() itself never runs (§6.3: it must stand alone).
            return self.fail("Type mismatch: stop() has no value and must stand alone", node.span)
        return self.apply(resolved, args, node.lparen_span)

    def field(self, node: ast.Field, target: Value) -> Value:
        if target.kind == ERROR:
            return target
        if node.name not in TIMESTAMP_FIELDS:
            return self.fail(f"Unknown field: {node.name}", node.name_span, [target])
        if target.kind != TIMESTAMP:
            detail = f"Type mismatch: field {node.name} needs a timestamp, not {target.kind}"
            return self.fail(detail, node.name_span, [target])
        return self.apply(functions.timestamp_field(node.name), [target], node.name_span)

    def method(self, node: ast.MethodCall, operands: list[Value]) -> Value:
        target, args = operands[0], operands[1:]
        if not sampling.known(node.name):
            return self.fail(f"Unknown method: {node.name}", node.name_span, operands)
        if any(v.kind == ERROR for v in operands):
            return self.quiet(operands)
        if target.kind != SAMPLE:
            detail = f"Type mismatch: method {node.name} needs a sampled variable, not {target.kind}"
            return self.fail(detail, node.name_span, operands)
        assert isinstance(node.target, ast.Name)
        resolved = sampling.method(node.name, node.target.name, [a.kind for a in args])
        if isinstance(resolved, Problem):
            return self.fail(resolved.detail, self._at(resolved, node), args)
        return self.apply(resolved, args, node.lparen_span)


def _operands(node: ast.Expr, mode: int) -> list[tuple[ast.Expr, int]] | None:
    """The operands of `node` in evaluation order, each with its mode; None for a leaf."""
    if isinstance(node, ast.Unary):
        return [(node.operand, _VALUE)]
    if isinstance(node, ast.Binary):
        return [(node.left, _VALUE), (node.right, _VALUE)]
    if isinstance(node, ast.Conditional):
        branch = _STOP_ALLOWED if mode == _STOP_ALLOWED else _VALUE
        return [(node.condition, _VALUE), (node.then, branch), (node.otherwise, branch)]
    if isinstance(node, ast.Call):
        return [(arg, _VALUE) for arg in node.args]
    if isinstance(node, ast.Field):
        return [(node.target, _VALUE)]
    if isinstance(node, ast.MethodCall):
        target_mode = _SAMPLE_TARGET if isinstance(node.target, ast.Name) else _VALUE
        return [(node.target, target_mode), *((arg, _VALUE) for arg in node.args)]
    return None


def _run(value: Value) -> list[Item]:
    """The items of a statement that evaluates `value` and discards it."""
    return [*value.items, value.code]
